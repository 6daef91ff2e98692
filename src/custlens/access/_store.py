"""Users, passwords, API tokens, sessions and login limits, kept in the workspace.

Four tables in the workspace's DuckDB file, created on first use (times are UTC):

* ``access_users``: ``username, role, password_hash`` (Argon2id, RFC 9106 parameters of
  ``argon2-cffi``), ``created_at, disabled, failed_logins, locked_until``;
* ``access_tokens``: API tokens, stored as SHA-256 of the token (the token itself is shown
  once): ``token_hash, username, name, created_at, expires_at, revoked_at, last_used_at``;
* ``access_sessions``: browser sessions, likewise hashed, with their CSRF token;
* ``access_login_attempts``: ``username, client, attempted_at, ok`` for rate limiting.

Tokens and session ids are 32 random bytes (``secrets.token_urlsafe``); a leaked database
gives no usable credential. Login attempts are limited per user and per client
(:class:`LoginPolicy`): too many failures in the window answer 429, and an account with
too many consecutive failures is locked for a while.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from custlens.access._roles import check_role
from custlens.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    RateLimitedError,
)

__all__ = ["User", "Session", "LoginPolicy", "AccessStore", "USERNAME_RULE", "MIN_PASSWORD_LENGTH"]

MIN_PASSWORD_LENGTH = 10
USERNAME_RULE = "1 to 64 letters, digits, '.', '_', '-' or '@'"

_LAST_USED_EVERY = 60.0
"""Seconds between two writes of a token's ``last_used_at``."""
_TOKEN_CACHE_SIZE = 10_000
"""Valid tokens remembered in memory at most (the memory is emptied when full)."""

_DDL = (
    """CREATE TABLE IF NOT EXISTS access_users (
        username VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, password_hash VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL, disabled BOOLEAN NOT NULL DEFAULT false,
        failed_logins INTEGER NOT NULL DEFAULT 0, locked_until TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS access_tokens (
        token_hash VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, name VARCHAR,
        created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP, revoked_at TIMESTAMP,
        last_used_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS access_sessions (
        session_hash VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, csrf_token VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS access_login_attempts (
        username VARCHAR NOT NULL, client VARCHAR NOT NULL, attempted_at TIMESTAMP NOT NULL, ok BOOLEAN NOT NULL)""",
)


@dataclass(frozen=True)
class User:
    """An authenticated user: name and role."""

    username: str
    role: str


@dataclass(frozen=True)
class Session:
    """A browser session: its user and the CSRF token every form must carry."""

    user: User
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class LoginPolicy:
    """Limits on password logins.

    Attributes
    ----------
    window_seconds
        The window over which failures are counted.
    max_failures_per_user, max_failures_per_client
        Failures in the window after which further attempts answer 429 (rate limited).
    lockout_after
        Consecutive failures after which the account is locked ...
    lockout_seconds
        ... for this long (a correct password does not open it early).
    session_hours, token_days
        Lifetime of a browser session and default lifetime of an API token.
    """

    window_seconds: int = 300
    max_failures_per_user: int = 5
    max_failures_per_client: int = 20
    lockout_after: int = 10
    lockout_seconds: int = 900
    session_hours: int = 12
    token_days: int = 90


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> datetime:
    """Now in UTC, without a zone: the tables hold UTC times as plain TIMESTAMPs."""
    return datetime.now(UTC).replace(tzinfo=None)


def _check_username(username: str) -> str:
    import re

    if not isinstance(username, str) or not re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", username):
        raise InputError(f"user name {username!r} is not allowed; expected {USERNAME_RULE}")
    return username


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise InputError("the password must have at most 1024 characters")
    return password


