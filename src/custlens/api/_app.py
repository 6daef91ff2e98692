"""The FastAPI application: one error shape, security headers, the routers.

Every custlens error becomes ``{"error": {"code": ..., "message": ...}}`` with the error's
HTTP status (:mod:`custlens.errors`); request validation errors are 422 in the same shape;
anything unexpected is a 500 in the same shape with no traceback (it is logged).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from custlens.errors import CustlensError, RateLimitedError

__all__ = ["create_app", "error_body", "SECURITY_HEADERS"]

log = logging.getLogger(__name__)

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
"""Headers on every response (the interactive docs at /docs get a CSP that lets them load)."""

_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'"
)


def _code(name: str) -> str:
    """``PermissionDeniedError`` -> ``permission_denied``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Error")).lower() or "error"


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one error shape of the API."""
    return {"error": {"code": code, "message": message}}


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(CustlensError)
    async def custlens_error(_request: Request, exc: CustlensError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
        if exc.http_status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
        return JSONResponse(error_body(_code(type(exc).__name__), str(exc)), exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse(error_body("invalid_request", "; ".join(parts) or "invalid request"), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "authentication", 403: "permission_denied"}
        return JSONResponse(
            error_body(codes.get(exc.status_code, f"http_{exc.status_code}"), str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(error_body("internal", "internal error; the server log has the details"), 500)


def _install_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path in ("/docs", "/redoc"):
            response.headers["Content-Security-Policy"] = _DOCS_CSP
        return response


def create_app(workspace: str | Path | Any, **service_options: Any) -> FastAPI:
    """The service for one workspace.

    Parameters
    ----------
    workspace
        The workspace folder, or a :class:`custlens.service.Service` already holding it.
    service_options
        Passed to :class:`custlens.service.Service` (e.g. ``policy``).
    """
    from custlens import __version__
    from custlens.api._routes import router
    from custlens.service import Service

    service = workspace if isinstance(workspace, Service) else Service(workspace, **service_options)
    app = FastAPI(
        title="custlens",
        version=__version__,
        description="The customer-knowledge service: customers, segments, lifetime value, churn and "
        "satisfaction from the workspace's stored analysis. Authenticate with POST /api/v1/token.",
    )
    app.state.service = service
    _install_errors(app)
    _install_headers(app)
    app.include_router(router)
    return app
