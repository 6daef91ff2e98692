"""Windowed and per-period customer features, and the one wide per-customer table.

* :func:`window_features` -- purchase orders, net revenue and net units in the last
  ``window_days`` days (RFM's frequency window);
* :func:`activity_features` -- active periods among the last ``periods`` periods of
  ``period_days`` days (the "loyal" rule of relationship states) and the least-squares trend
  of period revenue (lifecycle stages);
* :func:`customer_features` -- :func:`~custlens.features.value_indicators` with both of the
  above, computed in one pass over the transactions: the input every segmentation reads.

Formulas, units and the as-of rule are in ``docs/features.md``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import ibis.expr.types as ir

from custlens.features._base import optional_column
from custlens.features._windows import ACTIVITY_COLUMNS, WINDOW_COLUMNS, Windows, window_aggregates, window_columns
from custlens.features.indicators import build_indicators, signed_lines

__all__ = [
    "window_features",
    "activity_features",
    "customer_features",
    "WINDOW_COLUMNS",
    "ACTIVITY_COLUMNS",
    "CUSTOMER_FEATURE_COLUMNS",
]

CUSTOMER_FEATURE_COLUMNS = (*WINDOW_COLUMNS, *ACTIVITY_COLUMNS)
"""Columns :func:`customer_features` adds after those of :func:`~custlens.features.value_indicators`."""


def _names(
    customer_col: str,
    date_col: str,
    amount_col: str,
    order_col: str | None,
    quantity_col: str | None,
    return_col: str | None,
) -> dict[str, str | None]:
    return dict(
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        order_col=order_col,
        cost_col=None,
        margin_col=None,
        quantity_col=quantity_col,
        return_col=return_col,
    )


def _windowed(
    transactions: ir.Table, as_of: Any, windows: Windows, names: dict[str, str | None], keep: tuple[str, ...]
) -> ir.Table:
    rows, as_of_day = signed_lines(transactions, as_of, **names)
    agg = rows.group_by("customer_id").aggregate(**window_aggregates(rows, as_of_day, windows))
    has_quantity = optional_column(transactions, names["quantity_col"], "quantity_col", "quantity") is not None
    cols = window_columns(agg, windows, has_quantity)
    return agg.select("customer_id", **{name: cols[name] for name in keep})


def window_features(
    transactions: ir.Table,
    *,
    as_of: Any = None,
    window_days: int | None = None,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    quantity_col: str | None = "quantity",
    return_col: str | None = "return_flag",
) -> ir.Table:
    """Purchase orders, net revenue and net units in the last ``window_days`` days up to ``as_of``.

    Parameters
    ----------
    transactions
        Transaction lines (canonical columns by default; optional ones used when present).
    as_of
        The as-of day (inclusive); default: the last transaction day.
    window_days
        The window: lines dated in ``(as_of - window_days, as_of]``; ``None`` for the whole
        history (then the columns equal ``order_count``, ``revenue`` and ``quantity`` of
        :func:`~custlens.features.value_indicators`).

    Returns
    -------
    ibis.Table
        ``customer_id, window_orders`` (int64), ``window_revenue`` (float64, net of returns;
        0 without lines in the window), ``window_quantity`` (float64, net units; null without
        a quantity column): one row per customer with a line on or before ``as_of``.
    """
    names = _names(customer_col, date_col, amount_col, order_col, quantity_col, return_col)
    return _windowed(transactions, as_of, Windows(window_days=window_days), names, WINDOW_COLUMNS)


def activity_features(
    transactions: ir.Table,
    *,
    as_of: Any = None,
    period_days: int = 90,
    periods: int = 4,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    return_col: str | None = "return_flag",
) -> ir.Table:
    """Active periods and the revenue trend over the last ``periods`` periods of ``period_days`` days.

    The periods end on ``as_of``: period 0 holds the days ``(as_of - period_days, as_of]``,
    period 1 the ``period_days`` days before, and so on.

    Returns
    -------
    ibis.Table
        ``customer_id``, ``active_periods`` (int64: periods with at least one purchase),
        ``trend_revenue`` (float64: net revenue over the ``periods`` periods),
        ``trend_slope`` (float64: least-squares slope of the period revenues, money per
        period; null when ``periods`` is 1), ``relative_trend`` (float64: the slope over the
        mean period revenue; null when that mean is not positive): one row per customer
        with a line on or before ``as_of``.
    """
    names = _names(customer_col, date_col, amount_col, order_col, None, return_col)
    spec = Windows(period_days=period_days, periods=periods)
    return _windowed(transactions, as_of, spec, names, ACTIVITY_COLUMNS)


def customer_features(
    transactions: ir.Table,
    *,
    as_of: Any = None,
    receivables: ir.Table | None = None,
    interactions: ir.Table | None = None,
    customers: ir.Table | None = None,
    window_days: int | None = None,
    period_days: int = 90,
    periods: int = 4,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    cost_col: str | None = "cost",
    margin_col: str | None = "margin",
    quantity_col: str | None = "quantity",
    return_col: str | None = "return_flag",
    columns: Collection[str] | None = None,
) -> ir.Table:
    """Every per-customer feature in one table: value indicators, window and activity features.

    The columns of :func:`~custlens.features.value_indicators` (same rows, same values),
    then :data:`CUSTOMER_FEATURE_COLUMNS` as :func:`window_features` and
    :func:`activity_features` define them -- all from one aggregation of the transaction
    lines. Customers of ``customers`` without lines get 0 orders, revenue and active
    periods and null trends. The segmentation methods of :mod:`custlens.segment` read this
    table; the defaults of ``window_days``, ``period_days`` and ``periods`` are those of
    their default configurations.

    ``columns`` names the features wanted (``customer_id`` always comes first, and the
    attribute columns with ``customers``): the table then holds only those, in the usual
    order, and the engine computes only the reductions they read -- a command that needs
    three features does not pay for twenty.
    """
    return build_indicators(
        transactions,
        receivables=receivables,
        interactions=interactions,
        customers=customers,
        as_of=as_of,
        windows=Windows(window_days=window_days, period_days=period_days, periods=periods),
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        order_col=order_col,
        cost_col=cost_col,
        margin_col=margin_col,
        quantity_col=quantity_col,
        return_col=return_col,
        columns=columns,
    )
