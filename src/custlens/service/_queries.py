"""What the API and the pages ask about customers, one function each.

Every function takes the user it answers for, checks the permission and applies the
role's visibility (personal data only where :func:`custlens.access.visible_identity_fields`
allows it); none computes a statistic: they read the stored analysis and the canonical
tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from custlens.errors import InputError, NotFoundError, did_you_mean

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from custlens.access import User
    from custlens.service._service import Service

__all__ = [
    "Page",
    "page_of",
    "plain",
    "customer_identity",
    "customer_profile",
    "customer_fields",
    "search_customers",
    "count_customers",
    "MAX_PAGE_SIZE",
    "SORTABLE",
]

MAX_PAGE_SIZE = 500
SORTABLE = ("customer_id", "clv", "revenue", "order_count", "recency_days", "score_rank", "value_at_stake", "p_alive")
"""Columns a customer list can be ordered by."""


@dataclass(frozen=True)
class Page:
    """One page of a list: ``items`` and where they sit in the whole (``total`` rows)."""

    items: list[dict[str, Any]]
    page: int
    page_size: int
    total: int

    def to_dict(self) -> dict[str, Any]:
        """Plain form: ``items, page, page_size, total``."""
        return {"items": self.items, "page": self.page, "page_size": self.page_size, "total": self.total}


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dates as ISO text, NaN and infinities as ``None``."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most values: nothing to do
        return value
    if kind is dict:
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def check_page(page: int, page_size: int) -> None:
    """Raise :class:`InputError` unless ``page >= 1`` and ``1 <= page_size <= MAX_PAGE_SIZE``."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InputError(f"'page' must be a whole number >= 1; got {page!r}")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputError(f"'page_size' must be a whole number from 1 to {MAX_PAGE_SIZE}; got {page_size!r}")


def page_of(expr: ir.Table, *, page: int, page_size: int, order_by: Sequence[Any]) -> Page:
    """Rows ``(page - 1) * page_size`` onward of ``expr`` in ``order_by`` order, and the total."""
    check_page(page, page_size)
    total = int(expr.count().to_pyarrow().as_py())
    rows = expr.order_by(list(order_by)).limit(page_size, offset=(page - 1) * page_size).to_pyarrow().to_pylist()
    return Page(plain(rows), page, page_size, total)


def list_page(rows: Sequence[Any], *, page: int, page_size: int) -> Page:
    """A page of a list already in memory."""
    check_page(page, page_size)
    start = (page - 1) * page_size
    return Page(plain(list(rows[start : start + page_size])), page, page_size, len(rows))


