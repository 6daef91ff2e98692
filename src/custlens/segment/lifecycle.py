"""Customer lifecycle stages: acquisition, growth, maturity, decline, termination.

The stage comes from the age of the relationship (``tenure_days``), the trend of each
customer's period revenue and the own-rhythm "lost" rule of :mod:`custlens.segment.state`.
The stages carry the names of one of the course texts' two variants (``variant`` in
``defaults/lifecycle.toml``): ``lifecycle`` -- 潜在获取期 / 成长期 / 成熟期 / 衰退期 / 终止期
(客户生命周期, the default) -- or ``relationship`` -- 培育期 / 成长期 / 回报期 / 挽留期 / 终止期
(客户关系生命周期). The trend features -- the
least-squares slope of revenue over the last ``W`` periods and that slope over the mean
period revenue -- are :func:`custlens.features.activity_features`; this module only applies
the stage rules to the per-customer features.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import ConfigError, did_you_mean
from custlens.features.indicators import HAS_ORDERS
from custlens.segment._common import (
    SegmentResult,
    SummarySpec,
    as_ibis,
    as_of_or_none,
    check_config_keys,
    name_column,
    require_columns,
    significant,
)
from custlens.segment._config import ConfigLike, load_config, load_defaults, merge
from custlens.segment._inputs import (
    TransactionColumns,
    features_from_transactions,
    looks_like_transactions,
    warn_transactions,
)
from custlens.segment.state import lost_after_days

__all__ = [
    "lifecycle_stage",
    "lifecycle_stage_from_transactions",
    "stage_names",
    "STAGES",
    "VARIANTS",
    "LIFECYCLE_COLUMNS",
    "LIFECYCLE_FEATURES",
]

STAGES = ("acquisition", "growth", "maturity", "decline", "termination")
"""The stage keys, in the order of the relationship (the rules are written for these)."""

VARIANTS = ("lifecycle", "relationship")
"""The shipped name variants: 客户生命周期 (default) and 客户关系生命周期."""
LIFECYCLE_COLUMNS = (
    "customer_id",
    "tenure_days",
    "recency_days",
    "trend_revenue",
    "trend_slope",
    "relative_trend",
    "lost_after_days",
    "segment",
    "segment_zh",
)
LIFECYCLE_FEATURES = (
    "order_count",
    "revenue",
    "tenure_days",
    "recency_days",
    "avg_purchase_cycle_days",
    "trend_revenue",
    "trend_slope",
    "relative_trend",
)
"""Per-customer features lifecycle stages read (:func:`custlens.features.customer_features`)."""

_KEYS = [
    "period_days",
    "window_periods",
    "acquisition_days",
    "growth_slope",
    "decline_slope",
    "termination",
    "variant",
    "variants",
    "names",
]


def stage_names(cfg: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Stage key -> ``(English name, Chinese name)`` of the configuration's variant.

    ``[names]`` (stage key -> Chinese name), the form of earlier releases, overrides the
    variant's Chinese names.
    """
    variants = cfg.get("variants", {})
    variant = cfg.get("variant", "lifecycle")
    if not isinstance(variant, str) or variant not in variants:
        raise ConfigError(
            f"lifecycle: 'variant' must be one of {', '.join(map(repr, variants))}, got {variant!r}"
            f"{did_you_mean(str(variant), list(variants))}"
        )
    table = variants[variant]
    check_config_keys(table, STAGES, f"[variants.{variant}]")
    out: dict[str, tuple[str, str]] = {}
    for stage in STAGES:
        pair = table.get(stage)
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(v, str) and v for v in pair):
            raise ConfigError(
                f"lifecycle [variants.{variant}]: {stage!r} must be [English name, Chinese name], got {pair!r}"
            )
        out[stage] = (pair[0], pair[1])
    english = [en for en, _ in out.values()]
    if len(set(english)) != len(english):
        raise ConfigError(f"lifecycle [variants.{variant}]: the English names must differ, got {english}")
    names = cfg.get("names") or {}
    check_config_keys(names, STAGES, "[names]")
    for stage, zh in names.items():
        out[stage] = (out[stage][0], str(zh))
    return out


