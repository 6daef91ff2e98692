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
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import ConfigError, InputError
from custlens.segment._common import (
    SegmentResult,
    as_table,
    check_config_keys,
    name_column,
    require_columns,
    resolve_as_of,
    summarise,
)
from custlens.segment._config import ConfigLike, load_config
from custlens.segment._transactions import TransactionColumns, as_dates, as_of_date, customer_summary

__all__ = ["relationship_state", "state_flow", "winback_list", "STATES", "STATE_COLUMNS"]

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
    if cfg["loyal"]["min_periods"] > cfg["loyal"]["window_periods"]:
        raise ConfigError(
            f"[loyal] 'min_periods' ({cfg['loyal']['min_periods']}) cannot exceed "
            f"'window_periods' ({cfg['loyal']['window_periods']})"
        )
    p = cfg["lost"]["p_alive_threshold"]
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ConfigError(f"[lost] 'p_alive_threshold' must be a probability in [0, 1], got {p!r}")
    return cfg


def _active_periods(tx: ir.Table, cols: TransactionColumns, as_of: date, period_days: int, window: int) -> ir.Table:
    day = as_dates(tx[cols.date], cols.date)
    start = as_of - timedelta(days=int(period_days) * int(window))
    t = tx.mutate(_cid=tx[cols.customer].cast("string"), _day=day, _amt=tx[cols.amount])
    t = t.filter((t._day > ibis.literal(start)) & (t._day <= ibis.literal(as_of)) & (t._amt >= 0))
    period = (ibis.literal(as_of).delta(t._day, unit="day") // int(period_days)).cast("int64")
    t = t.mutate(_period=period)
    return t.group_by(customer_id=t._cid).aggregate(active_periods=t._period.nunique().cast("int64"))


def _buyers(
    tx: ir.Table, cols: TransactionColumns, as_of: date, cfg: Mapping[str, Any], p_alive: Any, p_alive_col: str
) -> ir.Table:
    summ, _ = customer_summary(tx, as_of=as_of, columns=cols, _checked=True)
    act = _active_periods(tx, cols, as_of, cfg["loyal"]["period_days"], cfg["loyal"]["window_periods"])
    b = summ.left_join(act, "customer_id").select(summ, act.active_periods)
    b = b.mutate(active_periods=b.active_periods.fill_null(0))
    lost = cfg["lost"]
    after = ibis.ifelse(
        b.avg_purchase_cycle_days.notnull(),
        ibis.greatest(b.avg_purchase_cycle_days * float(lost["cycle_multiplier"]), float(lost["floor_days"])),
        float(max(lost["single_purchase_days"], lost["floor_days"])),
    )
    b = b.mutate(lost_after_days=after)
    if p_alive is not None:
        pa_t = as_table(p_alive, "p_alive")
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


def _leads(leads: Any, buyers: ir.Table, as_of: date, cfg: Mapping[str, Any]) -> ir.Table:
    from custlens.segment.rules import compile_rule

    ld = as_table(leads, "leads")
    require_columns(ld, ["lead_id"], "leads")
    cid = ld.customer_id.cast("string") if "customer_id" in ld.columns else ibis.null().cast("string")
    ld = ld.mutate(_lid=cid.fill_null(ld.lead_id.cast("string")))
    if "created_at" in ld.columns:
        ld = ld.filter(as_dates(ld.created_at, "created_at", what="leads") <= ibis.literal(as_of))
    bought = buyers.select(_bid=buyers.customer_id)
    ld = ld.anti_join(bought, ld._lid == bought._bid)
    pot = cfg["potential"]
    man = ibis.literal(True)
    if "budget" in ld.columns:
        man = man & (ld.budget.cast("float64").fill_null(0.0) >= float(pot["min_budget"]))
    elif pot["min_budget"] > 0:
        raise InputError("leads: [potential] min_budget is set but the leads table has no 'budget' column")
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
    transactions: Any,
    *,
    as_of: date | str | None = None,
    leads: Any = None,
    p_alive: Any = None,
    p_alive_col: str = "p_alive",
    columns: TransactionColumns = TransactionColumns(),
    config: ConfigLike = None,
    _before_first_ok: bool = False,
) -> SegmentResult:
    """The relationship state of every buyer (and lead) at ``as_of``.

    An ``as_of`` before the first transaction raises :class:`InputError` (nothing to
    segment); :func:`state_flow` allows it for its start date (everyone comes from
    ``"(none)"``) through the private ``_before_first_ok``.

    Parameters
    ----------
    transactions
        Transactions (canonical columns by default; see ``columns``).
    leads
        Optional leads table (``lead_id``, ``customer_id``, ``budget``,
        ``decision_authority``, ``need``, ``created_at``): leads without a purchase become
        target, potential or non-customer.
    p_alive
        Optional table with ``customer_id`` and a P(alive) column (``p_alive_col``), e.g.
        from a fitted lifetime-value model; where given it decides "lost".

    Returns
    -------
    SegmentResult
        ``customers`` with :data:`STATE_COLUMNS` (buyer columns are null for leads).
    """
    cfg = _config(config)
    tx = as_table(transactions, "transactions")
    cols = columns.resolve(tx)
    given = resolve_as_of(as_of)
    as_of_d = given if _before_first_ok and given is not None else as_of_date(tx, cols.date, as_of)
    # materialised once on the backend (Ibis cache): the summary and the leads read it
    buyers = _buyers(tx, cols, as_of_d, cfg, p_alive, p_alive_col).cache()
    out = buyers.select(*[c for c in STATE_COLUMNS if c != "segment_zh"])
    if leads is not None:
        lead_rows = _leads(leads, buyers, as_of_d, cfg)
        filler = {c: ibis.null().cast(out[c].type()) for c in out.columns if c not in ("customer_id", "segment")}
        out = out.union(lead_rows.mutate(**filler).select(*out.columns))
    names = cfg["names"]
    out = out.mutate(segment_zh=name_column(out.segment, names))
    summary = summarise(out, segments=list(STATES), names_zh=names, value_col="revenue", orders_col="order_count")
    return SegmentResult("state", as_of_d, out.select(*STATE_COLUMNS), summary, cfg, {"value_column": "revenue"})