def _fetch(service: Service, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows of a parameterised query on this thread's cursor (times already text in the SQL)."""
    result = service.cursor().execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def _identity(service: Service, user: User, customer_id: str, consent: bool | None) -> dict[str, Any] | None:
    """The personal fields the user may see, decrypted; the read goes to the audit log."""
    from custlens.access import visible_identity_fields
    from custlens.privacy import read_identity

    fields = visible_identity_fields(user.role, consent_marketing=consent)
    if not fields:
        return None
    key = service.identity_key()
    if key is None:  # no key was ever made, so the workspace holds no personal data
        return dict.fromkeys(fields)
    found = read_identity(
        service.workspace,
        [customer_id],
        fields,
        key=key,
        actor=f"api:{user.username}",
        purpose="customer profile",
        connection=service.cursor(),
    )
    return found.get(customer_id, dict.fromkeys(fields))


def customer_identity(service: Service, user: User, customer_id: str) -> dict[str, Any] | None:
    """The personal fields of one customer the user may see, decrypted (permission ``customers:read``).

    ``None`` when the role may see none (``analyst``; ``marketing`` for a customer who did
    not consent to marketing). A read of personal data goes to the audit log and returns
    once its entry is on disk. :func:`customer_profile` includes it as ``identity``.
    """
    from custlens.access import check

    check(user.role, "customers:read")
    customer_id = str(customer_id)
    consent = service.canonical().attributes_of(customer_id).get("consent_marketing")
    identity = _identity(service, user, customer_id, consent)
    return None if identity is None else plain(identity)


def customer_profile(
    service: Service,
    user: User,
    customer_id: str,
    *,
    analysis_id: str | None = None,
    timeline: int = 50,
    identity: bool = True,
) -> dict[str, Any]:
    """One customer as the user may see them (permission ``customers:read``).

    ``identity=False`` leaves the personal data out (no DuckDB read, no audit entry): the
    API then asks :func:`customer_identity` separately, so that the rest, answered from
    memory, is read on its event loop.

    Returns
    -------
    dict
        ``customer_id``, ``analysis_id``, ``as_of``, ``attributes`` (the customers table),
        ``indicators`` (value indicators and purchase history), ``segments`` (method ->
        ``{segment, segment_zh}``), ``clv``, ``p_alive``, ``churn`` (risk band, overdue
        ratio, expected next order, value at stake), ``score``, ``actions`` (the playbook's
        action for each segment), ``timeline`` (latest orders, interactions and invoices,
        at most ``timeline``) and, only where the role may see it, ``identity``.

    Raises
    ------
    NotFoundError
        When the analysis has no customer with that id.
    """
    from custlens.access import check
    from custlens.analysis import CHURN_COLUMNS, CLV_COLUMNS, SCORE_COLUMNS

    check(user.role, "customers:read")
    if isinstance(timeline, bool) or not isinstance(timeline, int) or not 0 <= timeline <= MAX_PAGE_SIZE:
        raise InputError(f"'timeline' must be a whole number from 0 to {MAX_PAGE_SIZE}; got {timeline!r}")
    customer_id = str(customer_id)
    lookup = service.lookup(analysis_id)
    row = lookup.row(customer_id)
    if row is None:
        raise NotFoundError(f"analysis {lookup.analysis_id} has no customer {customer_id!r}")
    analysis = service.analysis(lookup.analysis_id)
    canonical = service.canonical()
    attributes = canonical.attributes_of(customer_id)
    segments = lookup.segments_of(customer_id)
    skip = {"customer_id", "customer_type", "region", *CLV_COLUMNS, *CHURN_COLUMNS, *SCORE_COLUMNS}
    profile: dict[str, Any] = {
        "customer_id": customer_id,
        "analysis_id": analysis.analysis_id,
        "as_of": analysis.as_of.isoformat(),
        "attributes": attributes,
        "indicators": {k: v for k, v in row.items() if k not in skip},
        "segments": segments,
        "clv": row.get("clv"),
        "p_alive": row.get("p_alive"),
        "churn": {k: row.get(k) for k in CHURN_COLUMNS},
        "score": {k: row.get(k) for k in SCORE_COLUMNS},
        "actions": {
            m: lookup.actions[(m, seg["segment"])]
            for m, seg in segments.items()
            if seg is not None and (m, seg["segment"]) in lookup.actions
        },
        "timeline": canonical.timeline(customer_id, timeline),
    }
    if identity:
        found = _identity(service, user, customer_id, attributes.get("consent_marketing"))
        if found is not None:
            profile["identity"] = found
    return plain(profile)


def customer_fields(service: Service, user: User, *, analysis_id: str | None = None) -> list[dict[str, str]]:
    """The columns a filter or a rule may name, with their types (permission ``customers:read``).

    The stored per-customer outputs of the analysis and the attributes of the customers
    table; the dashboard's rule builder lists them.
    """
    from custlens.access import check

    check(user.role, "customers:read")
    table = _rule_table(service, analysis_id)
    return [{"name": name, "type": str(dtype)} for name, dtype in table.schema().items()]


def _rule_table(service: Service, analysis_id: str | None) -> ir.Table:
    """The stored per-customer table joined with the customers' attributes."""
    stored = service.analysis(analysis_id).customers()
    attrs = service.table("customers")
    extra = [c for c in attrs.columns if c not in stored.columns]
    a = attrs.select(*extra, _aid=attrs.customer_id)
    joined = stored.left_join(a, stored.customer_id == a._aid)
    return joined.drop("_aid")


def _filtered(
    service: Service,
    *,
    analysis_id: str | None,
    q: str | None,
    filters: Mapping[str, Any] | None,
    segment: tuple[str, str] | None,
    rule: str | None,
) -> ir.Table:
    from custlens.segment import compile_rule

    t = _rule_table(service, analysis_id)
    for key, value in dict(filters or {}).items():
        if key not in t.columns or key == "customer_id":
            known = [c for c in t.columns if c != "customer_id"]
            raise InputError(f"cannot filter on {key!r}{did_you_mean(key, known)}; filters: {', '.join(known)}")
        t = t.filter(t[key].isnull() if value is None else t[key].cast("string") == str(value))
    if q:
        t = t.filter(t.customer_id.startswith(str(q)))
    if segment is not None:
        method, name = segment
        members = service.analysis(analysis_id).segments(method)
        members = members.filter(members.segment == name).select(_mid=members.customer_id)
        t = t.semi_join(members, t.customer_id == members._mid)
    if rule:
        t = t.filter(compile_rule(rule, t, name="rule"))
    return t


def search_customers(
    service: Service,
    user: User,
    *,
    analysis_id: str | None = None,
    q: str | None = None,
    filters: Mapping[str, Any] | None = None,
    segment: tuple[str, str] | None = None,
    rule: str | None = None,
    order_by: str = "score_rank",
    descending: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """Customers of a stored analysis matching an id prefix, filters, a segment and a rule.

    Permission ``customers:read``. Items hold :data:`custlens.service.LIST_COLUMNS`.

    Parameters
    ----------
    q
        A customer-id prefix.
    filters
        Exact values of columns of the stored per-customer table (``risk_band``,
        ``score_tier``, ...) or of the customers' attributes (``region``,
        ``customer_type``, ...); ``None`` matches a missing value.
    segment
        ``(method, segment)``: only members of that segment.
    rule
        A condition in the rule language of :func:`custlens.segment.compile_rule` over the
        same columns, e.g. ``revenue > 1000 and region = 'east'``.
    order_by, descending
        One of :data:`SORTABLE`.
    """
    import ibis

    from custlens.access import check
    from custlens.service._lookup import LIST_COLUMNS

    check(user.role, "customers:read")
    if order_by not in SORTABLE:
        raise InputError(
            f"'order_by' must be one of {', '.join(SORTABLE)}; got {order_by!r}{did_you_mean(order_by, SORTABLE)}"
        )
    check_page(page, page_size)
    t = _filtered(service, analysis_id=analysis_id, q=q, filters=filters, segment=segment, rule=rule)
    t = t.select(*LIST_COLUMNS)
    key = ibis.desc(t[order_by]) if descending else t[order_by]
    order = [key] if order_by == "customer_id" else [key, t.customer_id]
    return page_of(t, page=page, page_size=page_size, order_by=order)


def count_customers(
    service: Service,
    user: User,
    *,
    analysis_id: str | None = None,
    q: str | None = None,
    filters: Mapping[str, Any] | None = None,
    segment: tuple[str, str] | None = None,
    rule: str | None = None,
) -> dict[str, Any]:
    """How many customers match (the rule builder's live count); permission ``customers:read``.

    Returns
    -------
    dict
        ``analysis_id``, ``customers`` (matching), ``of`` (customers in the analysis).
    """
    from custlens.access import check

    check(user.role, "customers:read")
    analysis = service.analysis(analysis_id)
    t = _filtered(service, analysis_id=analysis.analysis_id, q=q, filters=filters, segment=segment, rule=rule)
    return {
        "analysis_id": analysis.analysis_id,
        "customers": int(t.count().to_pyarrow().as_py()),
        "of": analysis.n_customers,
    }
