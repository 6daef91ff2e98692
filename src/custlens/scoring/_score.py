"""The important-customer score: a weighted sum of normalised value indicators, as Ibis.

The per-indicator statistics (min, max, mean, standard deviation, and for the entropy
method two column sums) are computed by the backend in one aggregate pass each; the
weights are derived from them in NumPy; the score, contributions, rank and tier are one
lazy Ibis expression, so the same code runs on DuckDB and Spark.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from custlens._frames import as_ibis
from custlens.errors import ConfigError, InputError, did_you_mean
from custlens.scoring._ahp import AHPHierarchy, AHPResult
from custlens.scoring._entropy import EntropyWeights, entropy_weights_from_sums
from custlens.warehouse.compat import backend_name, cache, ordered_rows, to_arrow

__all__ = ["DEFAULT_TIERS", "ScoreResult", "score_customers", "score_transactions"]

logger = logging.getLogger(__name__)

Normalisation = Literal["minmax", "zscore"]
WeightMethod = Literal["user", "equal", "entropy", "ahp"]

DEFAULT_TIERS: tuple[tuple[str, float, str], ...] = (
    ("key", 0.10, "关键客户"),
    ("important", 0.30, "重要客户"),
    ("ordinary", 1.0, "普通客户"),
)
"""Tiers by share of customers in rank order: top 10 % key, next 20 % important, rest ordinary."""


@dataclass(frozen=True)
class ScoreResult:
    """An important-customer score over a customer base.

    Attributes
    ----------
    table
        Ibis expression, one row per customer ordered by rank: ``rank`` (1 = most
        important), the customer column, ``score``, ``tier``, ``tier_zh`` and one
        ``contribution_<indicator>`` column per indicator (weight x normalised value;
        contributions sum to the score).
    indicators
        Indicator names, in order.
    cost
        The indicators where lower is better.
    weights
        Final weights by indicator (non-negative, summing to 1).
    method
        How the weights were obtained: ``user``, ``equal``, ``entropy`` or ``ahp``.
    normalisation
        ``minmax`` or ``zscore``.
    stats
        Per indicator: ``min``, ``max``, ``mean``, ``std`` (population) of the raw values.
    n_customers
        Number of customers scored.
    detail
        The :class:`AHPResult`/:class:`AHPHierarchy` or :class:`EntropyWeights`, if any.
    """

    table: ir.Table
    indicators: tuple[str, ...]
    cost: tuple[str, ...]
    weights: dict[str, float]
    method: WeightMethod
    normalisation: Normalisation
    stats: dict[str, dict[str, float]]
    n_customers: int
    detail: AHPResult | AHPHierarchy | EntropyWeights | None = field(default=None, repr=False)

    def to_pyarrow(self) -> pa.Table:
        """Execute the ranked table."""
        return to_arrow(self.table)

    def summary(self) -> dict[str, Any]:
        """Plain-value summary (weights, method, statistics, consistency) for JSON."""
        out: dict[str, Any] = {
            "method": self.method,
            "normalisation": self.normalisation,
            "n_customers": self.n_customers,
            "weights": self.weights,
            "cost_indicators": list(self.cost),
            "stats": self.stats,
        }
        if self.detail is not None:
            out[self.method] = self.detail.summary()
        return out


def score_customers(
    indicators: ir.Table | pa.Table | Any,
    columns: Sequence[str] | None = None,
    *,
    cost: Sequence[str] = (),
    method: WeightMethod | None = None,
    weights: Mapping[str, float] | Sequence[float] | None = None,
    ahp: AHPResult | AHPHierarchy | None = None,
    normalisation: Normalisation = "minmax",
    customer_col: str = "customer_id",
    tiers: Sequence[tuple[str, float] | tuple[str, float, str]] = DEFAULT_TIERS,
    on_missing: Literal["error", "worst"] = "error",
    allow_inconsistent: bool = False,
) -> ScoreResult:
    """Score and rank customers by a weighted sum of normalised value indicators.

    Parameters
    ----------
    indicators
        One row per customer (Ibis table, Arrow table, pandas or polars frame, mapping of columns).
    columns
        Indicator columns to score; default: the AHP elements when ``ahp`` is given.
    cost
        Indicators where lower is better (e.g. ``recency_days``, ``arrears_rate``).
    method
        ``"user"`` (``weights``), ``"equal"``, ``"entropy"`` or ``"ahp"`` (``ahp``);
        inferred from ``weights``/``ahp`` when omitted, else ``"equal"``.
    weights
        User weights: by name, or a sequence in ``columns`` order; rescaled to sum to 1.
    ahp
        Weights from pairwise judgements (:func:`~custlens.scoring.ahp_weights`,
        :func:`~custlens.scoring.load_ahp`).
    normalisation
        ``"minmax"``: ``(x - min) / (max - min)``, reversed for cost indicators, so the
        score lies in [0, 1]; ``"zscore"``: ``(x - mean) / std`` (population std), negated
        for cost indicators. A constant indicator normalises to 0.
    customer_col
        Customer identifier column.
    tiers
        ``(name, cumulative share)`` or ``(name, cumulative share, Chinese name)`` in rank
        order; the last share must be 1.
    on_missing
        ``"error"``: a missing indicator value is an error; ``"worst"``: it counts as the
        worst value observed for that indicator.
    allow_inconsistent
        Accept AHP judgements whose consistency ratio reaches the threshold.

    Raises
    ------
    InputError
        Unknown or non-numeric columns, missing values, bad weights, empty table.
    ConfigError
        Bad tiers, AHP elements that do not match the indicators, inconsistent judgements.
    """
    t = as_ibis(indicators, "indicators")
    method = _infer_method(method, weights, ahp)
    if columns is None:
        if ahp is None:
            raise InputError("give the indicator columns to score ('columns', e.g. ['revenue', 'order_count'])")
        columns = list(ahp.names)
    cols = _check_columns(t, list(columns), customer_col)
    cost_t = _check_cost(cols, cost)
    tier_spec = _check_tiers(tiers)
    if normalisation not in ("minmax", "zscore"):
        raise InputError(f"'normalisation' must be 'minmax' or 'zscore'; got {normalisation!r}")
    if on_missing not in ("error", "worst"):
        raise InputError(f"'on_missing' must be 'error' or 'worst'; got {on_missing!r}")

    stats, n, nulls = _statistics(t, cols)
    if n == 0:
        raise InputError("the indicator table has no rows: nothing to score")
    if on_missing == "error" and any(nulls.values()):
        col = next(c for c in cols if nulls[c])
        first = t.filter(t[col].isnull()).select(customer_col).limit(1).to_pyarrow()
        example = first.column(0)[0].as_py() if first.num_rows else "?"
        raise InputError(
            f"indicator {col!r} is missing for {nulls[col]:,} customer(s) (first: customer "
            f"{example}); fill it, or set 'on_missing' to 'worst' to count it as the worst value"
        )

    norm = {c: _normalised(t[c], stats[c], c in cost_t, normalisation) for c in cols}
    detail: AHPResult | AHPHierarchy | EntropyWeights | None = None
    if method == "user":
        w = _user_weights(weights, cols)
    elif method == "equal":
        w = np.full(len(cols), 1.0 / len(cols))
    elif method == "entropy":
        detail = _entropy(t, cols, stats, cost_t, n)
        w = detail.weights
    else:
        detail = _ahp_checked(ahp, cols, allow_inconsistent)
        wm = detail.weight_map()
        w = np.array([wm[c] for c in cols])
    weight_map = {c: float(x) for c, x in zip(cols, w)}

    if on_missing == "worst":
        norm = {c: e.fill_null(_worst(stats[c], c in cost_t, normalisation)) for c, e in norm.items()}
    contrib = {f"contribution_{c}": (norm[c] * float(weight_map[c])).name(f"contribution_{c}") for c in cols}
    score = sum(contrib.values(), ibis.literal(0.0))
    base = t.select(t[customer_col], **contrib).mutate(score=score)
    if backend_name(base) == "pyspark":  # Spark: no window over the whole table (one partition)
        numbered = ordered_rows(base, [("score", True), (customer_col, False)])
        ranked = numbered.mutate(rank=numbered._row + 1).drop("_row", "_count")
    else:
        ranked = base.mutate(rank=ibis.row_number().over(order_by=[ibis.desc(base.score), base[customer_col]]) + 1)
    ranked = ranked.mutate(tier=_tier_expr(ranked["rank"], [(a, b) for a, b, _ in tier_spec], n))
    ranked = ranked.mutate(tier_zh=_tier_expr(ranked["rank"], [(c, b) for _, b, c in tier_spec], n))
    table = ranked.select("rank", customer_col, "score", "tier", "tier_zh", *contrib).order_by("rank")
    return ScoreResult(table, tuple(cols), cost_t, weight_map, method, normalisation, stats, n, detail)


def _infer_method(method: str | None, weights: Any, ahp: Any) -> WeightMethod:
    if method is None:
        if weights is not None and ahp is not None:
            raise InputError("give either user weights or AHP judgements, not both")
        return "user" if weights is not None else "ahp" if ahp is not None else "equal"
    if method not in ("user", "equal", "entropy", "ahp"):
        raise InputError(f"'method' must be one of user, equal, entropy, ahp; got {method!r}")
    if method == "user" and weights is None:
        raise InputError("method 'user' needs weights (e.g. {'revenue': 0.6, 'order_count': 0.4})")
    if method == "ahp" and ahp is None:
        raise InputError("method 'ahp' needs pairwise judgements (ahp_weights() or load_ahp())")
    if method in ("equal", "entropy") and (weights is not None or ahp is not None):
        raise InputError(f"method {method!r} derives its own weights; do not pass weights or ahp")
    return method  # type: ignore[return-value]


def _check_columns(t: ir.Table, cols: list[str], customer_col: str) -> list[str]:
    available = list(t.columns)
    if customer_col not in available:
        raise InputError(
            f"customer column {customer_col!r} (given as 'customer_col') is not in the indicator table"
            f"{did_you_mean(customer_col, available)} (columns: {', '.join(available)})"
        )
    if not cols:
        raise InputError("no indicator columns given")
    for c in cols:
        if cols.count(c) > 1:
            raise InputError(f"indicator {c!r} is listed twice")
        if c not in available:
            raise InputError(
                f"indicator {c!r} is not a column of the indicator table"
                f"{did_you_mean(c, available)} (columns: {', '.join(available)})"
            )
        dtype = t.schema()[c]
        if not dtype.is_numeric() or dtype.is_boolean():
            raise InputError(f"indicator {c!r} must be numeric; it has type {dtype}")
    return cols


def _check_cost(cols: list[str], cost: Sequence[str]) -> tuple[str, ...]:
    for c in cost:
        if c not in cols:
            raise InputError(f"cost indicator {c!r} is not one of the scored indicators {cols}{did_you_mean(c, cols)}")
    return tuple(c for c in cols if c in set(cost))


def _check_tiers(tiers: Sequence[tuple[Any, ...]]) -> list[tuple[str, float, str]]:
    spec: list[tuple[str, float, str]] = []
    for tier in tiers:
        if not isinstance(tier, (tuple, list)) or len(tier) not in (2, 3):
            raise ConfigError(f"tiers: each tier is (name, share) or (name, share, name_zh); got {tier!r}")
        try:
            spec.append((str(tier[0]), float(tier[1]), str(tier[2]) if len(tier) == 3 else ""))
        except (TypeError, ValueError):
            raise ConfigError(f"tier {tier[0]!r}: share must be a number; got {tier[1]!r}") from None
    if not spec:
        raise ConfigError("tiers: give at least one (name, share) pair")
    prev = 0.0
    for name, share, _ in spec:
        if not prev < share <= 1.0:
            raise ConfigError(f"tier {name!r}: cumulative share must rise within (0, 1]; got {share} after {prev}")
        prev = share
    if abs(spec[-1][1] - 1.0) > 1e-12:
        raise ConfigError(f"tiers: the last tier ({spec[-1][0]!r}) must reach share 1.0; got {spec[-1][1]}")
    names = [n for n, _, _ in spec]
    if len(set(names)) != len(names):
        raise ConfigError("tiers: names must be distinct")
    return spec


def _statistics(t: ir.Table, cols: list[str]) -> tuple[dict[str, dict[str, float]], int, dict[str, int]]:
    aggs: dict[str, ir.Value] = {"__n": t.count()}
    for i, c in enumerate(cols):
        x = t[c].cast("float64")
        aggs[f"min{i}"] = x.min()
        aggs[f"max{i}"] = x.max()
        aggs[f"mean{i}"] = x.mean()
        aggs[f"std{i}"] = x.std(how="pop")
        aggs[f"null{i}"] = x.isnull().sum()
    row = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    n = int(row["__n"] or 0)
    stats = {c: {k: _float(row[f"{k}{i}"]) for k in ("min", "max", "mean", "std")} for i, c in enumerate(cols)}
    nulls = {c: int(row[f"null{i}"] or 0) for i, c in enumerate(cols)}
    for c in cols:
        if any(math.isinf(v) for v in stats[c].values()):
            raise InputError(f"indicator {c!r} has infinite values; clean them before scoring")
    return stats, n, nulls


def _float(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _normalised(x: ir.Column, s: Mapping[str, float], is_cost: bool, how: Normalisation) -> ir.FloatingValue:
    x = x.cast("float64")
    if how == "minmax":
        span = s["max"] - s["min"]
        if not span > 0:
            return ibis.literal(0.0) + x * 0.0  # constant (or all missing): no information
        return (s["max"] - x) / span if is_cost else (x - s["min"]) / span
    sd = s["std"]
    if not sd > 0:
        return ibis.literal(0.0) + x * 0.0
    return (s["mean"] - x) / sd if is_cost else (x - s["mean"]) / sd


def _worst(s: Mapping[str, float], is_cost: bool, how: Normalisation) -> float:
    if how == "minmax" or not s["std"] > 0:
        return 0.0
    return (s["mean"] - s["max"]) / s["std"] if is_cost else (s["min"] - s["mean"]) / s["std"]


def _entropy(
    t: ir.Table, cols: list[str], stats: Mapping[str, Mapping[str, float]], cost: tuple[str, ...], n: int
) -> EntropyWeights:
    aggs: dict[str, ir.Value] = {}
    for i, c in enumerate(cols):
        r = _normalised(t[c], stats[c], c in cost, "minmax").fill_null(0.0)
        aggs[f"s{i}"] = r.sum()
        # r ln r, with 0 ln 0 = 0: ln of max(r, tiny) keeps every backend away from ln(0)
        aggs[f"t{i}"] = (r * ibis.greatest(r, 1e-300).ln()).sum()
    row = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    s = np.array([_float(row[f"s{i}"]) for i in range(len(cols))])
    tt = np.array([_float(row[f"t{i}"]) for i in range(len(cols))])
    return entropy_weights_from_sums(np.nan_to_num(s), np.nan_to_num(tt), n, cols)


def _user_weights(weights: Mapping[str, float] | Sequence[float] | None, cols: list[str]) -> np.ndarray:
    if isinstance(weights, Mapping):
        for k in weights:
            if k not in cols:
                raise InputError(
                    f"weight given for {k!r}, which is not a scored indicator {cols}{did_you_mean(str(k), cols)}"
                )
        missing = [c for c in cols if c not in weights]
        if missing:
            raise InputError(
                f"no weight for indicator(s) {', '.join(missing)}; give one weight per indicator ({len(cols)})"
            )
        raw = [weights[c] for c in cols]
    else:
        raw = list(weights or [])
        if len(raw) != len(cols):
            raise InputError(
                f"{len(raw)} weight(s) given for {len(cols)} indicator(s) "
                f"({', '.join(cols)}); give one weight per indicator"
            )
    try:
        w = np.array([float(v) for v in raw])
    except (TypeError, ValueError):
        raise InputError(f"'weights' must be numbers; got {raw!r}") from None
    bad = [c for c, v in zip(cols, w) if not np.isfinite(v) or v < 0]
    if bad:
        i = cols.index(bad[0])
        raise InputError(f"weight of {bad[0]!r} must be a finite number >= 0; got {float(w[i])!r}")
    if not w.sum() > 0:
        raise InputError("weights sum to 0: at least one indicator needs a positive weight")
    return w / w.sum()


def _ahp_checked(
    ahp: AHPResult | AHPHierarchy | None, cols: list[str], allow_inconsistent: bool
) -> AHPResult | AHPHierarchy:
    assert ahp is not None
    names = list(ahp.names)
    extra = [c for c in names if c not in cols]
    missing = [c for c in cols if c not in names]
    if extra or missing:
        parts = []
        if extra:
            parts.append(f"judged but not scored: {', '.join(extra)}{did_you_mean(extra[0], cols)}")
        if missing:
            parts.append(f"scored but not judged: {', '.join(missing)}")
        raise ConfigError("AHP elements must be the scored indicators; " + "; ".join(parts))
    if not ahp.consistent:
        nodes = ahp.nodes if isinstance(ahp, AHPHierarchy) else {"goal": ahp}
        name, node = next((k, v) for k, v in nodes.items() if not v.consistent)
        msg = (
            f"AHP judgements at {name!r} are inconsistent: CR = {node.cr:.3f} >= {node.threshold:.2f} "
            f"(lambda_max = {node.lambda_max:.3f}, CI = {node.ci:.3f}, RI = {node.ri:.2f})"
        )
        if not allow_inconsistent:
            raise ConfigError(msg + "; revise the judgements or allow inconsistent judgements explicitly")
        logger.warning("%s; used anyway (allow_inconsistent)", msg)
    return ahp


def _tier_expr(rank: ir.IntegerValue, spec: list[tuple[str, float]], n: int) -> ir.StringValue:
    branches = []
    for name, share in spec[:-1]:
        cut = max(1, math.ceil(share * n - 1e-9))
        branches.append((rank <= cut, name))
    if not branches:
        return ibis.literal(spec[-1][0])
    return ibis.cases(*branches, else_=spec[-1][0])


def score_transactions(
    transactions: ir.Table | pa.Table | Any,
    columns: Sequence[str] | None = None,
    *,
    as_of: Any = None,
    receivables: Any = None,
    interactions: Any = None,
    **kwargs: Any,
) -> ScoreResult:
    """Score customers on the value indicators of a transaction log.

    The indicators are :func:`custlens.features.value_indicators` as of ``as_of`` (default:
    the last transaction day): ``order_count, revenue, profit, margin_rate,
    avg_order_value, max_order_value, return_amount, recency_days, tenure_days, ...``, the
    financial ones (``arrears_rate``, ...) when ``receivables`` is given and the contact
    ones (``complaint_ratio``, ...) from ``interactions``. Other keyword arguments are
    those of :func:`score_customers`.
    """
    from custlens.features import INDICATOR_COLUMNS, value_indicators

    def table(x: Any, what: str) -> ir.Table | None:
        return None if x is None else as_ibis(x, what)

    # with named indicators (all known), only those and the cost ones are computed; an
    # unknown name keeps every column, so that the error lists them all
    wanted = None if columns is None else [*columns, *kwargs.get("cost", ())]
    if wanted is not None and not set(wanted) <= set(INDICATOR_COLUMNS):
        wanted = None
    indicators = value_indicators(
        as_ibis(transactions, "transactions"),
        as_of=as_of,
        receivables=table(receivables, "receivables"),
        interactions=table(interactions, "interactions"),
        columns=wanted,
    )
    # the statistics of the indicators and the scores both read them: aggregate the
    # transactions once (a temporary table of one row per customer), not once per query
    # (compat.cache: Spark's cache needs its in-memory tables registered first, and an
    # expression of in-memory tables only is left as it is)
    return score_customers(cache(indicators), columns, **kwargs)