def state_flow(
    transactions: Any,
    start: date | str,
    end: date | str,
    *,
    leads: Any = None,
    columns: TransactionColumns = TransactionColumns(),
    config: ConfigLike = None,
) -> ir.Table:
    """The customer flow model: how many customers moved from each state at ``start`` to each at ``end``.

    Returns a table ``from_state, to_state, customers``; customers absent at ``start`` (not
    yet buyers or leads) come from ``"(none)"``.
    """
    s, e = resolve_as_of(start, "start"), resolve_as_of(end, "end")
    if s is None or e is None or not s < e:
        raise InputError(f"state flow: start ({start}) must be a date before end ({end})")
    a = relationship_state(
        transactions, as_of=s, leads=leads, columns=columns, config=config, _before_first_ok=True
    ).customers
    b = relationship_state(transactions, as_of=e, leads=leads, columns=columns, config=config).customers
    a = a.select(_aid=a.customer_id, from_state=a.segment)
    b = b.select(customer_id=b.customer_id, to_state=b.segment)
    j = b.left_join(a, b.customer_id == a._aid)
    j = j.mutate(from_state=j.from_state.fill_null("(none)"))
    return j.group_by(["from_state", "to_state"]).aggregate(customers=j.count()).order_by(["from_state", "to_state"])


def winback_list(
    transactions: Any,
    *,
    as_of: date | str | None = None,
    p_alive: Any = None,
    columns: TransactionColumns = TransactionColumns(),
    config: ConfigLike = None,
    top: int | None = None,
) -> ir.Table:
    """Lost customers worth recovering, ranked by historical revenue (largest first).

    Worth recovering: historical revenue >= ``[winback] min_revenue`` and at least
    ``[winback] min_orders`` orders. Columns: ``winback_rank`` and the state columns.
    """
    res = relationship_state(transactions, as_of=as_of, p_alive=p_alive, columns=columns, config=config)
    wb = res.config["winback"]
    c = res.customers
    c = c.filter(
        (c.segment == "lost") & (c.revenue >= float(wb["min_revenue"])) & (c.order_count >= int(wb["min_orders"]))
    )
    c = c.mutate(
        winback_rank=(ibis.row_number().over(order_by=[ibis.desc(c.revenue), c.customer_id]) + 1).cast("int64")
    )
    c = c.select("winback_rank", *[x for x in c.columns if x != "winback_rank"]).order_by("winback_rank")
    return c.limit(top) if top else c