def _config(config: ConfigLike) -> dict[str, Any]:
    cfg = load_config("lifecycle", config)
    check_config_keys(cfg, _KEYS, "lifecycle configuration")
    stage_names(cfg)  # checks the variant
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
    features: Any,
    *,
    as_of: Any = None,
    config: ConfigLike = None,
    customer_col: str = "customer_id",
    columns: TransactionColumns | None = None,
) -> SegmentResult:
    """The lifecycle stage of every buyer at ``as_of``, from per-customer features.

    Parameters
    ----------
    features
        One row per customer with :data:`LIFECYCLE_FEATURES` -- the table of
        :func:`custlens.features.customer_features`, whose trend must use the configured
        periods (``period_days``, ``periods = window_periods``; the defaults agree).
        Customers without a purchase (``order_count = 0``) are left out.
    as_of
        The date the features describe (recorded with the result).
    columns
        Deprecated: passing a transaction table (with ``columns``) is the old convention;
        it warns and runs :func:`lifecycle_stage_from_transactions`.

    Returns
    -------
    SegmentResult
        ``customers`` with :data:`LIFECYCLE_COLUMNS`; ``segment`` and ``segment_zh`` are the
        names of the configured ``variant`` (``config={"variant": "relationship"}`` for
        培育期 ... 终止期); ``trend_slope`` in money per period,
        ``relative_trend`` = slope / mean period revenue, null without revenue in the
        trend window). Nothing is executed while the result is built.
    """
    t = as_ibis(features, "features")
    if columns is not None or looks_like_transactions(t, "tenure_days"):
        warn_transactions("lifecycle_stage")
        return lifecycle_stage_from_transactions(t, as_of=as_of, columns=columns or TransactionColumns(), config=config)
    cfg = _config(config)
    require_columns(t, {"customer_col": customer_col, **{c: c for c in LIFECYCLE_FEATURES}}, "lifecycle")
    return _stages(t.filter(t.order_count > 0), customer_col, as_of, cfg)


def _stages(buyers: ir.Table, customer_col: str, as_of: Any, cfg: dict[str, Any]) -> SegmentResult:
    """The stages of the buyers' rows of a features table (``cfg`` checked by :func:`_config`)."""
    f = buyers
    j = f.select(customer_id=f[customer_col].cast("string"), **{c: f[c] for c in LIFECYCLE_FEATURES})
    j = j.mutate(lost_after_days=lost_after_days(j.avg_purchase_cycle_days.cast("float64"), cfg["termination"]))
    names = stage_names(cfg)
    stage = ibis.cases(
        (j.recency_days > j.lost_after_days, names["termination"][0]),
        (j.tenure_days < cfg["acquisition_days"], names["acquisition"][0]),
        (j.relative_trend.isnull(), names["decline"][0]),
        # compared at 12 significant digits: a trend of exactly -0.10 is not a decline
        # because its sums were added in another order (-0.10000000000000017)
        (significant(j.relative_trend) > float(cfg["growth_slope"]), names["growth"][0]),
        (significant(j.relative_trend) < float(cfg["decline_slope"]), names["decline"][0]),
        else_=names["maturity"][0],
    )
    j = j.mutate(segment=stage)
    names_zh = dict(names.values())
    j = j.mutate(segment_zh=name_column(j.segment, names_zh))
    spec = SummarySpec(tuple(names[key][0] for key in STAGES), names_zh, "revenue", "order_count")
    return SegmentResult(
        "lifecycle", as_of_or_none(as_of), j, LIFECYCLE_COLUMNS, spec, cfg, {"value_column": "revenue"}
    )


def lifecycle_stage_from_transactions(
    transactions: Any,
    *,
    as_of: Any = None,
    columns: TransactionColumns = TransactionColumns(),
    config: ConfigLike = None,
    check_as_of: bool = False,
) -> SegmentResult:
    """:func:`lifecycle_stage` of a transaction log (features through :mod:`custlens.features`).

    The features are :func:`custlens.features.customer_features` with the configured trend
    periods. ``as_of`` defaults to the last transaction day (one query); ``check_as_of=True``
    refuses an as-of before the first transaction (:class:`~custlens.errors.InputError`;
    one query). Otherwise nothing runs while the result is built (typed columns).
    """
    cfg = _config(config)
    feats, day = features_from_transactions(
        transactions,
        as_of=as_of,
        columns=columns,
        period_days=int(cfg["period_days"]),
        periods=int(cfg["window_periods"]),
        check_as_of=check_as_of,
        features=(*LIFECYCLE_FEATURES, HAS_ORDERS),
    )
    # the buyers by HAS_ORDERS (the rows of order_count > 0): the customers' table shows no
    # order count, so its query counts no distinct orders; only the summary's does
    return _stages(feats.filter(feats[HAS_ORDERS]), "customer_id", day, cfg)
