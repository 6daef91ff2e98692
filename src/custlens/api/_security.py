"""Authentication and the permission every route declares.

A route under ``/api/v1/`` is added with :func:`secured` and names its permission; the
one dependency :func:`current_user` resolves the caller (a bearer token, or a session
cookie for the pages) and :func:`custlens.access.check` decides. ``GET`` requests with a
session cookie need nothing more; other methods with a session cookie must carry the
session's CSRF token in the ``X-CSRF-Token`` header (or the form field ``csrf_token``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from custlens.access import User, check
from custlens.errors import AuthenticationError, PermissionDeniedError

__all__ = ["SESSION_COOKIE", "CSRF_HEADER", "current_user", "require", "secured", "PERMISSION_KEY"]

SESSION_COOKIE = "custlens_session"
CSRF_HEADER = "X-CSRF-Token"
PERMISSION_KEY = "x-permission"
_SAFE = ("GET", "HEAD", "OPTIONS")


def _service(request: Request) -> Any:
    return request.app.state.service


def current_user(request: Request) -> User:
    """The caller: from ``Authorization: Bearer <token>``, else from the session cookie.

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
        return service.access.authenticate_token(token.strip())
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise AuthenticationError("sign in first: POST /api/v1/token gives a bearer token")
    session = service.access.get_session(session_id)
    if request.method not in _SAFE:
        sent = request.headers.get(CSRF_HEADER) or request.state.__dict__.get("csrf_form_token")
        import hmac

        if not sent or not hmac.compare_digest(str(sent), session.csrf_token):
            raise PermissionDeniedError("missing or wrong CSRF token for this session")
    request.state.session = session
    return session.user


def require(permission: str) -> Callable[..., User]:
    """A dependency giving the current user after checking ``permission``."""

    def dependency(user: User = Depends(current_user)) -> User:
        check(user.role, permission)
        return user

    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return dependency


def secured(router: Any, method: str, path: str, permission: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register a route on ``router`` that needs ``permission`` (recorded in the OpenAPI spec).

    The permission is both enforced (a dependency) and declared (``x-permission`` in the
    operation), so a test can walk the route table and find a route that declares none.
    """
    extra = dict(kwargs.pop("openapi_extra", None) or {})
    extra[PERMISSION_KEY] = permission
    dependencies = [*kwargs.pop("dependencies", []), Depends(require(permission))]
    responses = {
        401: {"description": "no valid credentials"},
        403: {"description": f"the role lacks {permission!r}"},
        **kwargs.pop("responses", {}),
    }
    return router.api_route(
        path, methods=[method], openapi_extra=extra, dependencies=dependencies, responses=responses, **kwargs
    )
