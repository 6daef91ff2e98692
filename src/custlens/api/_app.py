"""The FastAPI application: one error shape, security headers, the routers, the page hooks.

Every custlens error becomes ``{"error": {"code": ..., "message": ...}}`` with the error's
HTTP status (:mod:`custlens.errors`); request validation errors are 422 in the same shape;
anything unexpected is a 500 in the same shape with no traceback (it is logged).

The web pages plug in through :func:`create_app`'s ``extensions`` (each a callable given
the app: it adds routers and static mounts) and, for errors on page paths (outside
``/api/``), ``app.state.page_errors``: a callable ``(request, status, code, message) ->
Response`` that draws an error page instead of the JSON body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from custlens.errors import CustlensError, RateLimitedError

__all__ = ["build_app", "create_app", "error_body", "SECURITY_HEADERS", "JSON", "Extension"]

log = logging.getLogger(__name__)

Extension = Callable[[FastAPI], None]
"""Something that adds to the app (the web pages: routers, static files)."""

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
"""Headers on every response. A response that sets its own ``Content-Security-Policy``
keeps it (a page that needs more sets it); the interactive docs get :data:`_DOCS_CSP`."""

_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
"""The CSP of ``/docs`` and ``/redoc`` only: FastAPI's pages load Swagger UI and ReDoc from a CDN
and start them with an inline script (no installed package ships the assets)."""


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


class JSON(JSONResponse):
    """A JSON response from plain data (dates as ISO text), written by orjson.

    Compact UTF-8. Data should come through :func:`custlens.service.plain` (NaN and
    infinities become ``None`` there; orjson would write them as ``null`` too, never as
    the invalid ``NaN``). Values orjson does not know (bytes, decimals, paths) go through
    :func:`_default`: bytes as hex, anything else as its text.
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one error shape of the API."""
    return {"error": {"code": code, "message": message}}


def _error(request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    page_errors = getattr(request.app.state, "page_errors", None)
    if page_errors is not None and not request.url.path.startswith("/api/") and request.url.path != "/healthz":
        response: Response = page_errors(request, status, code, message)
        for name, value in (headers or {}).items():
            response.headers.setdefault(name, value)
        return response
    return JSON(error_body(code, message), status, headers=headers)


def _install_errors(app: FastAPI) -> None:
    from custlens.service import error_code

    @app.exception_handler(CustlensError)
    async def custlens_error(request: Request, exc: CustlensError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
        if exc.http_status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
        return _error(request, exc.http_status, error_code(exc), str(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            received = f" (got {str(err['input'])[:60]!r})" if "input" in err and err["input"] is not None else ""
            parts.append(f"{where}: {err.get('msg', 'invalid')}{received}")
        return _error(request, 422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "authentication", 403: "permission_denied"}
        return _error(
            request,
            exc.status_code,
            codes.get(exc.status_code, f"http_{exc.status_code}"),
            str(exc.detail),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return _error(request, 500, "internal", "internal error; the server log has the details")


class _SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` on every response (``no-store`` under ``/api/``).

    A plain ASGI wrapper rather than ``@app.middleware("http")``: it adds the headers as
    the response starts, without the per-request task and stream of Starlette's
    ``BaseHTTPMiddleware``.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        wanted = dict(SECURITY_HEADERS)
        if path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            wanted["Content-Security-Policy"] = _DOCS_CSP
        if path.startswith("/api/"):
            wanted["Cache-Control"] = "no-store"
        forced = path in ("/docs", "/redoc", "/docs/oauth2-redirect")

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.decode("latin-1").lower() for k, _ in headers}
                if forced:
                    headers = [(k, v) for k, v in headers if k.lower() != b"content-security-policy"]
                    present.discard("content-security-policy")
                for name, value in wanted.items():
                    if name.lower() not in present:
                        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _default_extensions() -> list[Extension]:
    """The web pages' ``custlens.web.mount(app)`` when that package is present."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("custlens.web") is None:
        return []
    mount = getattr(importlib.import_module("custlens.web"), "mount", None)
    return [mount] if callable(mount) else []


def build_app(
    *,
    extensions: Sequence[Extension] | None = None,
    secure_cookies: bool | None = None,
    read_slots: int | None = None,
) -> FastAPI:
    """The application without its service (``app.state.service`` is set by :func:`create_app`).

    Parameters as in :func:`create_app`.
    """
    from custlens import __version__
    from custlens.api._admission import DEFAULT_SLOTS, Admission
    from custlens.api._routes import routers

    app = FastAPI(
        title="custlens",
        version=__version__,
        description="The customer-knowledge service: customers, segments, lifetime value, churn and "
        "satisfaction from the workspace's stored analysis. Authenticate with POST /api/v1/token "
        "(bearer token) or POST /api/v1/session (cookie for the pages). Every operation names the "
        "permission it needs in `x-permission`; see docs/api.md and docs/security.md.",
        default_response_class=JSON,
        # FastAPI's own OpenTelemetry spans and metrics are off: custlens exports none, and
        # asking for a tracer provider reads the environment on every request (about 7 % of
        # the interpreter's time under load; docs/performance.md)
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.service = None
    app.state.secure_cookies = secure_cookies
    app.state.page_errors = None
    _install_errors(app)
    app.add_middleware(_SecurityHeaders)
    app.add_middleware(Admission, slots=DEFAULT_SLOTS if read_slots is None else read_slots)
    for router in routers():
        app.include_router(router)
    for extension in _default_extensions() if extensions is None else extensions:
        extension(app)
    return app


def create_app(
    workspace: str | Path | Any,
    *,
    extensions: Sequence[Extension] | None = None,
    secure_cookies: bool | None = None,
    read_slots: int | None = None,
    **service_options: Any,
) -> FastAPI:
    """The service for one workspace.

    Parameters
    ----------
    workspace
        The workspace folder, or a :class:`custlens.service.Service` already holding it.
    extensions
        Callables given the app after the API routes are in (the web pages mount their
        routers and static files this way). Default: ``custlens.web.mount`` when the
        package exists; ``()`` for the API alone.
    secure_cookies
        Mark the session cookie ``Secure`` always (``True``), never (``False``), or when
        the request came over TLS (``None``, default).
    read_slots
        Reads (``GET``) worked on at once; the others wait earliest deadline first
        (:class:`custlens.api._admission.Admission`; default 4).
    service_options
        Passed to :class:`custlens.service.Service` (e.g. ``policy``, ``indexes``).
    """
    from custlens.service import Service

    service = workspace if isinstance(workspace, Service) else Service(workspace, **service_options)
    app = build_app(extensions=extensions, secure_cookies=secure_cookies, read_slots=read_slots)
    app.state.service = service
    return app
