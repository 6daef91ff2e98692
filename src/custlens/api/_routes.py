"""Routes of health, sign-in and one's own account; :func:`routers` lists every router.

A route is a few lines: the permission is declared (:func:`secured`) and enforced by one
dependency, one function of :mod:`custlens.service` answers, the route returns it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from custlens.access import User
from custlens.api._app import JSON
from custlens.api._security import (
    AUTHENTICATED,
    PUBLIC,
    SESSION_COOKIE,
    clear_session_cookie,
    current_user,
    secured,
    set_session_cookie,
)
from custlens.errors import InputError

__all__ = ["router", "routers", "PageModel", "PageQuery", "page_query", "from_memory"]

router = APIRouter()
T = TypeVar("T")


def routers() -> list[APIRouter]:
    """Every router of the API, in the order they are included."""
    from custlens.api._routes_admin import router as admin
    from custlens.api._routes_data import router as data
    from custlens.api._routes_privacy import router as privacy

    return [router, data, admin, privacy]


class PageModel(BaseModel):
    """One page of a list."""

    items: list[dict[str, Any]]
    page: int
    page_size: int
    total: int


@dataclass(frozen=True)
class PageQuery:
    """``?page=&page_size=`` of every list (a route takes it as ``Depends(page_query)``)."""

    page: int
    page_size: int


async def page_query(
    page: int = Query(1, ge=1, le=1_000_000, description="Page number, from 1."),
    page_size: int = Query(50, ge=1, le=500, description="Items per page, 1 to 500."),
) -> PageQuery:
    """The paging of a list. A coroutine, so FastAPI reads it on the event loop (a plain
    class or function dependency would cost every list request a trip to a worker thread)."""
    return PageQuery(page, page_size)


class Credentials(BaseModel):
    """A user name and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Token(BaseModel):
    """A bearer token for ``Authorization: Bearer <access_token>``."""

    access_token: str
    token_type: str = "bearer"


class Health(BaseModel):
    """The service is up."""

    status: str
    version: str


def service_of(request: Request) -> Any:
    """The :class:`custlens.service.Service` of the app."""
    return request.app.state.service


async def from_memory(request: Request, analysis_id: str | None, read: Callable[[], T]) -> T:
    """``read()``, on the event loop when the service answers it from memory, else on a worker thread.

    For the reads of :mod:`custlens.service` that use only the in-memory indexes (a
    profile without its personal data, a page of segment members, the overview): once
    :meth:`custlens.service.Service.warmed` says those indexes are current for
    ``analysis_id``, the read is a few dictionary and Arrow lookups, cheaper than the
    hand-over to a worker thread and back that a plain ``def`` route costs. Before that
    (the first read after a write builds the indexes, seconds at a million customers) it
    runs on a worker thread, so the event loop never waits for an index to be built. (The
    loop does read a stored run's one row of metadata the first time it answers for an
    analysis after a write: one small query.)
    """
    if service_of(request).warmed(analysis_id):
        return read()
    return await run_in_threadpool(read)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@secured(router, "GET", "/healthz", PUBLIC, response_model=Health, tags=["service"])
def healthz() -> Health:
    """Liveness: the process answers (no authentication)."""
    from custlens import __version__

    return Health(status="ok", version=__version__)


@secured(
    router,
    "POST",
    "/api/v1/token",
    PUBLIC,
    response_model=Token,
    tags=["auth"],
    responses={401: {"description": "wrong user name or password"}, 429: {"description": "too many attempts"}},
)
def token(credentials: Credentials, request: Request) -> Token:
    """Exchange a user name and password for a bearer token (rate-limited, with lock-out)."""
    from custlens.service import issue_login_token

    token = issue_login_token(service_of(request), credentials.username, credentials.password, _client(request))
    return Token(access_token=token)


_SESSION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": Credentials.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string"},
                        "password": {"type": "string"},
                        "next": {"type": "string", "description": "a path of this site to go to (303)"},
                    },
                }
            },
        },
    }
}


