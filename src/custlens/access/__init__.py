"""Who may do what: users, roles and permissions, passwords, API tokens, sessions.

Roles (``admin``, ``analyst``, ``marketing``, ``sales``, ``service``) hold permissions
(:data:`ROLE_PERMISSIONS`); :func:`check` is the one place a decision is made, for the
REST API, the web pages and the CLI alike. Users, hashed passwords (Argon2id), hashed API
tokens, browser sessions and login attempts live in the workspace (:class:`AccessStore`).
See ``docs/security.md``.
"""

from __future__ import annotations

from custlens.access._roles import (
    CONTACT_FIELDS,
    IDENTITY_FIELDS,
    PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    can,
    check,
    check_role,
    permissions_of,
    visible_identity_fields,
)
from custlens.access._store import MIN_PASSWORD_LENGTH, AccessStore, LoginPolicy, Session, User

__all__ = [
    "AccessStore",
    "CONTACT_FIELDS",
    "IDENTITY_FIELDS",
    "LoginPolicy",
    "MIN_PASSWORD_LENGTH",
    "PERMISSIONS",
    "ROLES",
    "ROLE_PERMISSIONS",
    "Session",
    "User",
    "can",
    "check",
    "check_role",
    "permissions_of",
    "visible_identity_fields",
]
