"""RFM (and RFA) scoring and the named RFM segment map.

Quantile scoring follows the R package ``rfm`` (Hebbali, rsquaredacademy/rfm,
``rfm_table_customer`` with ``R/utils.R::bins``): for ``n`` bins the cut points are the
type-7 sample quantiles at ``k/n`` (k = 1..n-1); the lowest bin starts at the minimum and
the highest ends above the maximum, so every customer gets a score; recency is scored in
reverse (the fewest days since the last purchase get ``n``); equal values always share a
score; duplicate cut points (heavy ties) leave some scores unused.

The package adds 1 to each cut point and scores ``lower <= x < upper``; for the integer day
and order counts it was written for that is "a value equal to a cut point falls in the
lower bin". custlens applies that rule directly (``x > q`` moves a customer up a bin,
``cut_offset = 0``, the default), which keeps quintiles balanced for money and fractional
cut points; ``cut_offset = 1`` reproduces the package exactly (``x >= q + 1``).
Threshold tables (``[min, max)`` rules, or ``(min, max]`` with ``[thresholds] closed =
"right"``) replace quantiles per dimension; :data:`SHIPPED_THRESHOLDS` names the tables that
ship with custlens (``"airline"``: the course text's airline table).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import ConfigError, InputError
from custlens.schema import DAYS_PER_MONTH
from custlens.segment._common import (
    Details,
    SegmentResult,
    SummarySpec,
    as_ibis,
    as_of_or_none,
    check_config_keys,
    name_column,
    require_columns,
    significant,
)
from custlens.segment._config import (
    CLOSED_SIDES,
    ConfigLike,
    check_bins,
    load_config,
    load_defaults,
    merge,
    read_toml,
)
from custlens.segment._inputs import TransactionColumns, features_from_transactions

__all__ = [
    "rfm",
    "rfm_from_transactions",
    "rfm_heatmap",
    "load_segment_map",
    "quantile_cut_points",
    "RFM_COLUMNS",
    "SHIPPED_MAPS",
    "SHIPPED_THRESHOLDS",
]

RFM_COLUMNS = (
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "segment",
    "segment_zh",
)
"""Columns of :attr:`SegmentResult.customers` for RFM, in order."""

SHIPPED_MAPS = {"default": "rfm_segments", "cn8": "rfm_segments_cn8"}
"""Segment maps shipped in ``defaults/``, usable by name: the 11-segment map and the
eight-class Chinese map (``cn8``, for ``bins = 2``)."""

SHIPPED_THRESHOLDS = {"airline": "rfm_airline"}
"""Threshold tables shipped in ``defaults/``, usable by name (``thresholds="airline"``,
``--thresholds airline``): the airline table of the course text (客户识别与区分, 五、RFM分类法,
例: 航空公司), with its measures (recency in months, flights in the last 24 months, average
spend)."""

RFM_FEATURES = (
    "recency_days",
    "order_count",
    "revenue",
    "quantity",
    "window_orders",
    "window_revenue",
    "window_quantity",
)
"""The features :func:`rfm` reads from a transaction log (the only ones computed for it)."""

_DIMS = ("recency", "frequency", "monetary")
_SCORE = {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}


def quantile_cut_points(table: ir.Table, columns: Mapping[str, str], bins: int) -> ir.Table:
    """One row: the type-7 quantiles at k/bins (k = 1..bins-1) of each column (12 significant digits).

    Column ``<dim>_<k>`` holds the k-th cut point of dimension ``dim``. An expression: the
    scores compare each customer with it (a cross join), and ``details["cut_points"]``
    executes it when read.
    """
    from custlens.warehouse.compat import quantiles

    names = [(f"{dim}_{k}", col, k) for dim, col in columns.items() for k in range(1, bins)]
    raw = quantiles(table, {name: (col, k / bins) for name, col, k in names})
    # rounded on the one-row aggregate, so each quantile is computed once and referenced
    return raw.select(**{name: significant(raw[name]) for name, _, _ in names})


def _read_cuts(cuts: ir.Table, columns: Mapping[str, str], bins: int) -> dict[str, list[float]]:
    row = cuts.to_pyarrow().to_pylist()[0]
    out = {}
    for dim, col in columns.items():
        values = [row[f"{dim}_{k}"] for k in range(1, bins)]
        if any(v is None for v in values):
            raise InputError(f"RFM: column {col!r} has no values to take quantiles of")
        out[dim] = [float(v) for v in values]
    return out


def _quantile_score(
    x: ir.NumericValue, cuts: Sequence[ir.FloatingValue], reverse: bool, bins: int, offset: float = 0.0
) -> ir.IntegerValue:
    passed = [(x >= c + offset) if offset else (x > c) for c in cuts]
    above = sum((ibis.ifelse(p, 1, 0) for p in passed), ibis.literal(0))
    score = 1 + above
    if reverse:
        score = bins + 1 - score
    return ibis.ifelse(x.isnull(), ibis.null().cast("int64"), score.cast("int64"))


def _threshold_score(
    x: ir.NumericValue, rules: Sequence[tuple[float, float, Any]], closed: str = "left"
) -> ir.IntegerValue:
    branches = []
    for lo, hi, score in rules:
        cond = ibis.literal(True)
        if not math.isinf(lo):
            cond = cond & ((x >= lo) if closed == "left" else (x > lo))
        if not math.isinf(hi):
            cond = cond & ((x < hi) if closed == "left" else (x <= hi))
        branches.append((cond, int(score)))
    return ibis.cases(*branches, else_=ibis.null().cast("int64")).cast("int64")


def load_segment_map(segment_map: ConfigLike = None, bins: int = 5) -> dict[str, Any]:
    """Read and check a segment map (the shipped 11-segment map by default).

    Each ``[[segment]]`` has ``name``, optional ``name_zh``, and inclusive score ranges
    ``r``, ``f``, ``m`` (``[low, high]``; a missing range matches every score) or a
    ``when`` condition in the rule language over ``r_score``, ``f_score``, ``m_score`` and
    the RFM columns. ``fallback``/``fallback_zh`` name customers no segment matches.
    """
    where = (
        f"segment map {str(segment_map)!r}"
        if isinstance(segment_map, (str, Path))
        else "the default segment map"
        if segment_map is None
        else "segment map"
    )
    if isinstance(segment_map, str) and segment_map in SHIPPED_MAPS:
        segment_map = load_defaults(SHIPPED_MAPS[segment_map])
    cfg = load_config("rfm_segments", segment_map, replace=True)
    check_config_keys(cfg, ["bins", "fallback", "fallback_zh", "segment"], where)
    segs = cfg.get("segment")
    if not isinstance(segs, list) or not segs:
        raise ConfigError(f"{where}: expected one or more [[segment]] tables")
    seen: set[str] = set()
    for i, seg in enumerate(segs, start=1):
        label = f"{where}, segment {i}" + (f" ({seg.get('name')!r})" if isinstance(seg, Mapping) else "")
        if not isinstance(seg, Mapping) or not isinstance(seg.get("name"), str) or not seg["name"]:
            raise ConfigError(f"{label}: every [[segment]] needs a text 'name'")
        check_config_keys(seg, ["name", "name_zh", "r", "f", "m", "when"], label)
        if seg["name"] in seen:
            raise ConfigError(f"{label}: the name {seg['name']!r} is used twice")
        seen.add(seg["name"])
        for key in ("r", "f", "m"):
            rng = seg.get(key)
            if rng is None:
                continue
            ok = (
                isinstance(rng, list)
                and len(rng) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in rng)
            )
            if not ok or not 1 <= rng[0] <= rng[1]:
                raise ConfigError(
                    f"{label}: {key!r} must be [low, high] with integer scores 1 <= low <= high, got {rng!r}"
                )
    _check_map_fits(cfg, bins, where)
    return cfg


def _check_map_fits(cfg: Mapping[str, Any], bins: int, where: str) -> None:
    """Raise ConfigError when the map's score ranges do not span exactly scores 1..bins.

    A map whose ranges go above ``bins`` has segments no customer can reach; one whose
    highest score is below ``bins`` leaves the top scores to the fallback. Maps written
    only with ``when`` conditions are not checked. A map may declare the ``bins`` it is
    written for; the message then suggests it.
    """
    highs = [seg[key][1] for seg in cfg["segment"] for key in ("r", "f", "m") if key in seg]
    if not highs:
        return
    declared = cfg.get("bins")
    if declared is not None and (
        isinstance(declared, bool) or not isinstance(declared, int) or not 2 <= declared <= 10
    ):
        raise ConfigError(f"{where}: 'bins' must be an integer from 2 to 10, got {declared!r}")
    top = max(highs)
    if declared is not None and top > declared:
        raise ConfigError(f"{where} declares bins = {declared} but uses scores up to {top}")
    if top > bins:
        problem = f"uses scores up to {top} but 'bins' is {bins}"
    elif declared is not None:
        if declared == bins:
            return
        problem = f"is written for bins = {declared} but 'bins' is {bins}"
    elif top < bins:
        problem = (
            f"uses scores up to {top} only but 'bins' is {bins}, so customers "
            f"scoring {top + 1}..{bins} can only fall to the fallback"
        )
    else:
        return
    wanted = declared if declared is not None else top
    raise ConfigError(f"{where} {problem}; set 'bins' to {wanted}")


def _segment_expr(t: ir.Table, cfg: Mapping[str, Any], where: str) -> ir.StringValue:
    from custlens.segment.rules import compile_rule

    branches = []
    for seg in cfg["segment"]:
        cond = ibis.literal(True)
        for key, col in (("r", "r_score"), ("f", "f_score"), ("m", "m_score")):
            if key in seg:
                lo, hi = seg[key]
                cond = cond & t[col].between(lo, hi)
        if "when" in seg:
            cond = cond & compile_rule(seg["when"], t, name=f"{where}: segment {seg['name']!r}")
        branches.append((cond.fill_null(False), seg["name"]))
    return ibis.cases(*branches, else_=cfg.get("fallback", "Others"))


def _scoring_config(config: ConfigLike, bins: int | None, thresholds: ConfigLike) -> dict[str, Any]:
    cfg = load_config("rfm", config)
    if isinstance(thresholds, str) and thresholds in SHIPPED_THRESHOLDS:
        thresholds = load_defaults(SHIPPED_THRESHOLDS[thresholds])
    if thresholds is not None:
        given = read_toml(thresholds) if not isinstance(thresholds, Mapping) else dict(thresholds)
        if "thresholds" not in given and any(d in given for d in _DIMS):
            keys = (*_DIMS, "closed")
            given = {
                "thresholds": {d: given[d] for d in keys if d in given},
                **{k: v for k, v in given.items() if k not in keys},
            }
        cfg = merge(cfg, given)
    if bins is not None:
        cfg["bins"] = bins
    check_config_keys(cfg, ["bins", "cut_offset", "measures", "thresholds"], "RFM configuration")
    off = cfg.setdefault("cut_offset", 0)
    if isinstance(off, bool) or not isinstance(off, (int, float)) or off < 0:
        raise ConfigError(f"RFM: 'cut_offset' must be a number >= 0, got {off!r}")
    check_config_keys(
        cfg.get("measures", {}), ["recency_unit", "frequency_window_days", "monetary", "value"], "[measures]"
    )
    check_config_keys(cfg.get("thresholds", {}), [*_DIMS, "closed"], "[thresholds]")
    closed = cfg.get("thresholds", {}).get("closed", "left")
    if closed not in CLOSED_SIDES:
        raise ConfigError(
            f"RFM [thresholds]: 'closed' must be 'left' (rules cover [min, max)) or 'right' ((min, max]), got {closed!r}"
        )
    b = cfg["bins"]
    if isinstance(b, bool) or not isinstance(b, int) or not 2 <= b <= 10:
        raise ConfigError(f"RFM: 'bins' must be an integer from 2 to 10, got {b!r}")
    m = cfg["measures"]
    for key, allowed in (
        ("recency_unit", ("days", "months")),
        ("monetary", ("total", "average")),
        ("value", ("amount", "quantity")),
    ):
        if m[key] not in allowed:
            raise ConfigError(f"RFM [measures]: {key!r} must be one of {allowed}, got {m[key]!r}")
    w = m["frequency_window_days"]
    if isinstance(w, bool) or not isinstance(w, int) or w < 0:
        raise ConfigError(f"RFM [measures]: 'frequency_window_days' must be an integer >= 0, got {w!r}")
    return cfg


def _measured_columns(t: ir.Table, measures: Mapping[str, Any]) -> tuple[str, ir.Value]:
    """Frequency column and monetary expression of the configured ``[measures]`` over feature columns."""
    qty = measures["value"] == "quantity"
    total_col = "window_quantity" if qty else "window_revenue"
    require_columns(
        t,
        {"frequency (window_orders)": "window_orders", f"monetary ({total_col})": total_col},
        "RFM features (custlens.features.customer_features)",
    )
    total = t[total_col].cast("float64")
    if measures["monetary"] == "total":
        return "window_orders", total
    return "window_orders", ibis.ifelse(t.window_orders > 0, total / t.window_orders, 0.0)


def rfm(
    features: Any,
    *,
    as_of: Any = None,
    bins: int | None = None,
    thresholds: ConfigLike = None,
    segment_map: ConfigLike = None,
    config: ConfigLike = None,
    customer_col: str = "customer_id",
    recency_col: str = "recency_days",
    frequency_col: str | None = None,
    monetary_col: str | None = None,
    value_col: str | None = None,
    orders_col: str | None = None,
) -> SegmentResult:
    """Score recency, frequency and monetary value and name each customer's segment.

    Parameters
    ----------
    features
        One row per customer. By default the table of
        :func:`custlens.features.customer_features`, read as the configuration's
        ``[measures]`` say: frequency = ``window_orders``; monetary = ``window_revenue``
        (``monetary = "total"``) or ``window_revenue / window_orders`` (``"average"``), or
        the same over ``window_quantity`` for RFA (``value = "quantity"``). The window must be
        the configured ``frequency_window_days`` (0 = the whole history, the default of both).
        Rows without a recency (customers without a purchase) are left out.
    as_of
        The date the recency was measured at (recorded with the result).
    bins
        Number of quantile bins (scores 1..bins); overrides the configuration (default 5).
    thresholds
        Threshold tables replacing quantiles per dimension: a TOML file or mapping with
        ``[[recency]]``/``[[thresholds.recency]]`` rules ``{score, min, max}`` on ``[min, max)``
        (``(min, max]`` with ``[thresholds] closed = "right"``), or the name of a shipped
        table (:data:`SHIPPED_THRESHOLDS`: ``"airline"``).
    segment_map
        A segment map (TOML file or mapping); the shipped 11-segment map by default.
    config
        Overrides of ``segment/defaults/rfm.toml``.
    recency_col, frequency_col, monetary_col
        Score these columns as they are instead (``frequency_col`` and ``monetary_col``
        together; ``[measures]`` then only sets ``recency_unit``).
    value_col, orders_col
        Columns summed into the summary's ``value`` and ``orders`` (default: ``revenue`` /
        ``order_count`` when present, else the monetary / frequency columns).

    Returns
    -------
    SegmentResult
        ``customers`` with :data:`RFM_COLUMNS`; ``details["cut_points"]`` holds the score
        intervals per dimension (read from the backend when first accessed). Nothing is
        executed while the result is built: quantile cut points are part of the expression.
    """
    t = as_ibis(features, "RFM features")
    cfg = _scoring_config(config, bins, thresholds)
    n_bins = cfg["bins"]
    if (frequency_col is None) != (monetary_col is None):
        raise InputError("RFM: give 'frequency_col' and 'monetary_col' together, or neither (configured measures)")
    require_columns(t, {"customer_col": customer_col, "recency_col": recency_col}, "RFM")
    if frequency_col is None:
        frequency_col, monetary = _measured_columns(t, cfg["measures"])
        monetary_name = "configured monetary measure"
    else:
        require_columns(t, {"frequency_col": frequency_col, "monetary_col": monetary_col}, "RFM")  # type: ignore[dict-item]
        monetary = t[monetary_col]
        monetary_name = str(monetary_col)
    value_col = value_col or ("revenue" if "revenue" in t.columns else None)
    orders_col = orders_col or ("order_count" if "order_count" in t.columns else frequency_col)
    if value_col is not None:
        require_columns(t, {"value_col": value_col}, "RFM")
    require_columns(t, {"orders_col": orders_col}, "RFM")
    for name, col in (("recency_col", recency_col), ("frequency_col", frequency_col)):
        if not t[col].type().is_numeric():
            raise InputError(f"RFM: column {col!r} ({name!r}) must be numeric, got {t[col].type()}")
    t = t.filter(t[recency_col].notnull())
    monetary_value = monetary.cast("float64")
    base = t.select(
        customer_id=t[customer_col].cast("string"),
        recency_days=t[recency_col],
        frequency=t[frequency_col],
        monetary=monetary_value,
        _value=t[value_col].cast("float64") if value_col is not None else monetary_value,
        _orders=t[orders_col].cast("float64"),
    )
    unit = DAYS_PER_MONTH if cfg["measures"]["recency_unit"] == "months" else 1.0
    measured = {
        "recency": base.recency_days.cast("float64") / unit,
        "frequency": base.frequency.cast("float64"),
        "monetary": base.monetary,
    }
    closed = cfg.get("thresholds", {}).get("closed", "left")
    table_rules = {
        d: check_bins(r, f"RFM thresholds for {d}", closed=closed)
        for d, r in cfg.get("thresholds", {}).items()
        if d in _DIMS
    }
    for d, rules in table_rules.items():
        bad = [s for _, _, s in rules if isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= n_bins]
        if bad:
            raise ConfigError(f"RFM thresholds for {d}: scores must be integers 1..{n_bins}, got {bad}")
    quantile_dims = {
        d: c
        for d, c in (("recency", "recency_days"), ("frequency", "frequency"), ("monetary", "monetary"))
        if d not in table_rules
    }
    off = cfg["cut_offset"]
    scored = base
    if quantile_dims:
        cuts = quantile_cut_points(base, quantile_dims, n_bins).rename(
            **{f"_q_{d}_{k}": f"{d}_{k}" for d in quantile_dims for k in range(1, n_bins)}
        )
        scored = base.cross_join(cuts)
    scores = {}
    for d in _DIMS:
        if d in table_rules:
            scores[_SCORE[d]] = _threshold_score(measured[d], table_rules[d], closed)
        else:
            q = [scored[f"_q_{d}_{k}"] for k in range(1, n_bins)]
            # values are compared at the cut points' precision: a sum that equals a cut point
            # but for its last bit (1018.7900000000001, added in another order) is equal to it
            value = significant(scored[quantile_dims[d]].cast("float64"))
            scores[_SCORE[d]] = _quantile_score(value, q, d == "recency", n_bins, off)
    scored = scored.select(*base.columns, **scores)
    scored = scored.mutate(rfm_score=scored.r_score * 100 + scored.f_score * 10 + scored.m_score)
    seg_cfg = load_segment_map(segment_map, n_bins)
    names_zh = {s["name"]: s.get("name_zh", s["name"]) for s in seg_cfg["segment"]}
    fallback = seg_cfg.get("fallback", "Others")
    names_zh[fallback] = seg_cfg.get("fallback_zh", fallback)
    where = f"segment map {str(segment_map)!r}" if isinstance(segment_map, (str, Path)) else "segment map"
    scored = scored.mutate(segment=_segment_expr(scored, seg_cfg, where))
    scored = scored.mutate(segment_zh=name_column(scored.segment, names_zh))
    order = tuple(s["name"] for s in seg_cfg["segment"]) + (fallback,)

    def cut_points() -> dict[str, list[dict[str, Any]]]:
        numbers = (
            _read_cuts(quantile_cut_points(base, quantile_dims, n_bins), quantile_dims, n_bins) if quantile_dims else {}
        )
        return _intervals(table_rules, numbers, n_bins, off, closed)

    return SegmentResult(
        "rfm",
        as_of_or_none(as_of),
        scored,
        RFM_COLUMNS,
        SummarySpec(order, names_zh, "_value", "_orders"),
        {"scoring": cfg, "segment_map": seg_cfg},
        Details({"value_column": value_col or monetary_name}, {"cut_points": cut_points}),
    )


def _intervals(
    table_rules: Mapping[str, list[tuple[float, float, Any]]],
    cuts: Mapping[str, list[float]],
    bins: int,
    off: float,
    closed: str = "left",
) -> dict[str, list[dict[str, Any]]]:
    """Each dimension's score intervals: threshold rules as given, quantile bins from the cut points."""
    out: dict[str, list[dict[str, Any]]] = {}
    table_rule = "min <= x < max" if closed == "left" else "min < x <= max"
    for d in _DIMS:
        if d in table_rules:
            out[d] = [{"min": lo, "max": hi, "rule": table_rule, "score": s} for lo, hi, s in table_rules[d]]
            continue
        edges = [-math.inf, *[c + off for c in cuts[d]], math.inf]
        rule = "min <= x < max" if off else "min < x <= max"
        out[d] = [
            {"min": edges[k], "max": edges[k + 1], "rule": rule, "score": (bins - k) if d == "recency" else k + 1}
            for k in range(bins)
        ]
    return out


