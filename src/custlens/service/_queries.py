"""What the API and the pages ask of a stored analysis and the warehouse, one function each.

Every function takes the user it answers for and applies the role's visibility (personal
data only where :func:`custlens.access.visible_identity_fields` allows it); none computes a
statistic: they read the stored analysis and the canonical tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from custlens.errors import InputError, NotFoundError, did_you_mean

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from custlens.access import User
    from custlens.service._service import Service

__all__ = ["Page", "page_of", "customer_profile", "search_customers", "segment_members", "MAX_PAGE_SIZE"]

MAX_PAGE_SIZE = 500
ATTRIBUTE_COLUMNS = (
    "customer_type",
    "region",
    "city",
    "industry",
    "company_size",
    "gender",
    "age_band",
    "acquisition_channel",
    "created_at",
    "consent_marketing",
    "consent_profiling",
)


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


def _check_page(page: int, page_size: int) -> None:
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InputError(f"'page' must be a whole number >= 1; got {page!r}")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputError(f"'page_size' must be a whole number from 1 to {MAX_PAGE_SIZE}; got {page_size!r}")


def page_of(expr: ir.Table, *, page: int, page_size: int, order_by: Sequence[Any]) -> Page:
    """Rows ``(page - 1) * page_size`` onward of ``expr`` in ``order_by`` order, and the total."""
    _check_page(page, page_size)
    total = int(expr.count().to_pyarrow().as_py())
    rows = expr.order_by(list(order_by)).limit(page_size, offset=(page - 1) * page_size).to_pyarrow().to_pylist()
    return Page(rows, page, page_size, total)


def _identity(service: Service, user: User, customer_id: str, consent: bool | None) -> dict[str, Any] | None:
    from custlens.access import visible_identity_fields

    fields = visible_identity_fields(user.role, consent_marketing=consent)
    if not fields:
        return None
    t = service.table("identity")
    rows = t.filter(t.customer_id == customer_id).select(*fields).limit(1).to_pyarrow().to_pylist()
    return rows[0] if rows else dict.fromkeys(fields)


def _timeline(service: Service, customer_id: str, limit: int) -> list[dict[str, Any]]:
    """The customer's latest orders, interactions and invoices, newest first."""
    import ibis

    tx = service.table("transactions")
    tx = tx.filter(tx.customer_id == customer_id)
    orders = tx.group_by("order_id").aggregate(
        at=tx.ordered_at.min(),
        amount=tx.amount.sum(),
        lines=tx.count(),
        returned=tx.return_flag.any(),
    )
    orders = orders.select(
        kind=ibis.literal("order"),
        at=orders.at,
        reference=orders.order_id,
        detail=ibis.ifelse(orders.returned, "with returns", ""),
        amount=orders.amount,
    )
    it = service.table("interactions")
    it = it.filter(it.customer_id == customer_id)
    interactions = it.select(
        kind=it.kind,
        at=it.occurred_at,
        reference=it.interaction_id,
        detail=it.outcome.fill_null(""),
        amount=ibis.null().cast("float64"),
    )
    rv = service.table("receivables")
    rv = rv.filter(rv.customer_id == customer_id)
    invoices = rv.select(
        kind=ibis.literal("invoice"),
        at=rv.issued_on.cast("timestamp('UTC')"),
        reference=rv.invoice_id,
        detail=ibis.ifelse(rv.paid_on.isnull(), "unpaid", "paid " + rv.paid_on.cast("string")),
        amount=rv.amount,
    )
    events = orders.union(interactions).union(invoices)
    return events.order_by([ibis.desc("at"), "reference"]).limit(limit).to_pyarrow().to_pylist()


def customer_profile(
    service: Service, user: User, customer_id: str, *, analysis_id: str | None = None, timeline: int = 50
) -> dict[str, Any]:
    """One customer as the user may see them.

    Returns
    -------
    dict
        ``customer_id``, ``analysis_id``, ``as_of``, ``attributes`` (the customers table),
        ``indicators`` (value indicators and purchase history), ``segments`` (method ->
        ``{segment, segment_zh}``), ``clv``, ``p_alive``, ``churn`` (risk band, overdue
        ratio, expected next order, value at stake), ``score``, ``actions`` (the playbook's
        action for each segment), ``timeline`` (latest orders, interactions and invoices)
        and, only where the role may see it, ``identity``.

    Raises
    ------
    NotFoundError
        When the analysis has no customer with that id.
    """
    from custlens.access import check
    from custlens.analysis import CHURN_COLUMNS, CLV_COLUMNS, SCORE_COLUMNS

    check(user.role, "customers:read")
    analysis = service.analysis(analysis_id)
    stored = analysis.customer(str(customer_id))
    row = stored["customer"]
    c = service.table("customers")
    attrs = c.filter(c.customer_id == str(customer_id)).to_pyarrow().to_pylist()
    attributes = {k: attrs[0].get(k) for k in ATTRIBUTE_COLUMNS if k in attrs[0]} if attrs else {}
    skip = {"customer_id", *CLV_COLUMNS, *CHURN_COLUMNS, *SCORE_COLUMNS}
    segments = {
        m: ({"segment": s["segment"], "segment_zh": s["segment_zh"]} if s else None)
        for m, s in stored["segments"].items()
    }
    actions: dict[str, Any] = {}
    if analysis.has_result("playbook"):
        for action in analysis.result("playbook").to_pylist():
            seg = segments.get(str(action.get("scheme")))
            if seg and seg["segment"] == action.get("segment"):
                actions[str(action["scheme"])] = {k: v for k, v in action.items() if k not in ("scheme", "customers")}
    profile: dict[str, Any] = {
        "customer_id": str(customer_id),
        "analysis_id": analysis.analysis_id,
        "as_of": analysis.as_of.isoformat(),
        "attributes": attributes,
        "indicators": {k: v for k, v in row.items() if k not in skip},
        "segments": segments,
        "clv": row.get("clv"),
        "p_alive": row.get("p_alive"),
        "churn": {k: row.get(k) for k in CHURN_COLUMNS},
        "score": {k: row.get(k) for k in SCORE_COLUMNS},
        "actions": actions,
        "timeline": _timeline(service, str(customer_id), timeline),
    }
    identity = _identity(service, user, str(customer_id), attributes.get("consent_marketing"))
    if identity is not None:
        profile["identity"] = identity
    return profile


