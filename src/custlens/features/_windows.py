"""Windowed and per-period features as reductions over signed transaction lines.

The reductions are plain per-line aggregates with filters, so they can join the one
``group_by(customer_id)`` of the value indicators (:func:`customer_features` computes
everything in one pass) or run on their own (:func:`window_features`,
:func:`activity_features`). Definitions are in ``docs/features.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import InputError
from custlens.features._base import _on_duckdb, literal_date

__all__ = ["Windows", "WINDOW_COLUMNS", "ACTIVITY_COLUMNS", "window_aggregates", "window_columns"]

WINDOW_COLUMNS = ("window_orders", "window_revenue", "window_quantity")
ACTIVITY_COLUMNS = ("active_periods", "trend_revenue", "trend_slope", "relative_trend")
_MASK_PERIODS = 63
"""The most periods whose bits fit a BIGINT mask (``1 << 62`` is the largest shift that does not overflow)."""


@ibis.udf.scalar.builtin(name="bit_count", signature=((ibis.dtype("int64"),), ibis.dtype("int8")))
def _bit_count(mask: Any) -> Any:
    """DuckDB's ``bit_count``: the number of set bits of an integer."""


def _positive_int(value: object, parameter: str, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{parameter!r} must be a whole number >= 1; got {value!r}")
    return value


@dataclass(frozen=True)
class Windows:
    """The windows of the windowed features (checked on construction).

    Attributes
    ----------
    window_days
        The window of ``window_orders``/``window_revenue``/``window_quantity``: the last
        ``window_days`` days up to the as-of day; ``None`` for the whole history.
    period_days, periods
        ``periods`` consecutive periods of ``period_days`` days ending on the as-of day
        (period 0 = the newest) for ``active_periods`` and the revenue trend.
    """

    window_days: int | None = None
    period_days: int = 90
    periods: int = 4

    def __post_init__(self) -> None:
        _positive_int(self.window_days, "window_days", allow_none=True)
        _positive_int(self.period_days, "period_days")
        _positive_int(self.periods, "periods")


def window_aggregates(rows: ir.Table, as_of: dt.date, spec: Windows) -> dict[str, ir.Value]:
    """Per-customer reductions over the signed lines of :func:`transaction_lines` (``rows``)."""
    buy = ~rows.is_return
    age = literal_date(as_of).delta(rows.day, unit="day")  # days before as_of (0 on the day)
    in_window = age < spec.window_days if spec.window_days is not None else ibis.literal(True)
    period = (age // spec.period_days).cast("int64")  # 0 = newest
    in_trend = age < spec.period_days * spec.periods
    x = (spec.periods - 1 - period).cast("float64")  # 0 = oldest period of the trend
    if spec.window_days is None:  # the whole history: the same reductions as the indicators (computed once)
        orders, revenue, quantity = rows.order_id.nunique(where=buy), rows.amount.sum(), rows.quantity.sum()
    else:
        orders = rows.order_id.nunique(where=buy & in_window)
        revenue, quantity = rows.amount.sum(where=in_window), rows.quantity.sum(where=in_window)
    active = buy & in_trend
    if spec.periods <= _MASK_PERIODS and _on_duckdb(rows.day):
        # the active periods as the set bits of one OR-ed mask (bit p: period p): a plain
        # aggregate, where a distinct count keeps a set of periods per customer (DuckDB runs
        # it as an aggregation of its own: 3-4 s of `segment state`'s CPU on 10M lines). The
        # shift is clipped so that it is defined on every line; the filter keeps the window's.
        period_bits = ibis.literal(1, "int64") << period.clip(lower=0, upper=spec.periods - 1)
        activity: dict[str, ir.Value] = {"_a_mask": period_bits.bit_or(where=active)}
    else:
        activity = {"_a_periods": period.nunique(where=active)}
    return {
        "_w_orders": orders,
        "_w_revenue": revenue,
        "_w_quantity": quantity,
        **activity,
        "_t_sy": rows.amount.sum(where=in_trend),
        "_t_sxy": (x * rows.amount).sum(where=in_trend),
    }


def window_columns(agg: ir.Table, spec: Windows, has_quantity: bool) -> dict[str, ir.Value]:
    """The final window and activity columns from an aggregate holding :func:`window_aggregates`.

    The trend is the least-squares slope of the period revenues ``y`` over ``x = 0 .. W-1``
    (oldest to newest; periods without lines count 0):
    ``slope = (W sum(xy) - sum(x) sum(y)) / (W sum(x^2) - sum(x)^2)``; the relative trend is
    ``slope / (sum(y) / W)`` when the mean period revenue is positive, else null.
    """
    w = spec.periods
    sx = w * (w - 1) / 2.0
    sxx = (w - 1) * w * (2 * w - 1) / 6.0
    den = w * sxx - sx * sx
    sy, sxy = agg._t_sy.fill_null(0.0), agg._t_sxy.fill_null(0.0)
    slope = (w * sxy - sx * sy) / den if den > 0 else ibis.null().cast("float64")
    mean = sy / w
    quantity = agg._w_quantity.fill_null(0.0) if has_quantity else ibis.null().cast("float64")
    # a customer without a purchase in the periods has no mask (null) and 0 active periods
    active = _bit_count(agg._a_mask.fill_null(0)) if "_a_mask" in agg.columns else agg._a_periods
    return {
        "window_orders": agg._w_orders.cast("int64"),
        "window_revenue": agg._w_revenue.fill_null(0.0).cast("float64"),
        "window_quantity": quantity,
        "active_periods": active.cast("int64"),
        "trend_revenue": sy.cast("float64"),
        "trend_slope": slope,
        "relative_trend": ibis.ifelse(mean > 0, slope / mean, ibis.null().cast("float64")),
    }