def rfm_from_transactions(
    transactions: Any,
    *,
    as_of: Any = None,
    columns: TransactionColumns = TransactionColumns(),
    bins: int | None = None,
    thresholds: ConfigLike = None,
    segment_map: ConfigLike = None,
    config: ConfigLike = None,
    check_as_of: bool = False,
) -> SegmentResult:
    """:func:`rfm` of a transaction log (features through :mod:`custlens.features`).

    The features are :func:`custlens.features.customer_features` with the configured
    frequency window: ``recency_days`` = days from the last purchase to ``as_of``;
    ``frequency`` = purchase orders (distinct orders, or lines without an order column) in
    the window; ``monetary`` = their net revenue (``total``) or that per order
    (``average``), or the same of the quantity for RFA (``[measures] value = "quantity"``).
    ``as_of`` defaults to the last transaction day (one query); ``check_as_of=True``
    refuses an as-of before the first transaction (:class:`~custlens.errors.InputError`;
    one query). Otherwise nothing runs while the result is built (typed columns).
    """
    cfg = _scoring_config(config, bins, thresholds)
    m = cfg["measures"]
    t = as_ibis(transactions, "transactions")
    if m["value"] == "quantity":
        qcol = columns.quantity or "quantity"
        require_columns(t, {"columns.quantity": qcol}, "RFA")
        columns = TransactionColumns(
            columns.customer, columns.date, columns.amount, columns.order, qcol, columns.return_flag
        )
    feats, day = features_from_transactions(
        t,
        as_of=as_of,
        columns=columns,
        window_days=m["frequency_window_days"] or None,
        check_as_of=check_as_of,
        features=RFM_FEATURES,
    )
    return rfm(feats, as_of=day, segment_map=segment_map, config=cfg)


def rfm_heatmap(result: SegmentResult) -> ir.Table:
    """Customers and mean monetary value by recency score x frequency score (the RFM heat map).

    Returns ``r_score, f_score, customers, share, mean_monetary`` (cells without customers
    are absent).
    """
    if result.method != "rfm":
        raise InputError(f"rfm_heatmap needs an RFM result, got a {result.method!r} result")
    c = result.customers
    grid = c.group_by(["r_score", "f_score"]).aggregate(customers=c.count(), mean_monetary=c.monetary.mean())
    grid = grid.mutate(share=grid.customers.cast("float64") / grid.customers.sum().over())
    return grid.select("r_score", "f_score", "customers", "share", "mean_monetary").order_by(
        [ibis.desc("r_score"), "f_score"]
    )