_SORTABLE = ("customer_id", "clv", "revenue", "order_count", "recency_days", "score_rank", "value_at_stake", "p_alive")


def search_customers(
    service: Service,
    user: User,
    *,
    analysis_id: str | None = None,
    q: str | None = None,
    filters: Mapping[str, Any] | None = None,
    segment: tuple[str, str] | None = None,
    order_by: str = "score_rank",
    descending: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """Customers of a stored analysis matching an id prefix, attribute filters and a segment.

    Parameters
    ----------
    q
        A customer-id prefix.
    filters
        Exact values of the customers' attributes (``region``, ``customer_type``, ...) or of
        the stored ``risk_band`` / ``score_tier``.
    segment
        ``(method, segment)``: only members of that segment.
    order_by, descending
        One of ``customer_id, clv, revenue, order_count, recency_days, score_rank,
        value_at_stake, p_alive``.
    """
    import ibis

    from custlens.access import check

    check(user.role, "customers:read")
    if order_by not in _SORTABLE:
        raise InputError(
            f"'order_by' must be one of {', '.join(_SORTABLE)}; got {order_by!r}{did_you_mean(order_by, _SORTABLE)}"
        )
    analysis = service.analysis(analysis_id)
    c = analysis.customers()
    cols = [
        "customer_id",
        "order_count",
        "revenue",
        "recency_days",
        "clv",
        "p_alive",
        "risk_band",
        "value_at_stake",
        "score_rank",
        "score_tier",
    ]
    t = c.select(*cols)
    attrs = service.table("customers")
    wanted = dict(filters or {})
    attr_filters = {k: v for k, v in wanted.items() if k in ATTRIBUTE_COLUMNS}
    own_filters = {k: v for k, v in wanted.items() if k in ("risk_band", "score_tier")}
    unknown = [k for k in wanted if k not in attr_filters and k not in own_filters]
    if unknown:
        known = [*ATTRIBUTE_COLUMNS, "risk_band", "score_tier"]
        raise InputError(
            f"cannot filter on {unknown[0]!r}{did_you_mean(unknown[0], known)}; filters: {', '.join(known)}"
        )
    a = attrs.select("customer_id", "customer_type", "region")
    a = a.rename(_aid="customer_id")
    t = t.left_join(a, t.customer_id == a._aid).drop("_aid")
    for key, value in own_filters.items():
        t = t.filter(t[key] == value)
    if attr_filters:
        keep = attrs
        for key, value in attr_filters.items():
            keep = keep.filter(keep[key].cast("string") == str(value))
        ids = keep.select(_fid=keep.customer_id)
        t = t.semi_join(ids, t.customer_id == ids._fid)
    if q:
        t = t.filter(t.customer_id.startswith(str(q)))
    if segment is not None:
        method, name = segment
        members = analysis.segments(method)
        members = members.filter(members.segment == name).select(_mid=members.customer_id)
        t = t.semi_join(members, t.customer_id == members._mid)
    key = t[order_by]
    return page_of(t, page=page, page_size=page_size, order_by=[ibis.desc(key) if descending else key, t.customer_id])


def segment_members(
    service: Service,
    user: User,
    method: str,
    segment: str,
    *,
    analysis_id: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """The members of one segment, most important first (by the stored score rank).

    Raises
    ------
    NotFoundError
        When the analysis has no such segmentation or segment (the message lists them).
    """
    from custlens.access import check

    check(user.role, "segments:read")
    analysis = service.analysis(analysis_id)
    names = analysis.segment_summary(method)["segment"].to_pylist()
    if segment not in names:
        raise NotFoundError(
            f"{method} has no segment {segment!r}{did_you_mean(segment, names)} (segments: {', '.join(names)})"
        )
    return search_customers(
        service, user, analysis_id=analysis.analysis_id, segment=(method, segment), page=page, page_size=page_size
    )
