"""ABC classes, the customer value pyramid, the Pareto curve and concentration figures.

ABC follows the cumulative-contribution rule of inventory practice applied to customers
(e.g. Heizer & Render, *Operations Management*, ch. 12, Example 1): sort by value, take
the cumulative share, and cut at the configured shares (A up to 80 %, B up to 95 %). The
pyramid ranks customers and cuts by share of customers (top 1 % / next 4 % / next 15 % /
rest). The Gini coefficient is computed on values clipped at zero:
``G = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n`` with ``x_(i)`` ascending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import ConfigError
from custlens.segment._common import (
    SegmentResult,
    SummarySpec,
    as_ibis,
    as_of_or_none,
    check_config_keys,
    name_column,
    require_columns,
)
from custlens.segment._config import ConfigLike, load_config
from custlens.warehouse.compat import backend_name, ordered_rows

__all__ = ["abc_classes", "value_pyramid", "pareto_curve", "concentration", "ABC_COLUMNS", "PYRAMID_COLUMNS"]

ABC_COLUMNS = ("customer_id", "value", "value_rank", "cumulative_share", "segment", "segment_zh")
PYRAMID_COLUMNS = ("customer_id", "value", "value_rank", "rank_share", "segment", "segment_zh")


def _config(config: ConfigLike) -> dict[str, Any]:
    cfg = load_config("abc", config)
    check_config_keys(cfg, ["value", "class", "tier", "pareto"], "ABC configuration")
    return cfg


def _check_levels(levels: Sequence[Mapping[str, Any]], key: str, what: str) -> None:
    if not isinstance(levels, list) or len(levels) < 2:
        raise ConfigError(f"{what}: expected at least two [[{what}]] tables with 'name' and {key!r}")
    prev = 0.0
    for i, lev in enumerate(levels, start=1):
        label = f"[[{what}]] {i} ({lev.get('name')!r})" if isinstance(lev, Mapping) else f"[[{what}]] {i}"
        if not isinstance(lev, Mapping) or not isinstance(lev.get("name"), str):
            raise ConfigError(f"{label}: needs a text 'name'")
        check_config_keys(lev, ["name", "name_zh", key], label)
        cut = lev.get(key)
        if isinstance(cut, bool) or not isinstance(cut, (int, float)) or not prev < cut <= 1:
            raise ConfigError(
                f"{label}: {key!r} must be a share above the previous one ({prev:g}) and at most 1, got {cut!r}"
            )
        prev = float(cut)
    if prev != 1.0:
        raise ConfigError(f"the last [[{what}]] must have {key} = 1.0 so that every customer gets one; got {prev:g}")


def _prepare(
    features: Any, value_col: str | None, customer_col: str, cfg: Mapping[str, Any], what: str, orders_col: str | None
) -> tuple[ir.Table, str, str | None]:
    t = as_ibis(features, what)
    value_col = value_col or cfg["value"]
    require_columns(t, {"customer_col": customer_col, "value_col": value_col}, what)
    orders_col = orders_col or ("order_count" if "order_count" in t.columns else None)
    base = t.select(
        customer_id=t[customer_col].cast("string"),
        value=t[value_col].cast("float64").fill_null(0.0),
        _orders=(t[orders_col].cast("float64") if orders_col else ibis.null().cast("float64")),
    )
    return base, value_col, orders_col


def _result(
    method: str,
    out: ir.Table,
    levels: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    as_of: Any,
    cfg: Mapping[str, Any],
    details: dict[str, Any],
    orders: str | None,
) -> SegmentResult:
    names_zh = {lev["name"]: lev.get("name_zh", lev["name"]) for lev in levels}
    out = out.mutate(segment_zh=name_column(out.segment, names_zh))
    spec = SummarySpec(tuple(lev["name"] for lev in levels), names_zh, "value", "_orders" if orders else None)
    return SegmentResult(method, as_of_or_none(as_of), out, tuple(columns), spec, cfg, details)


_BY_VALUE = (("value", True), ("customer_id", False))
"""Largest value first, ties by customer id: the order of the Pareto curve and the ranks."""


def _ranked_by_value(base: ir.Table) -> ir.Table:
    """``base`` with ``value_rank`` (1 = largest, ties share the smallest), ``cumulative_share``
    (share of the positive value held by customers with a value >= this one) and ``_count``,
    computed without a window over the whole table (for Spark, :func:`ordered_rows`).

    The row positions and running sums in the order value, customer id give both: a tie
    group's rank is its first row's position, its cumulative value the running sum at its
    last row (the largest, as the summands are >= 0).
    """
    o = ordered_rows(base.mutate(_pos=ibis.greatest(base.value, 0.0)), _BY_VALUE, running="_pos")
    tie = ibis.window(group_by=o.value)  # partitioned by value: no second pass over the numbered rows
    return o.select(
        *base.columns,
        value_rank=(o._row.min().over(tie) + 1).cast("int64"),
        cumulative_share=ibis.ifelse(o._total > 0, o._running.max().over(tie) / o._total, 1.0),
        _count=o._count,
    )


def abc_classes(
    features: Any,
    *,
    value_col: str | None = None,
    customer_col: str = "customer_id",
    orders_col: str | None = None,
    as_of: date | str | None = None,
    config: ConfigLike = None,
) -> SegmentResult:
    """ABC classes by cumulative contribution to value (A up to 80 %, B up to 95 % by default).

    A customer's class is the first whose ``up_to`` is >= its cumulative share; the
    customer(s) with the largest value are always in the first class (even when they alone
    exceed its share); customers with value <= 0 are in the last class.

    ``customers`` columns: ``customer_id, value, value_rank`` (1 = largest; ties share the
    smallest rank), ``cumulative_share`` (share of total positive value held by customers
    with a value >= this one), ``segment``, ``segment_zh``.
    """
    cfg = _config(config)
    _check_levels(cfg["class"], "up_to", "class")
    base, value_col, orders = _prepare(features, value_col, customer_col, cfg, "ABC", orders_col)
    pos = ibis.greatest(base.value, 0.0)
    if backend_name(base) == "pyspark":
        t = _ranked_by_value(base).drop("_count")
    else:
        total = pos.sum().over()
        cum = pos.sum().over(ibis.window(order_by=ibis.desc(base.value), range=(None, 0)))
        share = ibis.ifelse(total > 0, cum / total, 1.0)
        t = base.mutate(
            value_rank=(ibis.rank().over(order_by=ibis.desc(base.value)) + 1).cast("int64"), cumulative_share=share
        )
    levels = cfg["class"]
    last = levels[-1]["name"]
    top = (t.value_rank == 1) & (t.value > 0)  # the largest customer(s) are always in the first class
    branches = [(top, levels[0]["name"])]
    branches += [((t.cumulative_share <= lev["up_to"] + 1e-12) & (t.value > 0), lev["name"]) for lev in levels[:-1]]
    t = t.mutate(segment=ibis.cases(*branches, else_=last))
    return _result("abc", t, levels, ABC_COLUMNS, as_of, cfg, {"value_column": value_col}, orders)


def value_pyramid(
    features: Any,
    *,
    value_col: str | None = None,
    customer_col: str = "customer_id",
    orders_col: str | None = None,
    as_of: date | str | None = None,
    config: ConfigLike = None,
) -> SegmentResult:
    """The customer pyramid: tiers by rank (top 1 % VIP, next 4 % major, next 15 % ordinary, rest small).

    ``rank_share`` = (number of customers with a larger value) / (number of customers); a
    customer is in the first tier with ``rank_share < top``, so tied values share a tier.
    """
    cfg = _config(config)
    _check_levels(cfg["tier"], "top", "tier")
    base, value_col, orders = _prepare(features, value_col, customer_col, cfg, "pyramid", orders_col)
    if backend_name(base) == "pyspark":
        ranked = _ranked_by_value(base)
        t = ranked.mutate(rank_share=(ranked.value_rank - 1).cast("float64") / ranked._count).drop(
            "cumulative_share", "_count"
        )
    else:
        rank = ibis.rank().over(order_by=ibis.desc(base.value))
        t = base.mutate(
            value_rank=(rank + 1).cast("int64"), rank_share=rank.cast("float64") / base.customer_id.count().over()
        )
    levels = cfg["tier"]
    branches = [(t.rank_share < lev["top"], lev["name"]) for lev in levels[:-1]]
    t = t.mutate(segment=ibis.cases(*branches, else_=levels[-1]["name"]))
    return _result("pyramid", t, levels, PYRAMID_COLUMNS, as_of, cfg, {"value_column": value_col}, orders)


def pareto_curve(
    features: Any,
    *,
    value_col: str | None = None,
    customer_col: str = "customer_id",
    points: int | None = None,
    config: ConfigLike = None,
) -> ir.Table:
    """The Pareto (cumulative value) curve: ``customer_share, value_share`` at ``points`` steps.

    Customers are sorted by value, largest first; ``value_share`` is the share of total
    positive value held by the top ``customer_share`` of customers. A first row (0, 0) is
    included.
    """
    cfg = _config(config)
    points = points or cfg["pareto"]["points"]
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ConfigError(f"pareto 'points' must be a positive integer, got {points!r}")
    base, _, _ = _prepare(features, value_col, customer_col, cfg, "Pareto curve", None)
    pos = ibis.greatest(base.value, 0.0)
    if backend_name(base) == "pyspark":
        o = ordered_rows(base.mutate(_pos=pos), _BY_VALUE, running="_pos")
        t = o.mutate(_cum=o._running, _frac=(o._row + 1).cast("float64") / o._count)
    else:
        order = ibis.window(order_by=[ibis.desc(base.value), base.customer_id], rows=(None, 0))
        n = base.customer_id.count().over()
        t = base.mutate(
            _cum=pos.sum().over(order),
            _total=pos.sum().over(),
            _frac=(ibis.row_number().over(order_by=[ibis.desc(base.value), base.customer_id]) + 1).cast("float64") / n,
        )
    t = t.mutate(_bucket=(t._frac * points - 1e-9).ceil().cast("int64"))
    curve = t.group_by("_bucket").aggregate(value_share=(t._cum / t._total).max(), customer_share=t._frac.max())
    origin = ibis.memtable({"customer_share": [0.0], "value_share": [0.0]})
    return curve.select("customer_share", "value_share").union(origin).order_by("customer_share")


def concentration(
    features: Any,
    *,
    value_col: str | None = None,
    customer_col: str = "customer_id",
    top_share: float | None = None,
    config: ConfigLike = None,
) -> dict[str, float]:
    """Concentration of value: ``top_share_value`` (share of value from the top ``top_share``
    of customers, 20 % by default), ``gini``, ``customers`` and ``total_value`` (values
    clipped at zero)."""
    cfg = _config(config)
    top = cfg["pareto"]["top_share"] if top_share is None else top_share
    if not 0 < top <= 1:
        raise ConfigError(f"'top_share' must be in (0, 1], got {top!r}")
    base, _, _ = _prepare(features, value_col, customer_col, cfg, "concentration", None)
    pos = ibis.greatest(base.value, 0.0)
    if backend_name(base) == "pyspark":
        o = ordered_rows(base.mutate(_x=pos), _BY_VALUE)
        t = o.mutate(_desc=o._row, _asc=o._count - o._row, _n=o._count)  # ascending = the reverse order
    else:
        t = base.mutate(
            _x=pos,
            _desc=ibis.row_number().over(order_by=[ibis.desc(base.value), base.customer_id]),
            _asc=ibis.row_number().over(order_by=[base.value, ibis.desc(base.customer_id)]) + 1,
            _n=base.customer_id.count().over(),
        )
    row = (
        t.aggregate(
            n=t._x.count(),
            total=t._x.sum(),
            weighted=(t._asc.cast("float64") * t._x).sum(),
            top=t._x.sum(where=t._desc < (t._n.cast("float64") * top).ceil()),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    n, total = row["n"], row["total"] or 0.0
    if not n or total <= 0:
        return {
            "customers": float(n or 0),
            "total_value": float(total),
            "top_share": top,
            "top_share_value": float("nan"),
            "gini": float("nan"),
        }
    gini = 2.0 * row["weighted"] / (n * total) - (n + 1.0) / n
    return {
        "customers": float(n),
        "total_value": float(total),
        "top_share": float(top),
        "top_share_value": float((row["top"] or 0.0) / total),
        "gini": float(gini),
    }
