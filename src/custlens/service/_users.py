"""Accounts: users (admin only), one's own API tokens, browser sessions.

Users are managed with ``users:manage`` (the ``admin`` role). Every user lists and revokes
their own tokens; ``users:manage`` lists and revokes anyone's. The last enabled admin
cannot be disabled or given another role (the workspace would have nobody to manage it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custlens.errors import ConflictError
from custlens.service._queries import Page, list_page, plain

if TYPE_CHECKING:
    from custlens.access import Session, User
    from custlens.service._service import Service

__all__ = [
    "list_users",
    "create_user",
    "update_user",
    "reset_password",
    "list_tokens",
    "revoke_token",
    "start_session",
    "end_session",
]


def _manage(user: User) -> None:
    from custlens.access import check

    check(user.role, "users:manage")


def list_users(service: Service, user: User, *, page: int = 1, page_size: int = 50) -> Page:
    """Every user: ``username, role, created_at, disabled, locked_until`` (permission ``users:manage``)."""
    _manage(user)
    return list_page(service.access.list_users(), page=page, page_size=page_size)


def create_user(service: Service, user: User, *, username: str, password: str, role: str) -> dict[str, Any]:
    """Add a user (permission ``users:manage``); returns ``{username, role}``.

    Raises
    ------
    InputError
        A user name or password breaking its rule, or an unknown role.
    ConflictError
        When the name is taken.
    """
    _manage(user)
    added = service.access.add_user(username, password, role)
    service.record(
        "user.change", actor=f"api:{user.username}", details={"user": username, "change": "added", "role": role}
    )
    return {"username": added.username, "role": added.role}


def _user_row(service: Service, username: str) -> dict[str, Any]:
    service.access.get_user(username)  # NotFoundError for an unknown name
    return next(u for u in service.access.list_users() if u["username"] == username)


def _check_last_admin(service: Service, username: str) -> None:
    admins = [u for u in service.access.list_users() if u["role"] == "admin" and not u["disabled"]]
    if [u["username"] for u in admins] == [username]:
        raise ConflictError(f"{username!r} is the last enabled admin; make another admin first")


def update_user(
    service: Service, user: User, username: str, *, role: str | None = None, disabled: bool | None = None
) -> dict[str, Any]:
    """Change a user's role and/or disable (or enable) them (permission ``users:manage``).

    Disabling ends the user's sessions and revokes their tokens. Returns the user's row.

    Raises
    ------
    NotFoundError
        For an unknown user.
    ConflictError
        When the change would leave no enabled admin.
    """
    from custlens.access import check_role

    _manage(user)
    row = _user_row(service, username)
    if role is not None:
        check_role(role)
    if row["role"] == "admin" and not row["disabled"] and ((role not in (None, "admin")) or disabled):
        _check_last_admin(service, username)
    actor = f"api:{user.username}"
    if role is not None and role != row["role"]:
        service.access.set_role(username, role)
        service.record("role.change", actor=actor, details={"user": username, "from": row["role"], "to": role})
    if disabled is not None and bool(disabled) != bool(row["disabled"]):
        service.access.set_disabled(username, bool(disabled))
        change = "disabled" if disabled else "enabled"
        service.record("user.change", actor=actor, details={"user": username, "change": change})
    return plain(_user_row(service, username))


def reset_password(service: Service, user: User, username: str, password: str) -> dict[str, Any]:
    """Set a user's password (permission ``users:manage``): unlocks the account and ends its sessions."""
    _manage(user)
    service.access.set_password(username, password)
    service.record("user.change", actor=f"api:{user.username}", details={"user": username, "change": "password"})
    return plain(_user_row(service, username))


def list_tokens(service: Service, user: User, *, page: int = 1, page_size: int = 50) -> Page:
    """API tokens without their secret: the user's own, or everyone's for ``users:manage``.

    Items: ``token_id, username, name, created_at, expires_at, revoked_at, last_used_at``.
    """
    from custlens.access import can

    owner = None if can(user.role, "users:manage") else user.username
    return list_page(service.access.list_tokens(owner), page=page, page_size=page_size)


def revoke_token(service: Service, user: User, token_id: str) -> dict[str, Any]:
    """Revoke an API token by its listed id: one's own, or anyone's for ``users:manage``.

    Raises
    ------
    NotFoundError
        When there is no such token (of this user).
    """
    from custlens.access import can

    owner = None if can(user.role, "users:manage") else user.username
    service.access.revoke_token_id(token_id, username=owner)
    service.record("user.change", actor=f"api:{user.username}", details={"change": "token revoked", "token": token_id})
    return {"token_id": token_id, "revoked": True}


def login(service: Service, username: str, password: str, client: str, *, via: str = "api") -> User:
    """Check a password (rate-limited, with lock-out) and record the sign-in or its failure.

    Raises
    ------
    AuthenticationError, RateLimitedError
        As :meth:`custlens.access.AccessStore.login`; the failure is in the audit log.
    """
    from custlens.errors import AuthenticationError, RateLimitedError

    try:
        user = service.access.login(username, password, client)
    except (AuthenticationError, RateLimitedError) as exc:
        service.record("login.failed", actor=f"{via}:{username}", details={"client": client, "reason": str(exc)})
        raise
    service.record("login", actor=f"{via}:{username}", details={"client": client})
    return user


def issue_login_token(service: Service, username: str, password: str, client: str) -> str:
    """A bearer token for a user name and password (``POST /api/v1/token``); shown once."""
    user = login(service, username, password, client, via="api")
    return service.access.issue_token(user.username, name="api login")


def start_session(service: Service, username: str, password: str, client: str) -> tuple[str, Session]:
    """Sign in for the pages: check the password (rate-limited, with lock-out) and open a session.

    Returns the session id (for the cookie; shown once) and the session with its CSRF token.
    """
    user = login(service, username, password, client, via="page")
    return service.access.create_session(user)


def end_session(service: Service, session_id: str) -> None:
    """Sign out: end the session of ``session_id`` (recorded in the audit log)."""
    from custlens.errors import AuthenticationError

    try:
        who = service.access.get_session(session_id).user.username
    except AuthenticationError:
        who = None
    service.access.end_session(session_id)
    if who is not None:
        service.record("logout", actor=f"page:{who}")
