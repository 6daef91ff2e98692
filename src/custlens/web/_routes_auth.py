"""Signing in and out of the pages: a session cookie and its CSRF token.

The sign-in form posts the user name and password; a correct pair creates a session
(:meth:`custlens.access.AccessStore.create_session`) whose id goes into the HttpOnly,
SameSite=Lax session cookie (Secure over TLS). The form itself carries a one-time token
that must equal a cookie set with the form (a double-submit check, as there is no session
yet). Signing out is a form post with the session's CSRF token.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from custlens.api import AUTHENTICATED, PUBLIC, SESSION_COOKIE, clear_session_cookie, set_session_cookie
from custlens.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from custlens.web._context import PageContext, anonymous_context, page, redirect

__all__ = ["router", "LOGIN_COOKIE", "safe_next"]

router = APIRouter()

LOGIN_COOKIE = "custlens_login"


def safe_next(path: str | None) -> str:
    """``path`` if it is a path on this site, else ``/`` (no open redirect after sign-in)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\\\" in path:
        return "/"
    return path


def _login_page(
    ctx: PageContext, next_path: str, *, error: str | None = None, username: str = "", status: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    view = {"next": safe_next(next_path), "login_csrf": token, "error": error, "username": username}
    response = ctx.render("login.html", view, status=status)
    forced = getattr(ctx.request.app.state, "secure_cookies", None)
    secure = bool(forced) if forced is not None else ctx.request.url.scheme == "https"
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict", secure=secure
    )
    return response


@page(router, "GET", "/login", PUBLIC)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in form."""
    return _login_page(anonymous_context(request), next)


@page(router, "POST", "/login", PUBLIC)
def login(
    request: Request,
    username: str = Form(..., max_length=64),
    password: str = Form(..., max_length=1024),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Check the password (rate-limited, with lock-out), start a session and go to ``next``."""
    from custlens.service import start_session

    ctx = anonymous_context(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        raise PermissionDeniedError("the sign-in form has expired or was not sent by this site; reload it")
    client = request.client.host if request.client else "unknown"
    try:
        session_id, session = start_session(ctx.service, username, password, client)
    except RateLimitedError:
        return _login_page(ctx, next, error="login.rate_limited", username=username, status=429)
    except AuthenticationError:
        return _login_page(ctx, next, error="login.failed", username=username, status=401)
    response = redirect(safe_next(next))
    set_session_cookie(response, request, session_id, session)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@page(router, "POST", "/logout", AUTHENTICATED)
def logout(request: Request) -> Response:
    """End the session and go to the sign-in form."""
    from custlens.service import end_session

    end_session(request.app.state.service, request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/login")
    clear_session_cookie(response)
    return response
