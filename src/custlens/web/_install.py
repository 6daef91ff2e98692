"""Mounting the pages on the service's app: routes, static files, HTML error pages.

The API answers errors as JSON under ``/api/``; on every other path it asks
``app.state.page_errors`` for the answer (:func:`custlens.api.create_app`), and the pages
answer in HTML: without a session the browser goes to the sign-in page (303), a refused
permission or a wrong CSRF token shows the refusal page (403), a missing customer,
segment or page the not-found page (404).
"""

from __future__ import annotations

from importlib import resources
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from custlens.api import SESSION_COOKIE
from custlens.errors import CustlensError
from custlens.web._context import PageContext, anonymous_context

__all__ = ["install", "STATIC_PATH", "PLOTLY_JS", "error_page"]

STATIC_PATH = "/static"
PLOTLY_JS = "/static/vendor/plotly.min.js"
"""Where the pages load plotly.js from: the file shipped in the installed ``plotly`` package."""

_KINDS = {403: "forbidden", 404: "not_found", 409: "conflict", 429: "rate_limited", 400: "invalid", 405: "invalid"}


def plotly_js() -> FileResponse:
    """plotly.js of the installed ``plotly`` package (``plotly/package_data/plotly.min.js``)."""
    path = resources.files("plotly").joinpath("package_data", "plotly.min.js")
    return FileResponse(str(path), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


def _signed_in(request: Request) -> PageContext:
    """The error page's context: with the signed-in user's navigation when the session is live."""
    ctx = anonymous_context(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        try:
            session = request.app.state.service.access.get_session(session_id)
        except CustlensError:
            return ctx  # an ended session: the page shows no navigation
        ctx = PageContext(request, session.user, ctx.t, session.csrf_token)
    return ctx


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    """The answer to an error outside ``/api/`` (``app.state.page_errors``).

    401 sends the browser to the sign-in page (and back here after it); other errors show
    a page in the page language with the error's message under "details".
    """
    if status == 401:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = back if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    kind = "invalid" if status == 422 else _KINDS.get(status, "internal")
    detail = message if kind != "internal" else ""
    view = {"status": status, "kind": kind, "detail": detail, "code": code}
    return _signed_in(request).render("error.html", view, status=status)


def install(app: FastAPI) -> FastAPI:
    """Add the dashboard's pages to an app made by :func:`custlens.api.create_app`.

    Mounts the page routes (:data:`custlens.web.router`), plotly.js from the installed
    ``plotly`` package and the static files under ``/static`` (style sheet, ``app.js``),
    and answers errors outside ``/api/`` with HTML pages (``app.state.page_errors``).
    Installing twice changes nothing (``create_app`` installs the pages by itself when
    this package is present, through :func:`mount`).

    Returns
    -------
    FastAPI
        ``app``, for chaining.
    """
    from custlens.web._routes import router

    if getattr(app.state, "web_pages", False):
        return app
    app.include_router(router)
    app.add_api_route(PLOTLY_JS, plotly_js, methods=["GET"], include_in_schema=False)
    app.mount(STATIC_PATH, StaticFiles(directory=str(resources.files("custlens.web").joinpath("static"))), "static")
    app.state.page_errors = error_page
    app.state.web_pages = True
    return app


def mount(app: FastAPI) -> None:
    """:func:`install` as an extension of :func:`custlens.api.create_app` (which calls ``custlens.web.mount``)."""
    install(app)
