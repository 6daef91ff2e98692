"""The REST API (FastAPI): routes under ``/api/v1/`` over the service layer.

:func:`create_app` builds the application for one workspace; ``custlens serve`` runs it
on uvicorn. Every route declares the permission it needs (:func:`secured`); every error is
``{"error": {"code", "message"}}`` with its HTTP status. The web pages mount on the same
app (``extensions``) and reuse :func:`current_user`, the session cookie helpers and the
CSRF check. See ``docs/api.md`` and ``docs/security.md``.
"""

from __future__ import annotations

from custlens.api._app import JSON, SECURITY_HEADERS, Extension, build_app, create_app, error_body
from custlens.api._security import (
    AUTHENTICATED,
    CSRF_FIELD,
    CSRF_HEADER,
    PERMISSION_KEY,
    PUBLIC,
    SESSION_COOKIE,
    clear_session_cookie,
    current_user,
    require,
    secured,
    set_session_cookie,
)

__all__ = [
    "AUTHENTICATED",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "Extension",
    "JSON",
    "PERMISSION_KEY",
    "PUBLIC",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "build_app",
    "clear_session_cookie",
    "create_app",
    "current_user",
    "error_body",
    "require",
    "secured",
    "set_session_cookie",
]
