"""What the customer pages show: search, segment members and one customer's profile.

Each function calls one query of :mod:`custlens.service` (which applies the role's
visibility of personal data) and prepares its rows for the template: values of known
vocabularies in the page language, numbers in the page's formats.
"""

from __future__ import annotations

from typing import Any

from custlens.i18n import Translator
from custlens.web._context import PageContext, page_count

__all__ = ["customers", "members", "profile", "ORDERS"]

ORDERS = ("score_rank", "clv", "revenue", "value_at_stake", "p_alive", "recency_days", "order_count", "customer_id")
"""Orders the customer search offers; all but rank, recency and id list the largest first."""
_ASCENDING = {"score_rank", "recency_days", "customer_id"}

_MONEY = {
    "revenue", "profit", "avg_order_value", "max_order_value", "return_amount", "max_payment", "avg_payment",
    "avg_arrears", "monetary_value", "expected_spend",
}  # fmt: skip
_SHARES = {"margin_rate", "arrears_rate", "complaint_ratio", "praise_ratio", "suggestion_ratio"}
_DECIMALS = {"tenure_days", "recency_days", "avg_purchase_cycle_days", "avg_collection_days", "frequency", "recency", "T", "expected_purchases"}  # fmt: skip
_DATES = {"first_purchase_at", "last_purchase_at", "created_at"}


def _formatted(t: Translator, name: str, value: Any) -> tuple[str, bool]:
    """One indicator or attribute in the page's format, and whether it is shown as recorded.

    Money, shares, dates and counts are formatted; values of known vocabularies (region,
    industry, ...) are labelled; any other text (a city's name) is shown as recorded and
    marked so (``translate="no"`` in the page).
    """
    if name in _MONEY:
        return t.money(value, 2), False
    if name in _SHARES:
        return t.pct(value), False
    if name in _DATES:
        return t.date(value), False
    if isinstance(value, bool):
        return t(f"bool.{str(value).lower()}"), False
    if name in _DECIMALS and isinstance(value, float) and value != int(value):
        return t.num(value, 1), False
    if isinstance(value, (int, float)):
        return t.num(value), False
    label = t.value(name, value)
    return label, t.lang == "zh" and label == str(value)


def _detail(t: Translator, event: dict[str, Any]) -> str:
    """A timeline event's detail in the page language (order returns, payment, interaction outcome)."""
    detail = str(event.get("detail") or "")
    if event.get("kind") == "order":
        return t("timeline.with_returns") if detail else ""
    if event.get("kind") == "invoice":
        if detail.startswith("paid "):
            return t("timeline.paid", on=detail.removeprefix("paid "))
        return t("timeline.unpaid") if detail else ""
    return t.value("outcome", detail) if detail else ""


def profile(ctx: PageContext, customer_id: str) -> dict[str, Any]:
    """One customer as the user may see them (:func:`custlens.service.customer_profile`)."""
    from custlens.service import customer_profile

    t = ctx.t
    p = customer_profile(ctx.service, ctx.me, customer_id)
    if ctx.can("identity:read"):
        note = "profile.identity_missing"
    elif ctx.can("contact:read"):
        note = "profile.identity_no_consent"
    else:
        note = "profile.identity_hidden"
    return {
        "run": {"analysis_id": p["analysis_id"], "as_of": p["as_of"]},
        "p": p,
        "identity": list((p.get("identity") or {}).items()),
        "identity_note": note,
        "attributes": [(k, *_formatted(t, k, v)) for k, v in p["attributes"].items() if v is not None],
        "segments": [(m, seg, p["actions"].get(m)) for m, seg in p["segments"].items()],
        "indicators": [(k, *_formatted(t, k, v)) for k, v in p["indicators"].items() if v is not None],
        "timeline": [{**e, "detail": _detail(t, e)} for e in p["timeline"]],
    }


def customers(ctx: PageContext, *, q: str, risk_band: str, score_tier: str, order_by: str, page: int) -> dict[str, Any]:
    """Customers matching an id prefix, a risk band and a score tier (:func:`custlens.service.search_customers`)."""
    from custlens.churn import BAND_LABELS
    from custlens.scoring import DEFAULT_TIERS
    from custlens.service import search_customers

    filters = {k: v for k, v in (("risk_band", risk_band), ("score_tier", score_tier)) if v}
    found = search_customers(
        ctx.service,
        ctx.me,
        q=q or None,
        filters=filters,
        order_by=order_by,
        descending=order_by not in _ASCENDING,
        page=page,
    )
    return {
        "run": None,
        "members": found,
        "pages": page_count(found),
        "q": q,
        "risk_band": risk_band,
        "risk_bands": BAND_LABELS,
        "score_tier": score_tier,
        "score_tiers": [tier for tier, _, _ in DEFAULT_TIERS],
        "order_by": order_by,
        "orders": ORDERS,
    }


def members(ctx: PageContext, method: str, segment: str, page: int) -> dict[str, Any]:
    """The members of one segment, most important first (:func:`custlens.service.segment_members`)."""
    from custlens.service import segment_members, segment_summary

    found = segment_members(ctx.service, ctx.me, method, segment, page=page)
    summary = segment_summary(ctx.service, ctx.me, method)
    names = {r["segment"]: ctx.t.segment(r["segment"], r["segment_zh"]) for r in summary["segments"]}
    run = {"analysis_id": summary["analysis_id"], "as_of": summary["as_of"]}
    return {"run": run, "members": found, "pages": page_count(found), "method": method, "name": names[segment]}
