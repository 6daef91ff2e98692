"""Routes for the rights of data subjects and the audit log (admin: ``privacy:manage``, ``audit:read``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from custlens.access import User
from custlens.api._app import JSON
from custlens.api._routes import PageModel, PageQuery, page_query, service_of
from custlens.api._security import current_user, secured

__all__ = ["router"]

router = APIRouter()


@secured(router, "POST", "/api/v1/privacy/customers/{customer_id}/erase", "privacy:manage", tags=["privacy"])
def erase(
    request: Request,
    customer_id: str,
    purpose: str | None = Body(None, embed=True, max_length=500),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Erase one person: identity removed, rows pseudonymised everywhere, a re-import refused.

    Answers what was touched. The database file is compacted by `custlens privacy erase`
    (run it, or `VACUUM`, while the service is stopped to clear freed pages).
    """
    from custlens.service import erase_customer

    return erase_customer(service_of(request), user, customer_id, purpose=purpose)


@secured(router, "GET", "/api/v1/privacy/customers/{customer_id}/export", "privacy:manage", tags=["privacy"])
def export(
    request: Request,
    customer_id: str,
    purpose: str | None = Query(None, max_length=500),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Everything held about one person, as JSON (right of access)."""
    from custlens.service import export_customer_data

    return export_customer_data(service_of(request), user, customer_id, purpose=purpose)


@secured(router, "PATCH", "/api/v1/privacy/customers/{customer_id}/identity", "privacy:manage", tags=["privacy"])
def correct(
    request: Request,
    customer_id: str,
    changes: dict[str, str | None] = Body(description="Identity fields and their new values (null clears)."),
    reason: str | None = Body(None, max_length=500),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Correct identity fields, keeping the old values as history (right to rectification)."""
    from custlens.service import correct_customer

    return correct_customer(service_of(request), user, customer_id, changes, reason=reason)


@secured(router, "POST", "/api/v1/privacy/retention", "privacy:manage", tags=["privacy"])
def retention(
    request: Request,
    dry_run: bool = Body(False, embed=True),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Delete or anonymise rows past their storage period (``dry_run`` only counts them)."""
    from custlens.service import run_retention

    return run_retention(service_of(request), user, dry_run=dry_run)


@secured(router, "GET", "/api/v1/privacy/find", "identity:read", tags=["privacy"])
def find(
    request: Request,
    phone: str | None = Query(None, max_length=64),
    email: str | None = Query(None, max_length=320),
    purpose: str | None = Query(None, max_length=500),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Customer ids with this phone number or e-mail address (exact match on the blind index)."""
    from custlens.service import find_by_contact

    return {"customer_ids": find_by_contact(service_of(request), user, phone=phone, email=email, purpose=purpose)}


@secured(router, "GET", "/api/v1/audit", "audit:read", response_model=PageModel, tags=["audit"])
def audit_log(
    request: Request,
    action: str | None = Query(None, max_length=64),
    actor: str | None = Query(None, max_length=128),
    since: str | None = Query(None, max_length=40, description="ISO date or time (UTC without an offset)."),
    until: str | None = Query(None, max_length=40),
    paging: PageQuery = Depends(page_query),
    user: User = Depends(current_user),
) -> Response:
    """Audit log entries, newest first: who read personal data, exports, erasures, logins, user changes."""
    from custlens.service import audit_entries

    page = audit_entries(
        service_of(request),
        user,
        action=action,
        actor=actor,
        since=since,
        until=until,
        page=paging.page,
        page_size=paging.page_size,
    )
    return JSON(page.to_dict())


@secured(router, "GET", "/api/v1/audit/verify", "audit:read", tags=["audit"])
def audit_verify(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    """Check the audit log's hash chain: ``ok``, ``entries`` and the first ``problem``."""
    from custlens.service import verify_audit

    return verify_audit(service_of(request), user)
