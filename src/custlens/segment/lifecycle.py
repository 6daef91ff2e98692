"""Customer lifecycle stages: acquisition, growth, maturity, decline, termination.

The stage comes from the age of the relationship, the trend of each customer's period
revenue and the own-rhythm "lost" rule of :mod:`custlens.segment.state` (the course's
考察期 / 形成期 / 稳定期 / 退化期 / 终止期). The trend is the least-squares slope of revenue
over the last ``W`` periods (x = 0 for the oldest; periods without purchases count as 0),

``slope = (W sum(x y) - sum(x) sum(y)) / (W sum(x^2) - sum(x)^2)``,

divided by the mean period revenue, so that it reads "share of a typical period gained per
period". It is computed as one aggregation per customer (no per-period table).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis

from custlens.errors import ConfigError
from custlens.segment._common import SegmentResult, as_table, check_config_keys, name_column, summarise
from custlens.segment._config import ConfigLike, load_config, load_defaults, merge
from custlens.segment._transactions import TransactionColumns, as_dates, as_of_date, customer_summary

__all__ = ["lifecycle_stage", "STAGES", "LIFECYCLE_COLUMNS"]

STAGES = ("acquisition", "growth", "maturity", "decline", "termination")
LIFECYCLE_COLUMNS = (
    "customer_id",
    "tenure_days",
    "recency_days",
    "window_revenue",
    "trend_slope",
    "relative_trend",
    "lost_after_days",
    "segment",
    "segment_zh",
)

_KEYS = ["period_days", "window_periods", "acquisition_days", "growth_slope", "decline_slope", "termination", "names"]


def _config(config: ConfigLike) -> dict[str, Any]:
    cfg = load_config("lifecycle", config)
    check_config_keys(cfg, _KEYS, "lifecycle configuration")
    check_config_keys(cfg["names"], STAGES, "[names]")
    lost = load_defaults("state")["lost"]
    check_config_keys(cfg["termination"], list(lost), "[termination]")
    cfg["termination"] = merge(lost, cfg["termination"])
    for key in ("period_days", "window_periods", "acquisition_days"):
        v = cfg[key]
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ConfigError(f"lifecycle: {key!r} must be a positive integer, got {v!r}")
    if cfg["window_periods"] < 2:
        raise ConfigError("lifecycle: 'window_periods' must be at least 2 to measure a trend")
    if not cfg["decline_slope"] <= cfg["growth_slope"]:
        raise ConfigError(
            f"lifecycle: 'decline_slope' ({cfg['decline_slope']}) must not exceed "
            f"'growth_slope' ({cfg['growth_slope']})"
        )
    return cfg


def lifecycle_stage(
    transactions: Any,
    *,
    as_of: date | str | None = None,
    columns: TransactionColumns = TransactionColumns(),
    config: ConfigLike = None,
) -> SegmentResult:
    """The lifecycle stage of every buyer at ``as_of``.

    ``customers`` columns: :data:`LIFECYCLE_COLUMNS` (``trend_slope`` in money per period,
    ``relative_trend`` = slope / mean period revenue, null without revenue in the window).
    """
    cfg = _config(config)
    tx = as_table(transactions, "transactions")
    cols = columns.resolve(tx)
    as_of_d = as_of_date(tx, cols.date, as_of)
    summ, _ = customer_summary(tx, as_of=as_of_d, columns=cols, _checked=True)
    w, pdays = cfg["window_periods"], cfg["period_days"]
    start = as_of_d - timedelta(days=w * pdays)
    t = tx.mutate(
        _cid=tx[cols.customer].cast("string"),
        _day=as_dates(tx[cols.date], cols.date),
        _amt=tx[cols.amount].cast("float64"),
    )
    t = t.filter((t._day > ibis.literal(start)) & (t._day <= ibis.literal(as_of_d)))
    k = (ibis.literal(as_of_d).delta(t._day, unit="day") // pdays).cast("int64")
    t = t.mutate(_x=(w - 1 - k).cast("float64"))
    trend = t.group_by(_tid=t._cid).aggregate(_sy=t._amt.sum(), _sxy=(t._x * t._amt).sum())
    sx = w * (w - 1) / 2.0
    sxx = (w - 1) * w * (2 * w - 1) / 6.0
    j = summ.left_join(trend, summ.customer_id == trend._tid)
    sy, sxy = j._sy.fill_null(0.0), j._sxy.fill_null(0.0)
    slope = (w * sxy - sx * sy) / (w * sxx - sx * sx)
    mean = sy / w
    lost = cfg["termination"]
    after = ibis.ifelse(
        j.avg_purchase_cycle_days.notnull(),
        ibis.greatest(j.avg_purchase_cycle_days * float(lost["cycle_multiplier"]), float(lost["floor_days"])),
        float(max(lost["single_purchase_days"], lost["floor_days"])),
    )
    j = j.mutate(
        window_revenue=sy,
        trend_slope=slope,
        relative_trend=ibis.ifelse(mean > 0, slope / mean, ibis.null().cast("float64")),
        lost_after_days=after,
    )
    stage = ibis.cases(
        (j.recency_days > j.lost_after_days, "termination"),
        (j.tenure_days < cfg["acquisition_days"], "acquisition"),
        (j.relative_trend.isnull(), "decline"),
        (j.relative_trend > float(cfg["growth_slope"]), "growth"),
        (j.relative_trend < float(cfg["decline_slope"]), "decline"),
        else_="maturity",
    )
    j = j.mutate(segment=stage).cache()  # materialised once: customers and summary read it
    j = j.mutate(segment_zh=name_column(j.segment, cfg["names"]))
    summary = summarise(j, segments=list(STAGES), names_zh=cfg["names"], value_col="revenue", orders_col="order_count")
    return SegmentResult("lifecycle", as_of_d, j.select(*LIFECYCLE_COLUMNS), summary, cfg, {"value_column": "revenue"})
