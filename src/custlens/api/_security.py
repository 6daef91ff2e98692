"""Authentication and the permission every route declares.

A route under ``/api/v1/`` is added with :func:`secured` and names its permission; the
one dependency :func:`current_user` resolves the caller (a bearer token, or a session
cookie for the pages) and :func:`custlens.access.check` decides. ``GET`` requests with a
session cookie need nothing more; other methods with a session cookie must carry the
session's CSRF token in the ``X-CSRF-Token`` header (or the form field ``csrf_token``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from custlens.access import PERMISSIONS, Session, User, check
from custlens.errors import AuthenticationError, PermissionDeniedError

__all__ = [
    "SESSION_COOKIE",
    "CSRF_HEADER",
    "CSRF_FIELD",
    "PUBLIC",
    "AUTHENTICATED",
    "current_user",
    "require",
    "secured",
    "PERMISSION_KEY",
    "set_session_cookie",
    "clear_session_cookie",
]

SESSION_COOKIE = "custlens_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
PERMISSION_KEY = "x-permission"
PUBLIC = "public"
"""The declared permission of a route anyone may call (health, sign-in)."""
AUTHENTICATED = "authenticated"
"""The declared permission of a route every signed-in user may call (own account, own tokens)."""
_SAFE = ("GET", "HEAD", "OPTIONS")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _service(request: Request) -> Any:
    return request.app.state.service


async def current_user(request: Request) -> User:
    """The caller: from ``Authorization: Bearer <token>``, else from the session cookie.

    A coroutine: a bearer token is checked on the event loop (a valid token is remembered
    in memory by :meth:`custlens.access.AccessStore.authenticate_token`, so this is a
    dictionary look-up, with one indexed query the first time and a one-row write once a
    minute), which spares every API request a hand-over to a worker thread; a session
    cookie, read from the database on every request, is checked on a worker thread.

    Raises
    ------
    AuthenticationError
        Without credentials, or with an invalid token or session (401).
    PermissionDeniedError
        A cookie-authenticated change without the session's CSRF token (403).
    """
    service = _service(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
        user: User = service.access.authenticate_token(token.strip())
        return user
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise AuthenticationError(
            "sign in first: POST /api/v1/token gives a bearer token, POST /api/v1/session a session cookie"
        )
    session = await run_in_threadpool(service.access.get_session, session_id)
    if request.method not in _SAFE:
        sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "csrf_form_token", None)
        import hmac

        if not sent or not hmac.compare_digest(str(sent), session.csrf_token):
            raise PermissionDeniedError("missing or wrong CSRF token for this session")
    request.state.session = session
    return session.user


async def csrf_form_token(request: Request) -> None:
    """For a cookie-authenticated form post without the CSRF header, read ``csrf_token`` from the form.

    Runs before :func:`current_user` on every secured route; the parsed form is cached on
    the request, so the route reads the same form.
    """
    if request.method in _SAFE or request.headers.get(CSRF_HEADER) or not request.cookies.get(SESSION_COOKIE):
        return
    if request.headers.get("authorization"):
        return
    if request.headers.get("content-type", "").split(";")[0].strip().lower() in _FORMS:
        form = await request.form()
        token = form.get(CSRF_FIELD)
        if isinstance(token, str):
            request.state.csrf_form_token = token


def require(permission: str) -> Callable[..., Awaitable[User]]:
    """A dependency giving the current user after checking ``permission``.

    ``permission`` is one of :data:`custlens.access.PERMISSIONS`, or :data:`AUTHENTICATED`
    (any signed-in user).
    """
    if permission != AUTHENTICATED and permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}; see custlens.access.PERMISSIONS")

    # a coroutine: the check is a look-up in memory, so it runs on the event loop rather
    # than taking a worker thread (one hand-over fewer per request)
    async def dependency(user: User = Depends(current_user)) -> User:
        if permission != AUTHENTICATED:
            check(user.role, permission)
        return user

    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return dependency


def secured(router: Any, method: str, path: str, permission: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register a route on ``router`` that needs ``permission`` (recorded in the OpenAPI spec).

    The permission is both enforced (a dependency) and declared (``x-permission`` in the
    operation), so a test can walk the route table and find a route that declares none.
    ``permission`` is one of :data:`custlens.access.PERMISSIONS`, :data:`AUTHENTICATED`
    (any signed-in user) or :data:`PUBLIC` (no credentials: health and sign-in only).
    """
    extra = dict(kwargs.pop("openapi_extra", None) or {})
    extra[PERMISSION_KEY] = permission
    dependencies = list(kwargs.pop("dependencies", []))
    responses = dict(kwargs.pop("responses", {}))
    if permission != PUBLIC:
        dependencies += [Depends(csrf_form_token), Depends(require(permission))]
        responses = {
            401: {"description": "no valid credentials"},
            403: {"description": "signed in" if permission == AUTHENTICATED else f"the role lacks {permission!r}"},
            **responses,
        }
    return router.api_route(
        path, methods=[method], openapi_extra=extra, dependencies=dependencies, responses=responses, **kwargs
    )


def set_session_cookie(response: Response, request: Request, session_id: str, session: Session) -> None:
    """Put the session id in the session cookie: HttpOnly, SameSite=Lax, Secure over TLS.

    The request is over TLS when its scheme is ``https`` (uvicorn sets it from
    ``X-Forwarded-Proto`` for trusted proxies, ``--forwarded-allow-ips``) or when the app
    was created with ``secure_cookies=True``.
    """
    forced = getattr(request.app.state, "secure_cookies", None)
    secure = bool(forced) if forced is not None else request.url.scheme == "https"
    from datetime import UTC, datetime

    max_age = max(0, int((session.expires_at - datetime.now(UTC).replace(tzinfo=None)).total_seconds()))
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax"
    )


def clear_session_cookie(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