class AccessStore:
    """Users, tokens and sessions on a DuckDB connection (the workspace's).

    Methods are safe to call from several threads: each statement runs on its own cursor
    of the connection, under one lock for the writes.
    """

    def __init__(self, raw: Any, policy: LoginPolicy | None = None) -> None:
        from argon2 import PasswordHasher

        self._raw = raw
        self._lock = threading.Lock()
        self.policy = policy or LoginPolicy()
        self._hasher = PasswordHasher()  # Argon2id with RFC 9106's low-memory parameters
        self._token_cache: dict[str, tuple[User, datetime | None, datetime]] = {}
        with self._lock:
            for statement in _DDL:
                raw.execute(statement)

    # -- plumbing --------------------------------------------------------------------------
    def _rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self._raw.cursor()
        try:
            return list(cur.execute(sql, params or []).fetchall())
        finally:
            cur.close()

    def _write(self, sql: str, params: list[Any] | None = None) -> None:
        with self._lock:
            cur = self._raw.cursor()
            try:
                cur.execute(sql, params or [])
            finally:
                cur.close()

    # -- users -------------------------------------------------------------------------------
    def add_user(self, username: str, password: str, role: str) -> User:
        """Create a user; the password is stored as an Argon2id hash.

        Raises
        ------
        InputError
            For a user name or password that breaks its rule, or an unknown role.
        ConflictError
            When the name is taken.
        """
        _check_username(username)
        _check_password(password)
        check_role(role)
        if self._rows("SELECT 1 FROM access_users WHERE username = ?", [username]):
            raise ConflictError(f"a user {username!r} already exists")
        self._write(
            "INSERT INTO access_users (username, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
            [username, role, self._hasher.hash(password), _now()],
        )
        return User(username, role)

    def get_user(self, username: str) -> User:
        """The user called ``username``.

        Raises
        ------
        NotFoundError
            When there is no such user.
        """
        rows = self._rows("SELECT username, role FROM access_users WHERE username = ?", [username])
        if not rows:
            raise NotFoundError(f"no user {username!r}")
        return User(rows[0][0], rows[0][1])

    def list_users(self) -> list[dict[str, Any]]:
        """Every user: name, role, created, disabled, locked until."""
        rows = self._rows(
            "SELECT username, role, created_at, disabled, locked_until FROM access_users ORDER BY username"
        )
        keys = ("username", "role", "created_at", "disabled", "locked_until")
        return [dict(zip(keys, row)) for row in rows]

    def set_role(self, username: str, role: str) -> User:
        """Change a user's role."""
        self.get_user(username)
        check_role(role)
        self._write("UPDATE access_users SET role = ? WHERE username = ?", [role, username])
        self._forget_tokens()
        return User(username, role)

    def set_password(self, username: str, password: str) -> None:
        """Replace a user's password, unlock the account and end its sessions."""
        self.get_user(username)
        _check_password(password)
        self._write(
            "UPDATE access_users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE username = ?",
            [self._hasher.hash(password), username],
        )
        self._write("DELETE FROM access_sessions WHERE username = ?", [username])
        self._forget_tokens()

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (or enable) a user; disabling ends its sessions and revokes its tokens."""
        self.get_user(username)
        self._write("UPDATE access_users SET disabled = ? WHERE username = ?", [disabled, username])
        if disabled:
            self._write("DELETE FROM access_sessions WHERE username = ?", [username])
            self._write(
                "UPDATE access_tokens SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL",
                [_now(), username],
            )
        self._forget_tokens()

    # -- passwords and login limits ----------------------------------------------------------
    def _failures_since(self, column: str, value: str, since: datetime) -> int:
        rows = self._rows(
            f"SELECT count(*) FROM access_login_attempts WHERE {column} = ? AND NOT ok AND attempted_at >= ?",
            [value, since],
        )
        return int(rows[0][0])

    def login(self, username: str, password: str, client: str = "local") -> User:
        """Check a password, within the login limits.

        Raises
        ------
        RateLimitedError
            When the user or the client has failed too often in the window, or the account is
            locked; ``retry_after`` says when to try again.
        AuthenticationError
            For an unknown user, a wrong password or a disabled account (one message for all
            three, so that a caller cannot probe which names exist).
        """
        p = self.policy
        now = _now()
        since = now - timedelta(seconds=p.window_seconds)
        if self._failures_since("client", client, since) >= p.max_failures_per_client:
            raise RateLimitedError("too many failed logins from this client; try again later", p.window_seconds)
        if self._failures_since("username", username, since) >= p.max_failures_per_user:
            raise RateLimitedError("too many failed logins for this user; try again later", p.window_seconds)
        rows = self._rows(
            "SELECT role, password_hash, disabled, failed_logins, locked_until FROM access_users WHERE username = ?",
            [username],
        )
        if rows and rows[0][4] is not None and rows[0][4] > now:
            wait = int((rows[0][4] - now).total_seconds()) + 1
            raise RateLimitedError("the account is locked after repeated failed logins; try again later", wait)
        ok = False
        if rows and not rows[0][2]:
            from argon2.exceptions import InvalidHashError, VerificationError

            try:
                ok = bool(self._hasher.verify(rows[0][1], password))
            except (VerificationError, InvalidHashError):
                ok = False
        else:
            # spend the same time as a real check, so a missing user is not faster to probe
            self._hasher.hash(password)
        self._write(
            "INSERT INTO access_login_attempts (username, client, attempted_at, ok) VALUES (?, ?, ?, ?)",
            [username, client, now, ok],
        )
        if not ok:
            if rows:
                failed = int(rows[0][3]) + 1
                locked = now + timedelta(seconds=p.lockout_seconds) if failed >= p.lockout_after else None
                self._write(
                    "UPDATE access_users SET failed_logins = ?, locked_until = ? WHERE username = ?",
                    [0 if locked else failed, locked, username],
                )
            raise AuthenticationError("wrong user name or password")
        if rows[0][3]:
            self._write("UPDATE access_users SET failed_logins = 0 WHERE username = ?", [username])
        if self._hasher.check_needs_rehash(rows[0][1]):
            self._write(
                "UPDATE access_users SET password_hash = ? WHERE username = ?", [self._hasher.hash(password), username]
            )
        return User(username, rows[0][0])

    # -- API tokens ----------------------------------------------------------------------------
    def issue_token(self, username: str, *, name: str = "", days: int | None = None) -> str:
        """A new API token for ``username`` (shown once; only its hash is kept)."""
        self.get_user(username)
        days = self.policy.token_days if days is None else days
        if days < 1 or days > 3650:
            raise InputError(f"'days' must be from 1 to 3650; got {days}")
        token = secrets.token_urlsafe(32)
        now = _now()
        self._write(
            "INSERT INTO access_tokens (token_hash, username, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            [_hash(token), username, name, now, now + timedelta(days=days)],
        )
        return token

    def authenticate_token(self, token: str) -> User:
        """The user of a valid API token.

        A valid token is remembered in memory (``last_used_at`` is written at most once a
        minute per token): the service asks on every request, and every change that can end
        a token's validity (revoke, disable, role or password change) goes through this
        store, which forgets what it remembered. The process that holds the workspace is
        its only writer, so no other process can revoke a token behind its back.

        Raises
        ------
        AuthenticationError
            For an unknown, expired or revoked token, or a disabled user.
        """
        digest = _hash(token)
        now = _now()
        cached = self._token_cache.get(digest)
        if cached is not None and (cached[1] is None or cached[1] > now):
            user, _expires, written = cached
            if (now - written).total_seconds() >= _LAST_USED_EVERY:
                self._write("UPDATE access_tokens SET last_used_at = ? WHERE token_hash = ?", [now, digest])
                self._token_cache[digest] = (user, _expires, now)
            return user
        rows = self._rows(
            """SELECT u.username, u.role, t.expires_at, t.revoked_at, u.disabled
               FROM access_tokens t JOIN access_users u ON u.username = t.username WHERE t.token_hash = ?""",
            [digest],
        )
        if not rows or rows[0][3] is not None or rows[0][4] or (rows[0][2] is not None and rows[0][2] <= now):
            self._token_cache.pop(digest, None)
            raise AuthenticationError("the token is not valid (unknown, expired or revoked)")
        self._write("UPDATE access_tokens SET last_used_at = ? WHERE token_hash = ?", [now, digest])
        user = User(rows[0][0], rows[0][1])
        if len(self._token_cache) >= _TOKEN_CACHE_SIZE:
            self._token_cache.clear()
        self._token_cache[digest] = (user, rows[0][2], now)
        return user

    def _forget_tokens(self) -> None:
        """Drop every remembered token (after a change that may end some token's validity)."""
        self._token_cache.clear()

    def revoke_token(self, token: str) -> None:
        """Revoke an API token (by the token itself)."""
        self._write(
            "UPDATE access_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
            [_now(), _hash(token)],
        )
        self._forget_tokens()

    def list_tokens(self, username: str | None = None) -> list[dict[str, Any]]:
        """Tokens (without their secret): owner, name, created, expires, revoked, last used."""
        where, params = ("WHERE username = ?", [username]) if username else ("", [])
        rows = self._rows(
            f"""SELECT left(token_hash, 12), username, name, created_at, expires_at, revoked_at, last_used_at
                FROM access_tokens {where} ORDER BY created_at""",
            params,
        )
        keys = ("token_id", "username", "name", "created_at", "expires_at", "revoked_at", "last_used_at")
        return [dict(zip(keys, row)) for row in rows]

    def revoke_token_id(self, token_id: str, *, username: str | None = None) -> None:
        """Revoke a token by its listed id (the first 12 characters of its hash).

        With ``username``, only a token of that user is found (a user revoking their own).

        Raises
        ------
        InputError
            For an id that is not 12 characters long.
        NotFoundError
            When there is no such token (of that user).
        """
        if not isinstance(token_id, str) or len(token_id) != 12:
            raise InputError(f"a token id has 12 characters (see the token list); got {token_id!r}")
        rows = self._rows("SELECT token_hash, username FROM access_tokens WHERE left(token_hash, 12) = ?", [token_id])
        if not rows or (username is not None and rows[0][1] != username):
            raise NotFoundError(f"no token {token_id!r}" + ("" if username is None else f" of user {username!r}"))
        self._write("UPDATE access_tokens SET revoked_at = ? WHERE token_hash = ?", [_now(), rows[0][0]])
        self._forget_tokens()

    # -- sessions ---------------------------------------------------------------------------------
    def create_session(self, user: User) -> tuple[str, Session]:
        """A new browser session: the session id for the cookie (shown once) and the session."""
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = _now()
        expires = now + timedelta(hours=self.policy.session_hours)
        self._write(
            "INSERT INTO access_sessions (session_hash, username, csrf_token, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [_hash(session_id), user.username, csrf, now, expires],
        )
        return session_id, Session(user, csrf, expires)

    def get_session(self, session_id: str) -> Session:
        """The live session of a session id.

        Raises
        ------
        AuthenticationError
            For an unknown or expired session, or a disabled user.
        """
        rows = self._rows(
            """SELECT u.username, u.role, s.csrf_token, s.expires_at, u.disabled
               FROM access_sessions s JOIN access_users u ON u.username = s.username WHERE s.session_hash = ?""",
            [_hash(session_id)],
        )
        if not rows or rows[0][4] or rows[0][3] <= _now():
            raise AuthenticationError("the session has ended; sign in again")
        return Session(User(rows[0][0], rows[0][1]), rows[0][2], rows[0][3])

    def end_session(self, session_id: str) -> None:
        """End a browser session (sign out)."""
        self._write("DELETE FROM access_sessions WHERE session_hash = ?", [_hash(session_id)])
