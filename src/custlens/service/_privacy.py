"""The data-protection operations of the running service (``privacy:manage``, ``audit:read``).

Each wraps one function of :mod:`custlens.privacy` for one user: the permission is checked,
the actor recorded as ``api:<user>``, writes run under the service's write lock and the
caches renew afterwards. Erasure from the running service does not compact the database
file (that would invalidate the readers); run ``custlens privacy erase`` while the service
is stopped, or ``VACUUM`` later, to make sure no freed page keeps an old value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custlens.service._queries import Page, list_page

if TYPE_CHECKING:
    from custlens.access import User
    from custlens.service._service import Service

__all__ = [
    "erase_customer",
    "export_customer_data",
    "correct_customer",
    "run_retention",
    "find_by_contact",
    "audit_entries",
    "verify_audit",
]


def _actor(user: User) -> str:
    return f"api:{user.username}"


def erase_customer(service: Service, user: User, customer_id: str, *, purpose: str | None = None) -> dict[str, Any]:
    """Erase one person (right to erasure): what was touched, as :meth:`ErasureReport.to_dict`."""
    from custlens.access import check
    from custlens.privacy import erase

    check(user.role, "privacy:manage")
    key = service.identity_key()
    with service.write_lock:
        report = erase(
            service.workspace,
            customer_id,
            key=key,
            actor=_actor(user),
            purpose=purpose,
            compact=False,
        )
    service.changed(analyses=True)
    return report.to_dict()


def export_customer_data(
    service: Service, user: User, customer_id: str, *, purpose: str | None = None
) -> dict[str, Any]:
    """Everything held about one person (right of access), as plain data."""
    from custlens.access import check
    from custlens.privacy import export_person

    check(user.role, "privacy:manage")
    return export_person(
        service.workspace, customer_id, key=service.identity_key(), actor=_actor(user), purpose=purpose
    )


def correct_customer(
    service: Service, user: User, customer_id: str, changes: dict[str, str | None], *, reason: str | None = None
) -> dict[str, Any]:
    """Correct identity fields (right to rectification), keeping the old values as history."""
    from custlens.access import check
    from custlens.privacy import correct

    check(user.role, "privacy:manage")
    key = service.identity_key()
    with service.write_lock:
        done = correct(service.workspace, customer_id, changes, key=key, actor=_actor(user), reason=reason)
    service.changed()
    return done


def run_retention(service: Service, user: User, *, dry_run: bool = False) -> dict[str, Any]:
    """Delete or anonymise rows past their storage period (or count them with ``dry_run``)."""
    from custlens.access import check
    from custlens.privacy import apply_retention

    check(user.role, "privacy:manage")
    with service.write_lock:
        report = apply_retention(service.workspace, dry_run=dry_run, actor=_actor(user))
    if not dry_run:
        service.changed(analyses=True)
    return report.to_dict()


def find_by_contact(
    service: Service, user: User, *, phone: str | None = None, email: str | None = None, purpose: str | None = None
) -> list[str]:
    """Customer ids with this phone or e-mail (blind index; ``identity:read``)."""
    from custlens.access import check
    from custlens.privacy import find_customers

    check(user.role, "identity:read")
    key = service.identity_key()
    if key is None:
        return []
    return find_customers(
        service.workspace,
        phone=phone,
        email=email,
        key=key,
        actor=_actor(user),
        purpose=purpose,
        connection=service.cursor(),
    )


def audit_entries(
    service: Service,
    user: User,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """Entries of the audit log, newest first, filtered (``audit:read``)."""
    from custlens.access import check
    from custlens.privacy import audit

    check(user.role, "audit:read")
    rows = list(audit.show(service.workspace, action=action, actor=actor, since=since, until=until))
    return list_page(list(reversed(rows)), page=page, page_size=page_size)


def verify_audit(service: Service, user: User) -> dict[str, Any]:
    """Check the audit log's hash chain: ``ok``, ``entries`` and the first ``problem`` found."""
    from custlens.access import check
    from custlens.privacy import audit

    check(user.role, "audit:read")
    result = audit.verify(service.workspace)
    return {"ok": bool(result.ok), "entries": int(result.entries), "problem": result.problem}
