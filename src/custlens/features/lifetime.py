"""The historical parts of a customer's lifetime value (客户终生价值的构成), per customer.

The course text lists what a customer's lifetime value is made of: CLV1 the first purchase
(初次购买), CLV2 repeat purchases (重复购买), CLV3 cross-selling (交叉销售), CLV4 lower
service cost (服务成本降低), CLV5 referral revenue (推荐收益) and CLV6 the value loyalty
brings (客户忠诚带来的价值) -- the parts of Reichheld & Sasser's (1990, "Zero defections",
*Harvard Business Review* 68(5)) picture of why a customer grows more profitable with time:
base profit, revenue growth, cost savings, referrals and a price premium. This module
measures the transaction and service parts a customer has realised in a window of time;
:func:`custlens.clv.value_components` adds the referral part, the costs and the future.
Every column and rule is in ``docs/features.md`` ("Lifetime-value parts").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens._frames import as_ibis
from custlens.errors import InputError
from custlens.features._base import day_of, literal_date, optional_column, require_columns
from custlens.features.coerce import typed
from custlens.features.costs import CostRates, kind_cost, load_costs, service_costs
from custlens.features.indicators import signed_lines, signed_lines_keeping
from custlens.schema import DAYS_PER_MONTH

__all__ = ["PART_COLUMNS", "value_parts", "value_parts_windows", "window_columns", "new_customer_service_rate"]

_LINE_DEFAULTS: dict[str, str | None] = {
    "amount_col": "amount",
    "order_col": None,
    "cost_col": None,
    "margin_col": None,
    "quantity_col": None,
    "return_col": "return_flag",
}

PART_COLUMNS = (
    "customer_id",
    "first_purchase_at",
    "acquired",
    "months",
    "revenue",
    "gross_profit",
    "first_purchase",
    "repeat_purchase",
    "cross_selling",
    "loyalty",
    "service_cost",
    "interactions",
    "acquisition_channel",
)
"""Columns of :func:`value_parts`, in order."""


def _lines(
    transactions: ir.Table,
    as_of: Any,
    rates: CostRates,
    names: Mapping[str, str | None],
    category_col: str | None,
    product_col: str | None,
) -> tuple[ir.Table, dt.date, bool, bool]:
    """Signed lines with their gross profit ``value``; whether categories and unit prices are known."""
    category = optional_column(transactions, category_col, "category_col", "category")
    product = optional_column(transactions, product_col, "product_col", "product_id")
    keep = tuple(c for c in (category, product) if c)
    rows, day = signed_lines_keeping(transactions, as_of, keep, names)
    margin = 1.0 if rates.gross_margin is None else rates.gross_margin
    rows = rows.mutate(
        value=rows.profit.fill_null(rows.amount * margin),
        category=rows[category].cast("string") if category else ibis.null("string"),
        product=rows[product].cast("string") if product else ibis.null("string"),
    )
    quantity = optional_column(transactions, names.get("quantity_col"), "quantity_col", "quantity")
    has_prices = product is not None and quantity is not None
    return rows, day, category is not None, has_prices


def _first_orders(rows: ir.Table) -> ir.Table:
    """``f_id, first_order, first_at, first_day``: each buyer's first purchase order.

    The first purchase order is the order of the earliest purchase line (ties: the smallest
    order id).
    """
    buys = rows.filter(~rows.is_return)
    first = buys.group_by(f_id=buys.customer_id).aggregate(first_at=buys.at.min(), first_day=buys.day.min())
    j = buys.join(first, (buys.customer_id == first.f_id) & (buys.at == first.first_at))
    return j.group_by(["f_id", "first_at", "first_day"]).aggregate(first_order=j.order_id.min())


def _reference_prices(rows: ir.Table, firsts: ir.Table, baseline_days: int) -> ir.Table:
    """``r_product, ref_price``: what new customers pay per unit of each product.

    The quantity-weighted mean unit price (Σ amount / Σ quantity) of the purchase lines
    bought by customers within their first ``baseline_days`` days (their first purchase day
    counts as day 0).
    """
    j = rows.join(firsts, rows.customer_id == firsts.f_id)
    new = j.filter(
        ~j.is_return,
        j.quantity > 0,
        j.amount > 0,
        j["product"].notnull(),
        j.day.delta(j.first_day, unit="day") < baseline_days,
    )
    agg = new.group_by(r_product=new["product"]).aggregate(amount=new.amount.sum(), units=new.quantity.sum())
    return agg.select("r_product", ref_price=agg.amount / agg.units)


def value_parts(
    transactions: Any,
    *,
    as_of: Any = None,
    since: Any = None,
    interactions: Any = None,
    customers: Any = None,
    costs: str | Path | Mapping[str, Any] | CostRates | None = None,
    baseline_months: float = 12.0,
    category_col: str | None = "category",
    product_col: str | None = "product_id",
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    cost_col: str | None = "cost",
    margin_col: str | None = "margin",
    quantity_col: str | None = "quantity",
    return_col: str | None = "return_flag",
) -> ir.Table:
    """The realised parts of each buyer's lifetime value in the window ``(since, as_of]``.

    Parameters
    ----------
    transactions
        Transaction lines (canonical names; other names by keyword). ``category`` (or
        ``category_col``) separates repeat purchases from cross-selling; ``product_id`` and
        ``quantity`` give unit prices for the loyalty premium.
    as_of
        The as-of day (inclusive); default the last transaction day.
    since
        Start of the window (exclusive); ``None`` = the whole history (historical value).
        The current value is the window of the last year: ``since = as_of - 365 days``.
    interactions
        The canonical interactions; their cost to serve (``costs``) in the window.
    customers
        The canonical customers; their ``acquisition_channel`` is carried.
    costs
        Cost configuration (:func:`custlens.features.load_costs`): cost to serve per
        interaction kind, and ``gross_margin`` for lines without margin or cost.
    baseline_months
        A customer's first ``baseline_months`` (from its first purchase) are its "new
        customer" months: their unit prices are the reference prices of the loyalty premium,
        and only purchases after them can carry one.

    Returns
    -------
    ibis.Table
        :data:`PART_COLUMNS`, one row per customer with a purchase on or before ``as_of``
        (formulas in ``docs/features.md``). A line's gross profit is its ``profit`` (margin,
        else amount - cost), else ``amount x gross_margin`` (1 when not configured, i.e.
        revenue terms). ``first_purchase + repeat_purchase + cross_selling + loyalty =
        gross_profit``.
    """
    wide = value_parts_windows(
        transactions,
        windows={"w": since},
        as_of=as_of,
        interactions=interactions,
        customers=customers,
        costs=costs,
        baseline_months=baseline_months,
        category_col=category_col,
        product_col=product_col,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        order_col=order_col,
        cost_col=cost_col,
        margin_col=margin_col,
        quantity_col=quantity_col,
        return_col=return_col,
    )
    return wide.select(*(wide[source].name(c) for source, c in zip(window_columns("w"), PART_COLUMNS)))


_WINDOW_COLUMNS = (
    "acquired",
    "months",
    "revenue",
    "gross_profit",
    "first_purchase",
    "repeat_purchase",
    "cross_selling",
    "loyalty",
    "service_cost",
    "interactions",
)
"""The columns of :data:`PART_COLUMNS` that depend on the window (the rest are the buyer's)."""


def window_columns(window: str) -> list[str]:
    """The columns of :func:`value_parts_windows` that hold window ``window``'s :data:`PART_COLUMNS`, in order."""
    return [f"{window}__{c}" if c in _WINDOW_COLUMNS else c for c in PART_COLUMNS]


def value_parts_windows(
    transactions: Any,
    *,
    windows: Mapping[str, Any],
    as_of: Any = None,
    interactions: Any = None,
    customers: Any = None,
    costs: str | Path | Mapping[str, Any] | CostRates | None = None,
    baseline_months: float = 12.0,
    category_col: str | None = "category",
    product_col: str | None = "product_id",
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    cost_col: str | None = "cost",
    margin_col: str | None = "margin",
    quantity_col: str | None = "quantity",
    return_col: str | None = "return_flag",
) -> ir.Table:
    """:func:`value_parts` of several windows in one query (one pass over the lines).

    ``windows`` maps a name to the window's ``since`` (``None`` = the whole history); the
    other parameters are :func:`value_parts`'. The historical and the current value of
    :func:`custlens.clv.value_components` are two windows of the same lines, so computing
    them together joins and reads the lines once.

    Returns
    -------
    ibis.Table
        ``customer_id, first_purchase_at, acquisition_channel`` and, for each window ``w``,
        ``w__acquired, w__months, w__revenue, ...``: the window's columns of
        :data:`PART_COLUMNS`. One row per customer with a purchase on or before ``as_of``.
    """
    if not windows:
        raise InputError("value_parts_windows: 'windows' must name at least one window")
    rates = load_costs(costs)
    transactions = as_ibis(transactions, "transactions")
    interactions = None if interactions is None else as_ibis(interactions, "interactions")
    customers = None if customers is None else as_ibis(customers, "customers")
    if (
        isinstance(baseline_months, bool)
        or not isinstance(baseline_months, (int, float))
        or not (math.isfinite(baseline_months) and baseline_months >= 0)
    ):
        raise InputError(f"'baseline_months' must be a number >= 0; got {baseline_months!r}")
    names = dict(
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        order_col=order_col,
        cost_col=cost_col,
        margin_col=margin_col,
        quantity_col=quantity_col,
        return_col=return_col,
    )
    rows, day, has_categories, has_prices = _lines(transactions, as_of, rates, names, category_col, product_col)
    starts = {w: None if since is None else _since(since, day) for w, since in windows.items()}
    baseline_days = int(round(baseline_months * DAYS_PER_MONTH))
    firsts = _first_orders(rows)
    j = rows.join(firsts, rows.customer_id == firsts.f_id)
    if has_categories:
        first_lines = j.filter((j.order_id == j.first_order) & j.category.notnull())
        cats = first_lines.select(c_id=first_lines.customer_id, c_cat=first_lines.category).distinct()
        j = j.left_join(cats, (j.customer_id == cats.c_id) & (j.category == cats.c_cat))
    if has_prices:
        refs = _reference_prices(rows, firsts, baseline_days)
        j = j.left_join(refs, j["product"] == refs.r_product)
    # every join is done: the line rules read the final table
    in_first = j.order_id == j.first_order
    new_category = (j.category.notnull() & j.c_cat.isnull()) if has_categories else ibis.literal(False)
    premium: ir.FloatingValue = ibis.literal(0.0)
    if has_prices:
        eligible = (
            ~j.is_return
            & ~in_first
            & (j.quantity > 0)
            & j.ref_price.notnull()
            & (j.day.delta(j.first_day, unit="day") >= baseline_days)
        )
        premium = ibis.ifelse(eligible, j.amount - j.ref_price * j.quantity, 0.0)
    j = j.mutate(_first=in_first, _new=new_category.fill_null(False), _premium=premium.fill_null(0.0))
    sums: dict[str, ir.Value] = {}
    for w, start in starts.items():
        inside = ibis.literal(True) if start is None else j.day > literal_date(start)
        later = inside & ~j._first
        sums[f"{w}__revenue"] = j.amount.sum(where=inside)
        sums[f"{w}__gross_profit"] = j.value.sum(where=inside)
        sums[f"{w}__first_purchase"] = j.value.sum(where=inside & j._first)
        sums[f"{w}__repeat_purchase"] = (j.value - j._premium).sum(where=later & ~j._new)
        sums[f"{w}__cross_selling"] = (j.value - j._premium).sum(where=later & j._new)
        sums[f"{w}__loyalty"] = j._premium.sum(where=later)
    agg = j.group_by(customer_id=j.customer_id.cast("string")).aggregate(
        first_purchase_at=j.first_at.min(), first_day=j.first_day.min(), **sums
    )
    as_of_lit = literal_date(day)
    derived: dict[str, ir.Value] = {}
    for w, start in starts.items():
        begin = agg.first_day if start is None else ibis.greatest(agg.first_day, literal_date(start))
        derived[f"{w}__acquired"] = ibis.literal(True) if start is None else agg.first_day > literal_date(start)
        derived[f"{w}__months"] = (as_of_lit.delta(begin, unit="day").cast("float64") / DAYS_PER_MONTH).clip(lower=0.0)
        for c in ("revenue", "gross_profit", "first_purchase", "repeat_purchase", "cross_selling", "loyalty"):
            derived[f"{w}__{c}"] = agg[f"{w}__{c}"].fill_null(0.0)
    out = agg.mutate(**derived)
    for w, start in starts.items():
        if interactions is not None:
            svc = service_costs(interactions, rates, day, since=start)
            svc = svc.select(s_id=svc.customer_id, s_cost=svc.service_cost, s_n=svc.interactions)
            out = out.left_join(svc, out.customer_id == svc.s_id).drop("s_id")
            out = out.mutate(
                **{f"{w}__service_cost": out.s_cost.fill_null(0.0), f"{w}__interactions": out.s_n.fill_null(0)}
            ).drop("s_cost", "s_n")
        else:
            out = out.mutate(
                **{f"{w}__service_cost": ibis.literal(0.0), f"{w}__interactions": ibis.literal(0, "int64")}
            )
        out = out.mutate(**{f"{w}__interactions": out[f"{w}__interactions"].cast("int64")})
    if customers is not None and "acquisition_channel" in customers.columns:
        require_columns(customers, {"customer_id": "customer_id"}, "customers")
        ch = customers.select(
            a_id=customers.customer_id.cast("string"), a_ch=customers.acquisition_channel.cast("string")
        )
        out = out.left_join(ch, out.customer_id == ch.a_id).drop("a_id").rename(acquisition_channel="a_ch")
    else:
        out = out.mutate(acquisition_channel=ibis.null("string"))
    per_window = [f"{w}__{c}" for w in starts for c in _WINDOW_COLUMNS]
    return out.select("customer_id", "first_purchase_at", "acquisition_channel", *per_window)


def _since(since: Any, as_of: dt.date) -> dt.date:
    from custlens.features.coerce import to_date

    start = to_date(since, "since")
    if start >= as_of:
        raise InputError(f"'since' ({start.isoformat()}) must be before 'as_of' ({as_of.isoformat()})")
    return start


def new_customer_service_rate(
    transactions: ir.Table,
    interactions: ir.Table | None,
    *,
    as_of: dt.date,
    costs: str | Path | Mapping[str, Any] | CostRates | None = None,
    baseline_months: float = 12.0,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
) -> ir.Table:
    """One row ``service_cost, months, rate``: what serving a new customer costs per month.

    Over every buyer's first ``baseline_months`` after its first purchase (cut at
    ``as_of``): ``service_cost`` = Σ cost to serve of the interactions dated in them,
    ``months`` = Σ of their lengths in months, ``rate = service_cost / months`` (null when
    no buyer has any such month). It is the baseline of CLV4, the lower cost of serving a
    customer as the relationship ages.
    """
    rates = load_costs(costs)
    transactions = as_ibis(transactions, "transactions")
    interactions = None if interactions is None else as_ibis(interactions, "interactions")
    baseline_days = int(round(baseline_months * DAYS_PER_MONTH))
    rows, day = signed_lines(transactions, as_of, customer_col=customer_col, date_col=date_col, **_LINE_DEFAULTS)
    buys = rows.filter(~rows.is_return)
    first = buys.group_by(f_id=buys.customer_id.cast("string")).aggregate(first_day=buys.day.min())
    as_of_lit = literal_date(day)
    span = ibis.least(as_of_lit.delta(first.first_day, unit="day"), baseline_days).cast("float64")
    exposure = first.aggregate(months=(span / DAYS_PER_MONTH).sum())
    if interactions is None:
        return exposure.mutate(service_cost=ibis.literal(0.0)).select(
            "service_cost", "months", rate=ibis.ifelse(exposure.months > 0, 0.0, ibis.null("float64"))
        )
    i = typed(interactions, dates=["occurred_at"], what="interactions")
    i = i.filter(i.customer_id.notnull(), day_of(i.occurred_at) <= as_of_lit)
    i = i.mutate(_day=day_of(i.occurred_at), _cid=i.customer_id.cast("string"))
    j = i.join(first, i._cid == first.f_id)
    early = j.filter((j._day >= j.first_day) & (j._day.delta(j.first_day, unit="day") < baseline_days))
    spent = early.aggregate(service_cost=kind_cost(early.kind, rates).sum())
    both = exposure.cross_join(spent)
    total = both.service_cost.fill_null(0.0)
    return both.select(
        service_cost=total,
        months=both.months,
        rate=ibis.ifelse(both.months > 0, total / both.months, ibis.null("float64")),
    )
