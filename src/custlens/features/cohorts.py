"""Per-period customer values and first-purchase cohorts.

:func:`period_values` gives each customer's orders, revenue and profit per active period
(the input of lifecycle stages); :func:`cohort_table` groups customers by the period of
their first purchase and follows each cohort's activity in the periods after it;
:func:`cohort_triangle` pivots that to the classic triangle.
"""

from __future__ import annotations

from typing import Any, Literal

import ibis.expr.types as ir

from custlens.errors import InputError
from custlens.features._base import period_index, period_start, renamed
from custlens.features.indicators import signed_lines
from custlens.schema import check_time_unit

__all__ = ["period_values", "cohort_table", "cohort_triangle", "COHORT_MEASURES"]

COHORT_MEASURES = ("active_customers", "revenue", "retention")


def _lines(transactions: ir.Table, as_of: Any, names: dict[str, Any]) -> ir.Table:
    return signed_lines(transactions, as_of, **names)[0]


def _unit(time_unit: str | None, freq: str | None, default: str) -> str:
    return check_time_unit(renamed(time_unit, freq, name="time_unit", alias="freq", default=default, stacklevel=4))


def _names(
    customer_col: str,
    date_col: str,
    amount_col: str,
    order_col: str | None,
    cost_col: str | None,
    margin_col: str | None,
    return_col: str | None,
) -> dict[str, Any]:
    return dict(
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        order_col=order_col,
        cost_col=cost_col,
        margin_col=margin_col,
        quantity_col=None,
        return_col=return_col,
    )


def period_values(
    transactions: ir.Table,
    *,
    time_unit: str | None = None,
    as_of: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    cost_col: str | None = "cost",
    margin_col: str | None = "margin",
    return_col: str | None = "return_flag",
    freq: str | None = None,
) -> ir.Table:
    """Orders, revenue and profit per customer and active period up to ``as_of``.

    Periods are days, ISO weeks or calendar months (``time_unit`` ``"D"``, ``"W"``, ``"M"``,
    default ``"M"``); ``freq`` is the deprecated old name of ``time_unit``.

    Returns
    -------
    ibis.Table
        ``customer_id, period_start`` (date: the day, the Monday or the 1st of the month),
        ``orders`` (int64: distinct purchase orders, returns excluded), ``revenue``
        (float64: net of returns), ``profit`` (float64: margin, else amount - cost, else
        null). One row per customer and period with at least one line (purchase or
        return); a period with only returns has ``orders == 0``.
    """
    unit = _unit(time_unit, freq, "M")
    rows = _lines(
        transactions, as_of, _names(customer_col, date_col, amount_col, order_col, cost_col, margin_col, return_col)
    )
    rows = rows.mutate(period_start=period_start(rows.day, unit))
    agg = rows.group_by(["customer_id", "period_start"]).aggregate(
        orders=rows.order_id.nunique(where=~rows.is_return),
        revenue=rows.amount.sum(),
        profit=rows.profit.sum(),
        n_profit=rows.profit.count(),
    )
    return agg.select(
        "customer_id",
        "period_start",
        orders=agg.orders.cast("int64"),
        revenue=agg.revenue,
        profit=(agg.n_profit > 0).ifelse(agg.profit, None).cast("float64"),
    )


