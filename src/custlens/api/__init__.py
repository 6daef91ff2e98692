"""The REST API (FastAPI): routes under ``/api/v1/`` over the service layer.

:func:`create_app` builds the application for one workspace; ``custlens serve`` runs it
on uvicorn. Every route declares the permission it needs (:func:`secured`); every error is
``{"error": {"code", "message"}}`` with its HTTP status. See ``docs/api.md``.
"""

from __future__ import annotations

from custlens.api._app import SECURITY_HEADERS, create_app, error_body
from custlens.api._security import CSRF_HEADER, PERMISSION_KEY, SESSION_COOKIE, current_user, require, secured

__all__ = [
    "CSRF_HEADER",
    "PERMISSION_KEY",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "create_app",
    "current_user",
    "error_body",
    "require",
    "secured",
]
