"""Mounting the pages on the service's app: routes, static files, HTML error pages.

The API answers every error as JSON; a page answers in HTML: without a session the
browser is sent to the sign-in page (303), a refused permission or a wrong CSRF token
shows the refusal page (403), a missing customer or segment the not-found page (404).
Requests that are not pages keep the API's JSON answers.
"""

from __future__ import annotations

import inspect
import logging
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from custlens.api import SESSION_COOKIE
from custlens.errors import AuthenticationError, CustlensError
from custlens.web._context import PAGE_MARK, PageContext, anonymous_context

__all__ = ["install", "STATIC_PATH", "PLOTLY_JS"]

log = logging.getLogger(__name__)

STATIC_PATH = "/static"
PLOTLY_JS = "/static/vendor/plotly.min.js"
"""Where the pages load plotly.js from: the file shipped in the installed ``plotly`` package."""


def plotly_js() -> FileResponse:
    """plotly.js of the installed ``plotly`` package (``plotly/package_data/plotly.min.js``)."""
    path = resources.files("plotly").joinpath("package_data", "plotly.min.js")
    return FileResponse(str(path), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


def _is_page(request: Request) -> bool:
    return bool(getattr(request.scope.get("endpoint"), PAGE_MARK, False))


def _error_page(request: Request, status: int, kind: str, detail: str) -> Response:
    """The error page, with the navigation of the signed-in user when there is one."""
    ctx = anonymous_context(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        try:
            session = request.app.state.service.access.get_session(session_id)
            ctx = PageContext(request, session.user, ctx.t, session.csrf_token)
        except CustlensError:
            pass  # an ended session: the page shows no navigation
    return ctx.render("error.html", {"status": status, "kind": kind, "detail": detail}, status=status)


def _next_path(request: Request) -> str:
    path = request.url.path if request.method == "GET" else "/"
    if request.method == "GET" and request.url.query:
        path += "?" + request.url.query
    return quote(path, safe="/?=&")


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    """The API's own answer to an error outside the pages."""
    if handler is None:
        raise exc
    answer = handler(request, exc)
    return await answer if inspect.isawaitable(answer) else answer


def _install_errors(app: FastAPI) -> None:
    api_custlens = app.exception_handlers.get(CustlensError)
    api_validation = app.exception_handlers.get(RequestValidationError)

    async def custlens_error(request: Request, exc: Exception) -> Response:
        if not _is_page(request) or not isinstance(exc, CustlensError):
            return await _delegate(api_custlens, request, exc)
        if isinstance(exc, AuthenticationError):
            return RedirectResponse(f"/login?next={_next_path(request)}", status_code=303)
        kinds = {403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid", 429: "rate_limited"}
        status = exc.http_status if exc.http_status in kinds else 500
        if status == 500:
            log.exception("page %s failed", request.url.path, exc_info=exc)
        return _error_page(request, status, kinds.get(status, "internal"), str(exc) if status != 500 else "")

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not _is_page(request) or not isinstance(exc, RequestValidationError):
            return await _delegate(api_validation, request, exc)
        where = "; ".join(
            ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path")) + f": {e.get('msg', '')}"
            for e in exc.errors()[:3]
        )
        return _error_page(request, 422, "invalid", where)

    app.add_exception_handler(CustlensError, custlens_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def install(app: FastAPI) -> FastAPI:
    """Add the dashboard's pages to an app made by :func:`custlens.api.create_app`.

    Mounts the page routes (:data:`custlens.web.router`), the static files under
    ``/static`` (style sheet, ``app.js`` and plotly.js from the installed ``plotly``
    package) and HTML error pages for page routes. Call it once, before serving.

    Returns
    -------
    FastAPI
        ``app``, for chaining.
    """
    from custlens.web._routes import router

    app.include_router(router)
    app.add_api_route(PLOTLY_JS, plotly_js, methods=["GET"], include_in_schema=False)
    app.mount(STATIC_PATH, StaticFiles(directory=str(resources.files("custlens.web").joinpath("static"))), "static")
    _install_errors(app)
    return app
