"""Two-by-two value matrices: the customer value matrix and the CLV matrix.

* Customer value matrix (Marcus, C. (1998), "A practical yet meaningful approach to
  customer segmentation", *Journal of Consumer Marketing* 15(5), 494-504): purchase
  frequency x average purchase amount -> best, spender, frequent, uncertain.
* CLV matrix (the course's CLV分类法): current value x potential value -> 贵宾型 most
  valuable (黄金客户, gold), 改进型 most growable (小溪客户, stream), 维持型 maintain (流星客户,
  meteor), 放弃型 abandon (负担客户, burden). The abandon class is the text's 负值客户
  (below-zero): customers whose value is below zero (``abandon = "below_zero"``, the
  default), not the bottom cell of a split; ``abandon = "quadrant"`` keeps the plain
  two-by-two matrix.

Each axis is split at the median (default), the mean or a fixed threshold; "high" means
strictly above the split point. Columns, split and names come from ``defaults/matrix.toml``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import ConfigError
from custlens.segment._common import (
    Details,
    SegmentResult,
    SummarySpec,
    as_ibis,
    as_of_or_none,
    check_config_keys,
    name_column,
    require_columns,
)
from custlens.segment._config import ConfigLike, load_config

__all__ = [
    "value_matrix",
    "clv_matrix",
    "VALUE_MATRIX_COLUMNS",
    "CLV_MATRIX_COLUMNS",
    "ABANDON_RULES",
    "ABANDON_VALUES",
]

VALUE_MATRIX_COLUMNS = (
    "customer_id",
    "frequency",
    "avg_order_value",
    "frequency_level",
    "avg_order_value_level",
    "segment",
    "segment_zh",
)
CLV_MATRIX_COLUMNS = (
    "customer_id",
    "current_value",
    "potential_value",
    "current_level",
    "potential_level",
    "segment",
    "segment_zh",
    "alias",
    "alias_zh",
)


ABANDON_RULES = ("below_zero", "quadrant")
"""How the CLV matrix finds its abandon class: value below zero (the text's 负值客户), or the low-low cell."""
ABANDON_VALUES = ("total", "current", "potential")
"""The value the ``below_zero`` rule compares with zero: current + potential, or one axis."""

_KEYS = ["x", "y", "split", "x_threshold", "y_threshold", "quadrant"]


def _section(name: str, config: ConfigLike, overrides: Mapping[str, Any]) -> dict[str, Any]:
    cfg = load_config("matrix", config)[name]
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    check_config_keys(cfg, _KEYS + (["abandon", "abandon_value"] if name == "clv_matrix" else []), f"[{name}]")
    if name == "clv_matrix":
        for key, allowed in (("abandon", ABANDON_RULES), ("abandon_value", ABANDON_VALUES)):
            if cfg.get(key) not in allowed:
                raise ConfigError(f"[{name}] {key!r} must be one of {', '.join(allowed)}, got {cfg.get(key)!r}")
    if cfg["split"] not in ("median", "mean", "thresholds"):
        raise ConfigError(f"[{name}] 'split' must be median, mean or thresholds, got {cfg['split']!r}")
    if cfg["split"] == "thresholds":
        for key in ("x_threshold", "y_threshold"):
            val = cfg.get(key)
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise ConfigError(f"[{name}] split = 'thresholds' needs a number {key!r}, got {val!r}")
    quads = cfg["quadrant"]
    cells = set()
    for i, q in enumerate(quads, start=1):
        label = f"[[{name}.quadrant]] {i}"
        check_config_keys(q, ["x", "y", "name", "name_zh", "alias", "alias_zh"], label)
        if q.get("x") not in ("high", "low") or q.get("y") not in ("high", "low") or not q.get("name"):
            raise ConfigError(f"{label}: needs x and y ('high' or 'low') and a name, got {dict(q)}")
        cells.add((q["x"], q["y"]))
    if len(cells) != 4 or len(quads) != 4:
        raise ConfigError(
            f"[{name}]: expected exactly one quadrant for each of the four high/low cells, got {sorted(cells)}"
        )
    return cfg


def _split_points(t: ir.Table, cfg: Mapping[str, Any]) -> ir.Table:
    """One row ``_sx, _sy``: the split point of each axis (median, mean or the thresholds)."""
    if cfg["split"] == "thresholds":
        return t.aggregate(_sx=ibis.literal(float(cfg["x_threshold"])), _sy=ibis.literal(float(cfg["y_threshold"])))
    if cfg["split"] == "mean":
        return t.aggregate(_sx=t._x.mean(), _sy=t._y.mean())
    from custlens.warehouse.compat import quantiles

    return quantiles(t, {"_sx": ("_x", 0.5), "_sy": ("_y", 0.5)})


def _read_splits(splits: ir.Table, method: str) -> dict[str, float]:
    row = splits.to_pyarrow().to_pylist()[0]
    if row["_sx"] is None or row["_sy"] is None:
        raise ConfigError(f"{method}: no values to split (the table is empty or all null)")
    return {"x_split": float(row["_sx"]), "y_split": float(row["_sy"])}


def _matrix(
    method: str,
    features: Any,
    cfg: dict[str, Any],
    customer_col: str,
    value_col: str | None,
    orders_col: str | None,
    as_of: Any,
    names: tuple[str, str, str, str],
) -> SegmentResult:
    t = as_ibis(features, method)
    require_columns(t, {"customer_col": customer_col, "x": cfg["x"], "y": cfg["y"]}, method)
    value_col = value_col or ("revenue" if "revenue" in t.columns else cfg["x"])
    orders_col = orders_col or ("order_count" if "order_count" in t.columns else None)
    require_columns(t, [c for c in (value_col, orders_col) if c], method)
    base = t.select(
        customer_id=t[customer_col].cast("string"),
        _x=t[cfg["x"]].cast("float64"),
        _y=t[cfg["y"]].cast("float64"),
        _value=t[value_col].cast("float64"),
        _orders=(t[orders_col].cast("float64") if orders_col else ibis.null().cast("float64")),
    )
    splits = _split_points(base, cfg)
    j = base.cross_join(splits)
    x_hi = ibis.ifelse(j._x > j._sx, "high", "low")
    y_hi = ibis.ifelse(j._y > j._sy, "high", "low")
    quads = cfg["quadrant"]
    seg = ibis.cases(*[((x_hi == q["x"]) & (y_hi == q["y"]), q["name"]) for q in quads])
    if cfg.get("abandon") == "below_zero":
        seg = _below_zero_segments(j, x_hi, y_hi, quads, cfg["abandon_value"])
    out = j.select(*base.columns, _xl=x_hi, _yl=y_hi, segment=seg)
    names_zh = {q["name"]: q.get("name_zh", q["name"]) for q in quads}
    out = out.mutate(segment_zh=name_column(out.segment, names_zh))
    if method == "clv_matrix":
        out = out.mutate(
            alias=name_column(out.segment, {q["name"]: q.get("alias", "") for q in quads}),
            alias_zh=name_column(out.segment, {q["name"]: q.get("alias_zh", "") for q in quads}),
        )
    x_name, y_name, xl_name, yl_name = names
    out = out.rename({x_name: "_x", y_name: "_y", xl_name: "_xl", yl_name: "_yl"})
    spec = SummarySpec(tuple(q["name"] for q in quads), names_zh, "_value", "_orders" if orders_col else None)
    cols = VALUE_MATRIX_COLUMNS if method == "value_matrix" else CLV_MATRIX_COLUMNS
    read = functools.cache(lambda: _read_splits(splits, method))  # one query for both split points
    rule = {"abandon": cfg["abandon"], "abandon_value": cfg["abandon_value"]} if method == "clv_matrix" else {}
    details = Details(
        {"x_column": cfg["x"], "y_column": cfg["y"], "value_column": value_col, **rule},
        {"x_split": lambda: read()["x_split"], "y_split": lambda: read()["y_split"]},
    )
    return SegmentResult(method, as_of_or_none(as_of), out, cols, spec, cfg, details)


def _below_zero_segments(
    j: ir.Table, x_hi: ir.StringValue, y_hi: ir.StringValue, quads: list[dict[str, Any]], on: str
) -> ir.StringValue:
    """The CLV matrix's segments when the abandon class is "value below zero".

    The low-low quadrant's name goes to every customer whose value (``on``: ``total`` =
    current + potential, ``current`` or ``potential``) is below zero, in whichever cell;
    the other customers of the low-low cell join the high-low cell (维持型: some value, but
    small). A missing value is not below zero.
    """
    cell = {(q["x"], q["y"]): q["name"] for q in quads}
    value = {"total": j._x + j._y, "current": j._x, "potential": j._y}[on]
    return ibis.cases(
        ((value < 0).fill_null(False), cell[("low", "low")]),
        ((x_hi == "high") & (y_hi == "high"), cell[("high", "high")]),
        ((x_hi == "low") & (y_hi == "high"), cell[("low", "high")]),
        else_=cell[("high", "low")],
    )


def value_matrix(
    features: Any,
    *,
    frequency_col: str | None = None,
    avg_value_col: str | None = None,
    split: str | None = None,
    frequency_threshold: float | None = None,
    avg_value_threshold: float | None = None,
    customer_col: str = "customer_id",
    value_col: str | None = None,
    orders_col: str | None = None,
    as_of: date | str | None = None,
    config: ConfigLike = None,
) -> SegmentResult:
    """Customer value matrix: purchase frequency x average order value, four quadrants.

    ``customers`` columns: ``customer_id, frequency, avg_order_value, frequency_level,
    avg_order_value_level`` (``"high"``/``"low"``), ``segment, segment_zh``;
    ``details["x_split"]``/``["y_split"]`` hold the split points.
    """
    given_split = split or (
        "thresholds" if frequency_threshold is not None or avg_value_threshold is not None else None
    )
    cfg = _section(
        "value_matrix",
        config,
        {
            "x": frequency_col,
            "y": avg_value_col,
            "split": given_split,
            "x_threshold": frequency_threshold,
            "y_threshold": avg_value_threshold,
        },
    )
    return _matrix(
        "value_matrix",
        features,
        cfg,
        customer_col,
        value_col,
        orders_col,
        as_of,
        ("frequency", "avg_order_value", "frequency_level", "avg_order_value_level"),
    )


def clv_matrix(
    features: Any,
    *,
    current_col: str | None = None,
    potential_col: str | None = None,
    split: str | None = None,
    current_threshold: float | None = None,
    potential_threshold: float | None = None,
    abandon: str | None = None,
    customer_col: str = "customer_id",
    value_col: str | None = None,
    orders_col: str | None = None,
    as_of: date | str | None = None,
    config: ConfigLike = None,
) -> SegmentResult:
    """CLV matrix: current value x potential value -> most valuable, most growable, maintain, abandon.

    The course's CLV分类法 (客户识别与区分): 贵宾型 (most valuable: high current and high
    potential value), 改进型 (most growable: low current, high potential), 维持型 (maintain:
    some value, but small) and 放弃型 (abandon: the 负值客户, below-zero customers whose
    value does not cover the cost of serving them).

    Any two value columns can be used: indicators (revenue, profit, ``net_value`` of
    :func:`custlens.features.cost_features`), a fitted lifetime value (``clv`` of
    :mod:`custlens.clv`) or the potential value of :func:`custlens.clv.value_components`.
    With the default rule (``abandon = "below_zero"`` in ``[clv_matrix]``) a customer is
    abandon when ``current + potential < 0`` (``abandon_value``: ``"total"``, ``"current"``
    or ``"potential"``), whichever cell it falls in; the other customers are split as usual
    and the low-low cell joins maintain. ``abandon = "quadrant"`` makes the low-low cell
    abandon (the plain two-by-two matrix). ``customers`` columns: ``customer_id,
    current_value, potential_value, current_level, potential_level`` (the split levels),
    ``segment, segment_zh, alias, alias_zh`` (alias: gold 黄金客户 / stream 小溪客户 / meteor
    流星客户 / burden 负担客户).
    """
    given_split = split or ("thresholds" if current_threshold is not None or potential_threshold is not None else None)
    cfg = _section(
        "clv_matrix",
        config,
        {
            "x": current_col,
            "y": potential_col,
            "split": given_split,
            "x_threshold": current_threshold,
            "y_threshold": potential_threshold,
            "abandon": abandon,
        },
    )
    return _matrix(
        "clv_matrix",
        features,
        cfg,
        customer_col,
        value_col,
        orders_col,
        as_of,
        ("current_value", "potential_value", "current_level", "potential_level"),
    )