def cohort_table(
    transactions: ir.Table,
    *,
    time_unit: str | None = None,
    as_of: Any = None,
    value: Literal["customers", "revenue"] = "customers",
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    return_col: str | None = "return_flag",
    freq: str | None = None,
) -> ir.Table:
    """First-purchase cohorts followed over the periods after their first purchase.

    A customer's cohort is the period of the first purchase (return lines do not count);
    the customer is active in a period with at least one purchase.

    Parameters
    ----------
    time_unit
        Period: ``"M"`` calendar months (default), ``"W"`` ISO weeks, ``"D"`` days
        (``freq`` is its deprecated old name).
    value
        What ``retention`` measures: ``"customers"`` -- active customers / cohort size;
        ``"revenue"`` -- the cohort's revenue in the period / its revenue in period 0.

    Returns
    -------
    ibis.Table
        ``cohort`` (date: first day of the first-purchase period), ``period_index``
        (int64: 0 for the cohort's own period), ``active_customers`` (int64),
        ``revenue`` (float64: net revenue of the cohort's customers in the period),
        ``cohort_size`` (int64), ``retention`` (float64).
    """
    unit = _unit(time_unit, freq, "M")
    if value not in ("customers", "revenue"):
        raise InputError(f"'value' must be 'customers' or 'revenue'; got {value!r}")
    rows = _lines(transactions, as_of, _names(customer_col, date_col, amount_col, order_col, None, None, return_col))
    rows = rows.mutate(period=period_index(rows.day, unit), start=period_start(rows.day, unit))
    buys = rows.filter(~rows.is_return)
    first = (
        buys.group_by("customer_id")
        .aggregate(first_period=buys.period.min(), cohort=buys.start.min())
        .rename(first_id="customer_id")
    )
    j = rows.inner_join(first, rows.customer_id == first.first_id)
    j = j.mutate(period_index=(j.period - j.first_period).cast("int64"))
    j = j.filter(j.period_index >= 0)  # returns booked before the first purchase
    cells = j.group_by(["cohort", "period_index"]).aggregate(
        active_customers=j.customer_id.nunique(where=~j.is_return),
        revenue=j.amount.sum(),
    )
    sizes = first.group_by("cohort").aggregate(cohort_size=first.count()).rename(size_cohort="cohort")
    base = cells.filter(cells.period_index == 0).select(base_cohort="cohort", base_revenue="revenue")
    c = cells.inner_join(sizes, cells.cohort == sizes.size_cohort).left_join(base, cells.cohort == base.base_cohort)
    if value == "customers":
        retention = c.active_customers.cast("float64") / c.cohort_size.cast("float64")
    else:
        retention = (c.base_revenue != 0).ifelse(c.revenue / c.base_revenue, None)
    return c.select(
        "cohort",
        "period_index",
        active_customers=c.active_customers.cast("int64"),
        revenue=c.revenue,
        cohort_size=c.cohort_size.cast("int64"),
        retention=retention.cast("float64"),
    )


def cohort_triangle(
    cohorts: Any, measure: str = "retention", time_unit: str | None = None, *, freq: str | None = None
) -> Any:
    """Pivot a cohort table to the triangle: one row per cohort, one column per period index.

    Parameters
    ----------
    cohorts
        The result of :func:`cohort_table` (Ibis expression, pandas, polars or Arrow).
    measure
        ``"retention"``, ``"active_customers"`` or ``"revenue"``.
    time_unit
        The ``time_unit`` the table was built with (default ``"M"``); it places each
        cohort's last observable period. ``freq`` is its deprecated old name.

    Returns
    -------
    pandas.DataFrame
        Indexed by cohort, columns ``0, 1, ...``. A period the data covers but in which
        no cohort member was active holds 0; periods after the last observed period (the
        lower-right corner of the triangle) hold NaN.
    """
    import numpy as np
    import pandas as pd

    unit = _unit(time_unit, freq, "M")
    if measure not in COHORT_MEASURES:
        raise InputError(f"'measure' must be one of {', '.join(COHORT_MEASURES)}; got {measure!r}")
    if hasattr(cohorts, "to_pandas"):
        frame = cohorts.to_pandas()
    else:
        frame = cohorts if isinstance(cohorts, pd.DataFrame) else pd.DataFrame(cohorts)
    triangle = frame.pivot(index="cohort", columns="period_index", values=measure)
    triangle = triangle.sort_index().sort_index(axis=1)
    if triangle.empty:
        return triangle
    starts = pd.to_datetime(pd.Series(triangle.index))
    if unit == "M":
        index = (starts.dt.year * 12 + starts.dt.month).to_numpy()
    else:
        days = (starts - pd.Timestamp("1970-01-05")).dt.days.to_numpy()
        index = days // 7 if unit == "W" else days
    last = int(np.max(index + frame.groupby("cohort")["period_index"].max().reindex(triangle.index).to_numpy()))
    width = int(last - index.min())
    triangle = triangle.reindex(columns=range(width + 1))
    observable = np.arange(width + 1)[None, :] <= (last - index)[:, None]
    values = triangle.to_numpy(dtype=float)
    values = np.where(observable, np.nan_to_num(values, nan=0.0), np.nan)
    result = pd.DataFrame(values, index=triangle.index, columns=triangle.columns)
    result.columns.name = "period_index"
    return result
