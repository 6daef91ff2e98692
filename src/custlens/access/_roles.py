"""Roles and permissions: the one table every edge (API, pages, CLI) checks.

A permission names what an action reads or changes. Each role is granted a set of them;
:func:`check` is the only place a decision is made. ``docs/security.md`` shows the same
matrix, and a test keeps the two equal.
"""

from __future__ import annotations

from custlens.errors import InputError, PermissionDeniedError, did_you_mean

__all__ = [
    "ROLES",
    "PERMISSIONS",
    "ROLE_PERMISSIONS",
    "IDENTITY_FIELDS",
    "CONTACT_FIELDS",
    "can",
    "check",
    "check_role",
    "permissions_of",
    "visible_identity_fields",
]

IDENTITY_FIELDS: tuple[str, ...] = ("name", "contact_person", "phone", "email", "address", "postcode")
"""The personal fields of the ``identity`` table."""

CONTACT_FIELDS: tuple[str, ...] = ("name", "contact_person", "phone", "email")
"""The personal fields a marketing contact needs (``contact:read``)."""

ROLES: tuple[str, ...] = ("admin", "analyst", "marketing", "sales", "service")
"""The roles, from the most to the least privileged in administration."""

PERMISSIONS: dict[str, str] = {
    "analyses:read": "stored analyses: the list, one run's metadata, the overview's headline figures",
    "customers:read": "customer attributes, value indicators, segments, CLV, churn risk, timeline (no personal data)",
    "identity:read": "personal data of every customer: names, contact persons, phones, e-mails, addresses",
    "contact:read": "contact data (name, phone, e-mail) of customers who consented to marketing",
    "segments:read": "segmentations, summaries, members and migration",
    "value:read": "lifetime value: distribution, top customers, CLV matrix",
    "churn:read": "churn risk and the at-risk list",
    "satisfaction:read": "satisfaction indices, IPMA and Kano",
    "exports:create": "campaign lists as CSV/XLSX",
    "imports:run": "import files into the warehouse",
    "analysis:run": "run and store the standard analysis",
    "jobs:read": "background jobs and their status",
    "users:manage": "users, roles, passwords and API tokens of others",
    "privacy:manage": "the rights of data subjects: erase, export and correct a person's data; apply retention",
    "audit:read": "the audit log and the check of its hash chain",
}
"""Every permission with what it allows."""

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "analyst": frozenset(
        {
            "analyses:read",
            "customers:read",
            "segments:read",
            "value:read",
            "churn:read",
            "satisfaction:read",
            "exports:create",
            "imports:run",
            "analysis:run",
            "jobs:read",
        }
    ),
    "marketing": frozenset(
        {
            "analyses:read",
            "customers:read",
            "contact:read",
            "segments:read",
            "value:read",
            "churn:read",
            "satisfaction:read",
            "exports:create",
            "jobs:read",
        }
    ),
    "sales": frozenset(
        {"analyses:read", "customers:read", "identity:read", "segments:read", "value:read", "churn:read", "jobs:read"}
    ),
    "service": frozenset(
        {"analyses:read", "customers:read", "identity:read", "churn:read", "satisfaction:read", "jobs:read"}
    ),
}
"""The permissions of each role. ``analyst`` never sees personal data; ``marketing`` sees
contact data only of customers who consented to marketing; only ``admin`` manages users."""


def check_role(role: str) -> str:
    """Return ``role`` if it is one of :data:`ROLES`, else raise :class:`InputError`."""
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}{did_you_mean(role, ROLES)}; roles: {', '.join(ROLES)}")
    return role


def permissions_of(role: str) -> frozenset[str]:
    """The permissions of ``role``."""
    return ROLE_PERMISSIONS[check_role(role)]


def can(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission``."""
    if permission not in PERMISSIONS:
        raise InputError(f"unknown permission {permission!r}{did_you_mean(permission, PERMISSIONS)}")
    return permission in permissions_of(role)


def check(role: str, permission: str) -> None:
    """Raise :class:`PermissionDeniedError` unless ``role`` holds ``permission``."""
    if not can(role, permission):
        raise PermissionDeniedError(f"the role {role!r} may not do this (needs the permission {permission!r})")


def visible_identity_fields(role: str, *, consent_marketing: bool | None) -> tuple[str, ...]:
    """The identity fields ``role`` may see of one customer.

    ``identity:read`` sees every field; ``contact:read`` sees the contact fields only when
    the customer consented to marketing (an unknown consent is no consent); other roles
    see none.
    """
    if can(role, "identity:read"):
        return IDENTITY_FIELDS
    if can(role, "contact:read") and consent_marketing is True:
        return CONTACT_FIELDS
    return ()
