"""Relationship states, the customer flow between two dates and the win-back list.

States (course terms): non-customer, potential (MAN: money, authority, need), target (a
user rule), first-time, repeat, loyal, lost. "Lost" is judged against each customer's own
purchase rhythm: a customer is lost when the days since the last purchase exceed
``max(cycle_multiplier x own average purchase cycle, floor_days)`` (one-time buyers:
``max(single_purchase_days, floor_days)``), or, when a P(alive) column from a lifetime-value
model is given, when ``p_alive < p_alive_threshold``. Rules and thresholds are in
``defaults/state.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import ConfigError, InputError
from custlens.features.coerce import as_dates, to_date
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
from custlens.segment._inputs import (
    TransactionColumns,
    features_from_transactions,
    looks_like_transactions,
    warn_transactions,
)

__all__ = [
    "relationship_state",
    "relationship_state_from_transactions",
    "state_flow",
    "winback_list",
    "STATES",
    "STATE_COLUMNS",
    "STATE_FEATURES",
]

STATES = ("non_customer", "potential", "target", "first_time", "repeat", "loyal", "lost")
"""The relationship states, in the order of the relationship."""

STATE_COLUMNS = (
    "customer_id",
    "order_count",
    "revenue",
    "first_purchase_at",
    "last_purchase_at",
    "recency_days",
    "avg_purchase_cycle_days",
    "lost_after_days",
    "active_periods",
    "p_alive",
    "segment",
    "segment_zh",
)

STATE_FEATURES = (
    "order_count",
    "revenue",
    "first_purchase_at",
    "last_purchase_at",
    "recency_days",
    "avg_purchase_cycle_days",
    "active_periods",
)
"""Per-customer features relationship states read (:func:`custlens.features.customer_features`)."""

_SECTIONS = {
    "lost": ["cycle_multiplier", "floor_days", "single_purchase_days", "p_alive_threshold"],
    "loyal": ["period_days", "window_periods", "min_periods"],
    "potential": ["min_budget", "require_authority", "require_need"],
    "target": ["rule"],
    "winback": ["min_revenue", "min_orders"],
    "names": list(STATES),
}


def _config(config: ConfigLike) -> dict[str, Any]:
    cfg = load_config("state", config)
    check_config_keys(cfg, _SECTIONS, "relationship-state configuration")
    for section, keys in _SECTIONS.items():
        check_config_keys(cfg[section], keys, f"[{section}]")
    for section, key in (
        ("lost", "cycle_multiplier"),
        ("lost", "floor_days"),
        ("lost", "single_purchase_days"),
        ("loyal", "period_days"),
        ("loyal", "window_periods"),
        ("loyal", "min_periods"),
    ):
        val = cfg[section][key]
        if isinstance(val, bool) or not isinstance(val, (int, float)) or val <= 0:
            raise ConfigError(f"[{section}] {key!r} must be a positive number, got {val!r}")
    for key in ("period_days", "window_periods"):
        val = cfg["loyal"][key]
        if not isinstance(val, int):
            raise ConfigError(f"[loyal] {key!r} must be a whole number, got {val!r}")
    if cfg["loyal"]["min_periods"] > cfg["loyal"]["window_periods"]:
        raise ConfigError(
            f"[loyal] 'min_periods' ({cfg['loyal']['min_periods']}) cannot exceed "
            f"'window_periods' ({cfg['loyal']['window_periods']})"
        )
    p = cfg["lost"]["p_alive_threshold"]
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ConfigError(f"[lost] 'p_alive_threshold' must be a probability in [0, 1], got {p!r}")
    return cfg


def lost_after_days(cycle: ir.FloatingValue, lost: Mapping[str, Any]) -> ir.FloatingValue:
    """``max(cycle_multiplier x own average purchase cycle, floor_days)``; one-time buyers
    ``max(single_purchase_days, floor_days)`` (the own-rhythm "lost" rule)."""
    return ibis.ifelse(
        cycle.notnull(),
        ibis.greatest(cycle * float(lost["cycle_multiplier"]), float(lost["floor_days"])),
        float(max(lost["single_purchase_days"], lost["floor_days"])),
    )


def _buyers(feats: ir.Table, customer_col: str, cfg: Mapping[str, Any], p_alive: Any, p_alive_col: str) -> ir.Table:
    require_columns(feats, {"customer_col": customer_col, **{c: c for c in STATE_FEATURES}}, "relationship state")
    f = feats.filter(feats.order_count > 0)
    b = f.select(
        customer_id=f[customer_col].cast("string"),
        **{c: f[c] for c in STATE_FEATURES},
    )
    b = b.mutate(active_periods=b.active_periods.fill_null(0).cast("int64"))
    lost = cfg["lost"]
    b = b.mutate(lost_after_days=lost_after_days(b.avg_purchase_cycle_days.cast("float64"), lost))
    if p_alive is not None:
        pa_t = as_ibis(p_alive, "p_alive")
        require_columns(pa_t, {"customer_id": "customer_id", "p_alive_col": p_alive_col}, "p_alive table")
        pa_t = pa_t.select(_pid=pa_t.customer_id.cast("string"), p_alive=pa_t[p_alive_col].cast("float64"))
        b = b.left_join(pa_t, b.customer_id == pa_t._pid).drop("_pid")
        is_lost = ibis.ifelse(
            b.p_alive.notnull(), b.p_alive < float(lost["p_alive_threshold"]), b.recency_days > b.lost_after_days
        )
    else:
        b = b.mutate(p_alive=ibis.null().cast("float64"))
        is_lost = b.recency_days > b.lost_after_days
    loyal = b.active_periods >= int(cfg["loyal"]["min_periods"])
    state = ibis.cases((is_lost, "lost"), (loyal, "loyal"), (b.order_count >= 2, "repeat"), else_="first_time")
    return b.mutate(segment=state)


def _leads(leads: Any, buyers: ir.Table, as_of: date | None, cfg: Mapping[str, Any]) -> ir.Table:
    from custlens.segment.rules import compile_rule

    ld = as_ibis(leads, "leads")
    require_columns(ld, ["lead_id"], "leads")
    cid = ld.customer_id.cast("string") if "customer_id" in ld.columns else ibis.null().cast("string")
    ld = ld.mutate(_lid=cid.fill_null(ld.lead_id.cast("string")))
    if "created_at" in ld.columns:
        if as_of is None:
            raise InputError("leads: 'as_of' is needed to leave out leads created after it (leads have created_at)")
        ld = ld.filter(as_dates(ld.created_at, "created_at", what="leads") <= ibis.literal(as_of))
    bought = buyers.select(_bid=buyers.customer_id)
    ld = ld.anti_join(bought, ld._lid == bought._bid)
    pot = cfg["potential"]
    man = ibis.literal(True)
    if "budget" in ld.columns:
        man = man & (ld.budget.cast("float64").fill_null(0.0) >= float(pot["min_budget"]))
    elif pot["min_budget"] > 0:
        raise InputError("leads: [potential] 'min_budget' is set but the leads table has no 'budget' column")
    for flag, col in (("require_authority", "decision_authority"), ("require_need", "need")):
        if pot[flag]:
            require_columns(ld, {f"[potential] {flag}": col}, "leads")
            man = man & ld[col].fill_null(False)
    branches = []
    rule = cfg["target"]["rule"]
    if rule:
        branches.append((compile_rule(rule, ld, "[target] rule").fill_null(False), "target"))
    branches.append((man, "potential"))
    out = ld.select(customer_id=ld._lid, segment=ibis.cases(*branches, else_="non_customer"))
    return out.distinct(on="customer_id", keep="first")


def relationship_state(
    features: Any,
    *,
    as_of: Any = None,
    leads: Any = None,
    p_alive: Any = None,
    p_alive_col: str = "p_alive",
    config: ConfigLike = None,
    customer_col: str = "customer_id",
    columns: TransactionColumns | None = None,
) -> SegmentResult:
    """The relationship state of every buyer (and lead) at ``as_of``, from per-customer features.

    Parameters
    ----------
    features
        One row per customer with :data:`STATE_FEATURES` -- the table of
        :func:`custlens.features.customer_features`, whose ``active_periods`` must use the
        ``[loyal]`` periods of the configuration (``period_days``, ``periods =
        window_periods``; the defaults agree). Customers without a purchase
        (``order_count = 0``) are not buyers and are left out.
    as_of
        The date the features describe (recorded with the result; leads created after it
        are left out, so it is needed with a leads table that has ``created_at``).
    leads
        Optional leads table (``lead_id``, ``customer_id``, ``budget``,
        ``decision_authority``, ``need``, ``created_at``): leads without a purchase become
        target, potential or non-customer.
    p_alive
        Optional table with ``customer_id`` and a P(alive) column (``p_alive_col``), e.g.
        from a fitted lifetime-value model; where given it decides "lost".
    columns
        Deprecated: passing a transaction table (with ``columns``) is the old convention;
        it warns and runs :func:`relationship_state_from_transactions`.

    Returns
    -------
    SegmentResult
        ``customers`` with :data:`STATE_COLUMNS` (buyer columns are null for leads). Nothing
        is executed while the result is built.
    """
    t = as_ibis(features, "features")
    if columns is not None or looks_like_transactions(t, "recency_days"):
        warn_transactions("relationship_state")
        return relationship_state_from_transactions(
            t,
            as_of=as_of,
            leads=leads,
            p_alive=p_alive,
            p_alive_col=p_alive_col,
            columns=columns or TransactionColumns(),
            config=config,
        )
    cfg = _config(config)
    day = as_of_or_none(as_of)
    buyers = _buyers(t, customer_col, cfg, p_alive, p_alive_col)
    out = buyers.select(*[c for c in STATE_COLUMNS if c != "segment_zh"])
    if leads is not None:
        lead_rows = _leads(leads, buyers, day, cfg)
        filler = {c: ibis.null().cast(out[c].type()) for c in out.columns if c not in ("customer_id", "segment")}
        out = out.union(lead_rows.mutate(**filler).select(*out.columns))
    names = cfg["names"]
    out = out.mutate(segment_zh=name_column(out.segment, names))
    spec = SummarySpec(tuple(STATES), names, "revenue", "order_count")
    return SegmentResult("state", day, out, STATE_COLUMNS, spec, cfg, {"value_column": "revenue"})


def relationship_state_from_transactions(
    transactions: Any,
    *,
    as_of: Any = None,
    leads: Any = None,
    p_alive: Any = None,
    p_alive_col: str = "p_alive",
    columns: TransactionColumns = TransactionColumns(),
    config: ConfigLike = None,
    check_as_of: bool = False,
) -> SegmentResult:
    """:func:`relationship_state` of a transaction log (features through :mod:`custlens.features`).

    The features are :func:`custlens.features.customer_features` with the ``[loyal]``
    periods of the configuration. ``as_of`` defaults to the last transaction day (one
    query); ``check_as_of=True`` refuses an as-of before the first transaction
    (:class:`~custlens.errors.InputError`; one query). Otherwise nothing runs while the
    result is built (typed columns).
    """
    cfg = _config(config)
    loyal = cfg["loyal"]
    feats, day = features_from_transactions(
        transactions,
        as_of=as_of,
        columns=columns,
        period_days=int(loyal["period_days"]),
        periods=int(loyal["window_periods"]),
        check_as_of=check_as_of,
        features=STATE_FEATURES,
    )
    return relationship_state(feats, as_of=day, leads=leads, p_alive=p_alive, p_alive_col=p_alive_col, config=cfg)


def state_flow(
    transactions: Any,
    start: Any,
    end: Any,
    *,
    leads: Any = None,
    columns: TransactionColumns = TransactionColumns(),
    config: ConfigLike = None,
    check_as_of: bool = False,
    end_states: SegmentResult | None = None,
) -> ir.Table:
    """The customer flow model: how many customers moved from each state at ``start`` to each at ``end``.

    Returns a table ``from_state, to_state, customers``; customers absent at ``start`` (not
    yet buyers or leads) come from ``"(none)"``. ``start`` may precede the first
    transaction; with ``check_as_of=True``, ``end`` may not (one query).

    ``end_states``, a :func:`relationship_state` result as of ``end`` (for example one that
    read ``p_alive`` from a fitted model), gives the states at ``end`` instead of computing
    them again from the transactions by the recency rule: the ``to_state`` totals are then
    that result's segment sizes. The states at ``start`` always come from the transactions.
    """
    s, e = to_date(start, "start"), to_date(end, "end")
    if not s < e:
        raise InputError(f"state flow: 'start' ({s}) must be a date before 'end' ({e})")
    common: dict[str, Any] = dict(leads=leads, columns=columns, config=config)
    a = relationship_state_from_transactions(transactions, as_of=s, **common).customers
    if end_states is None:
        b = relationship_state_from_transactions(transactions, as_of=e, check_as_of=check_as_of, **common).customers
    elif end_states.method != "state" or end_states.as_of != e:
        raise InputError(
            f"state flow: 'end_states' must be relationship states as of 'end' ({e}); "
            f"got {end_states.method!r} as of {end_states.as_of}"
        )
    else:
        b = end_states.customers
    a = a.select(_aid=a.customer_id, from_state=a.segment)
    b = b.select(customer_id=b.customer_id, to_state=b.segment)
    j = b.left_join(a, b.customer_id == a._aid)
    j = j.mutate(from_state=j.from_state.fill_null("(none)"))
    return j.group_by(["from_state", "to_state"]).aggregate(customers=j.count()).order_by(["from_state", "to_state"])


def winback_list(state: SegmentResult, *, top: int | None = None) -> ir.Table:
    """Lost customers worth recovering, ranked by historical revenue (largest first).

    ``state`` is a :func:`relationship_state` result; worth recovering: historical revenue
    >= ``[winback] min_revenue`` and at least ``[winback] min_orders`` orders (its
    configuration). Columns: ``winback_rank`` (1 for the largest revenue, equal revenues
    by customer id) and the state columns.

    The rank is a position in that order taken by
    :func:`custlens.warehouse.compat.ordered_rows`: one window over the whole list on
    DuckDB, by ranges of the order on a Spark cluster (no single partition; the same
    ranks).
    """
    from custlens.warehouse.compat import ordered_rows

    if not isinstance(state, SegmentResult) or state.method != "state":
        raise InputError(
            f"winback_list needs a relationship_state result; got {type(state).__name__}"
            + (f" ({state.method!r})" if isinstance(state, SegmentResult) else "")
        )
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise InputError(f"'top' must be a whole number >= 1; got {top!r}")
    wb = state.config["winback"]
    c = state.customers
    c = c.filter(
        (c.segment == "lost") & (c.revenue >= float(wb["min_revenue"])) & (c.order_count >= int(wb["min_orders"]))
    )
    c = ordered_rows(c, [("revenue", True), ("customer_id", False)])
    c = c.mutate(winback_rank=(c._row + 1).cast("int64")).drop("_row", "_count")
    c = c.select("winback_rank", *[x for x in c.columns if x != "winback_rank"]).order_by("winback_rank")
    return c.limit(top) if top else c