@secured(
    router,
    "POST",
    "/api/v1/session",
    PUBLIC,
    tags=["auth"],
    openapi_extra=_SESSION_BODY,
    responses={
        200: {"description": "signed in: the session cookie is set; the body holds the CSRF token"},
        303: {"description": "signed in from a form with `next`: go there"},
        401: {"description": "wrong user name or password"},
        429: {"description": "too many attempts"},
    },
)
async def session_start(request: Request) -> Response:
    """Sign in for the pages: sets the session cookie (HttpOnly, SameSite=Lax, Secure over TLS).

    Takes JSON ``{"username", "password"}`` or a form with ``username``, ``password`` and
    optionally ``next`` (a path of this site: the answer is then a 303 redirect there).
    Returns ``{"username", "role", "csrf_token", "expires_at"}``; every later non-GET
    request with the cookie carries ``csrf_token`` in the ``X-CSRF-Token`` header or the
    ``csrf_token`` form field.
    """
    from starlette.concurrency import run_in_threadpool

    from custlens.service import start_session

    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        data: Any = dict(await request.form())
    else:
        try:
            data = await request.json()
        except ValueError:
            raise InputError("the body must be JSON {'username': ..., 'password': ...} or a form") from None
    if not isinstance(data, dict):
        raise InputError("the body must be JSON {'username': ..., 'password': ...} or a form")
    try:
        credentials = Credentials.model_validate({k: data.get(k) for k in ("username", "password")})
    except ValidationError as exc:
        where = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise InputError(f"sign-in needs a 'username' (1 to 64 characters) and a 'password'; check: {where}") from None
    session_id, session = await run_in_threadpool(
        start_session, service_of(request), credentials.username, credentials.password, _client(request)
    )
    target = data.get("next")
    response: Response
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        response = RedirectResponse(target, status_code=303)
    else:
        response = JSON(
            {
                "username": session.user.username,
                "role": session.user.role,
                "csrf_token": session.csrf_token,
                "expires_at": session.expires_at.isoformat(),
            }
        )
    set_session_cookie(response, request, session_id, session)
    return response


@secured(router, "DELETE", "/api/v1/session", AUTHENTICATED, tags=["auth"])
def session_end(request: Request, user: User = Depends(current_user)) -> Response:
    """Sign out: end the cookie's session and remove the cookie (with the CSRF token, like every change)."""
    from custlens.service import end_session

    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        end_session(service_of(request), session_id)
    response = JSON({"username": user.username, "signed_out": bool(session_id)})
    clear_session_cookie(response)
    return response


@secured(router, "GET", "/api/v1/me", AUTHENTICATED, tags=["auth"])
def me(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    """The caller's user name, role and permissions (and the session's CSRF token when signed in by cookie)."""
    from custlens.access import permissions_of

    out: dict[str, Any] = {
        "username": user.username,
        "role": user.role,
        "permissions": sorted(permissions_of(user.role)),
    }
    session = getattr(request.state, "session", None)
    if session is not None:
        out["csrf_token"] = session.csrf_token
    return out


@secured(router, "GET", "/api/v1/tokens", AUTHENTICATED, response_model=PageModel, tags=["auth"])
def tokens(request: Request, paging: PageQuery = Depends(page_query), user: User = Depends(current_user)) -> Response:
    """API tokens (without their secret): one's own; every user's for ``users:manage``."""
    from custlens.service import list_tokens

    return JSON(list_tokens(service_of(request), user, page=paging.page, page_size=paging.page_size).to_dict())


@secured(router, "DELETE", "/api/v1/tokens/{token_id}", AUTHENTICATED, tags=["auth"])
def token_revoke(
    request: Request,
    token_id: str = Path(min_length=12, max_length=12, description="The token id from the token list."),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Revoke an API token: one's own; anyone's for ``users:manage``."""
    from custlens.service import revoke_token

    return revoke_token(service_of(request), user, token_id)
