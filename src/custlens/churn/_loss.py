"""Permanent and temporary loss (永久流失型 / 暂时流失型): returns after a gap, and the lost customers' type.

The course text's customer-event method distinguishes customers lost for good (永久流失型,
Dwyer's 1989 "lost for good": the retention model values them) from customers lost for a
while who may come back (暂时流失型, "always a share": the migration model). Two kinds of
evidence tell them apart, and both are used:

* the purchase history: a *lapse* is a silence longer than the customer's own "lost"
  threshold (the relationship-state rule ``max(cycle_multiplier x own purchase cycle,
  floor_days)``); a purchase after a lapse is a *return after a gap*. :func:`gap_returns`
  counts them per customer; :func:`return_after_gap_rate` measures how often lapses end in
  a return within a follow-up time;
* the purchase model: P(alive) of a lost customer.

:func:`loss_types` calls a lost customer temporary when the model still gives it a fair
chance of being alive, or when it has come back after a gap before; permanent otherwise.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custlens._frames import as_arrow, as_ibis
from custlens.errors import InputError, did_you_mean

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["LOSS_TYPES", "GAP_COLUMNS", "gap_returns", "return_after_gap_rate", "loss_types"]

LOSS_TYPES: dict[str, str] = {"permanent": "永久流失型", "temporary": "暂时流失型"}
"""The two types of lost customers of the course text (客户事件预测法)."""

GAP_COLUMNS = (
    "customer_id",
    "purchase_days",
    "first_purchase_day",
    "last_purchase_day",
    "lost_after_days",
    "returns_after_gap",
    "longest_gap_days",
    "last_return_day",
    "days_since_last",
    "currently_lost",
)
"""Columns of :func:`gap_returns`."""


def _purchase_days(transactions: Any, as_of: Any, customer_col: str, date_col: str) -> tuple[ir.Table, dt.date]:
    from custlens.features.indicators import signed_lines

    tx = as_ibis(transactions, "transactions")
    rows, day = signed_lines(
        tx,
        as_of,
        customer_col=customer_col,
        date_col=date_col,
        amount_col="amount",
        order_col=None,
        cost_col=None,
        margin_col=None,
        quantity_col=None,
        return_col="return_flag",
    )
    buys = rows.filter(~rows.is_return)
    return buys.select(customer_id=buys.customer_id.cast("string"), day=buys.day).distinct(), day


def _lapses(
    transactions: Any, as_of: Any, config: Any, customer_col: str, date_col: str
) -> tuple[ir.Table, ir.Table, dt.date]:
    """Per-customer rhythm (with the lost threshold) and every gap between consecutive purchase days."""
    import ibis

    from custlens.segment import load_config
    from custlens.segment.state import lost_after_days

    lost = load_config("state", config)["lost"]
    days, day = _purchase_days(transactions, as_of, customer_col, date_col)
    per = days.group_by("customer_id").aggregate(first=days.day.min(), last=days.day.max(), n=days.count())
    span = per["last"].delta(per["first"], unit="day").cast("float64")
    cycle = ibis.ifelse(per.n > 1, span / (per.n - 1).cast("float64"), ibis.null("float64"))
    per = per.mutate(lost_after=lost_after_days(cycle, lost))
    w = ibis.window(group_by="customer_id", order_by="day")
    gaps = days.mutate(prev=days.day.lag().over(w))
    gaps = gaps.filter(gaps.prev.notnull())
    gaps = gaps.mutate(gap=gaps.day.delta(gaps.prev, unit="day").cast("float64"))
    p = per.select(g_id=per.customer_id, lost_after=per.lost_after)
    gaps = gaps.join(p, gaps.customer_id == p.g_id).drop("g_id")
    return per, gaps, day


def gap_returns(
    transactions: Any,
    *,
    as_of: Any = None,
    config: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
) -> ir.Table:
    """Returns after a gap per buyer: how often the customer went silent past its "lost" threshold and came back.

    Parameters
    ----------
    transactions
        The transaction log (canonical columns; returns are not purchases).
    as_of
        The as-of day (default: the last transaction day).
    config
        Relationship-state configuration (``[lost]`` of ``segment/defaults/state.toml``):
        ``lost_after_days = max(cycle_multiplier x (last - first purchase day) / (purchase
        days - 1), floor_days)``, one-time buyers ``max(single_purchase_days, floor_days)``.

    Returns
    -------
    ibis.Table
        :data:`GAP_COLUMNS`: ``returns_after_gap`` = gaps between consecutive purchase days
        longer than ``lost_after_days`` (each ended by a purchase); ``last_return_day`` the
        purchase day that ended the latest one; ``currently_lost`` = ``days_since_last >
        lost_after_days``. The threshold is the customer's rhythm at ``as_of``.
    """
    import ibis

    per, gaps, day = _lapses(transactions, as_of, config, customer_col, date_col)
    lapse = gaps.gap > gaps.lost_after
    agg = gaps.group_by(a_id=gaps.customer_id).aggregate(
        returns_after_gap=gaps.count(where=lapse),
        longest_gap_days=gaps.gap.max(),
        last_return_day=gaps.day.max(where=lapse),
    )
    j = per.left_join(agg, per.customer_id == agg.a_id)
    since_last = ibis.date(day.isoformat()).delta(j["last"], unit="day").cast("int64")
    return j.select(
        customer_id=j.customer_id,
        purchase_days=j.n.cast("int64"),
        first_purchase_day=j["first"],
        last_purchase_day=j["last"],
        lost_after_days=j.lost_after,
        returns_after_gap=j.returns_after_gap.fill_null(0).cast("int64"),
        longest_gap_days=j.longest_gap_days,
        last_return_day=j.last_return_day,
        days_since_last=since_last,
        currently_lost=since_last.cast("float64") > j.lost_after,
    )


def return_after_gap_rate(
    transactions: Any,
    *,
    as_of: Any = None,
    follow_days: int = 365,
    config: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
) -> dict[str, Any]:
    """How often a lapse ends in a return within ``follow_days``: the base's share of temporary loss.

    A lapse starts on the day a customer passes its threshold (``last purchase day +
    lost_after_days``). Lapses that started at least ``follow_days`` before ``as_of`` are
    followed up (younger ones could still end, so they are left out); a lapse *returned*
    when the customer bought again within ``follow_days`` of its start. One query.

    Returns
    -------
    dict
        ``lapses`` (followed up), ``returned``, ``rate = returned / lapses`` (None without
        lapses), ``follow_days``, ``as_of``.
    """
    import ibis

    if isinstance(follow_days, bool) or not isinstance(follow_days, int) or follow_days < 1:
        raise InputError(f"'follow_days' must be a whole number of days >= 1; got {follow_days!r}")
    per, gaps, day = _lapses(transactions, as_of, config, customer_col, date_col)
    cutoff = float((day - dt.date(1970, 1, 1)).days - follow_days)
    closed = gaps.filter(gaps.gap > gaps.lost_after)
    closed = closed.select(
        start=closed.prev.epoch_days().cast("float64") + closed.lost_after,
        wait=closed.gap - closed.lost_after,
    )
    open_ = per.filter(per["last"].epoch_days().cast("float64") + per.lost_after <= cutoff)
    open_ = open_.select(start=open_["last"].epoch_days().cast("float64") + open_.lost_after, wait=ibis.null("float64"))
    events = closed.union(open_)
    events = events.filter(events.start <= cutoff)
    row = (
        events.aggregate(lapses=events.count(), returned=events.count(where=events.wait <= follow_days))
        .to_pyarrow()
        .to_pylist()[0]
    )
    lapses, returned = int(row["lapses"] or 0), int(row["returned"] or 0)
    return {
        "lapses": lapses,
        "returned": returned,
        "rate": returned / lapses if lapses else None,
        "follow_days": follow_days,
        "as_of": day.isoformat(),
    }


def loss_types(
    lost: Any,
    *,
    p_alive: Any = None,
    gaps: Any = None,
    p_alive_threshold: float = 0.15,
    min_returns: int = 1,
) -> pa.Table:
    """Permanent or temporary loss (永久流失型 / 暂时流失型) for each lost customer.

    Parameters
    ----------
    lost
        The lost customers: a table with ``customer_id`` (e.g. the ``lost`` segment of
        :func:`custlens.segment.relationship_state`, or the ``lost`` churn-risk band).
    p_alive
        A table ``customer_id, p_alive`` from the purchase model (e.g. the table of
        :func:`custlens.clv.value_customers`).
    gaps
        The table of :func:`gap_returns` (``customer_id, returns_after_gap``).
    p_alive_threshold
        A lost customer with ``p_alive >= p_alive_threshold`` is temporary (default 0.15,
        the bound of the churn-risk band ``lost``).
    min_returns
        A lost customer that came back after a gap at least this often before is temporary.

    Returns
    -------
    pyarrow.Table
        ``customer_id, p_alive, returns_after_gap, loss_type, loss_type_zh, basis``:
        ``temporary`` when the model or the history says so (``basis`` ``p_alive``,
        ``returned_before`` or ``both``), else ``permanent`` (``basis`` ``neither``).
        Missing evidence counts as none (a customer absent from ``p_alive`` or ``gaps``).
    """
    if not (isinstance(p_alive_threshold, (int, float)) and 0 <= p_alive_threshold <= 1) or isinstance(
        p_alive_threshold, bool
    ):
        raise InputError(f"'p_alive_threshold' must be a probability in [0, 1]; got {p_alive_threshold!r}")
    if isinstance(min_returns, bool) or not isinstance(min_returns, int) or min_returns < 1:
        raise InputError(f"'min_returns' must be a whole number >= 1; got {min_returns!r}")
    if p_alive is None and gaps is None:
        raise InputError("loss_types needs evidence: give 'p_alive' (the purchase model) and/or 'gaps' (gap_returns)")
    ids = _ids(as_arrow(lost, "lost"), "lost")
    pa_vals = _lookup(ids, p_alive, "p_alive", "p_alive")
    returns = _lookup(ids, gaps, "returns_after_gap", "gaps")
    by_model = np.nan_to_num(pa_vals, nan=-1.0) >= p_alive_threshold
    by_history = np.nan_to_num(returns, nan=0.0) >= min_returns
    temporary = by_model | by_history
    basis = np.where(
        by_model & by_history, "both", np.where(by_model, "p_alive", np.where(by_history, "returned_before", "neither"))
    )
    kind = np.where(temporary, "temporary", "permanent")
    return pa.table(
        {
            "customer_id": ids,
            "p_alive": pa.array(pa_vals, pa.float64(), from_pandas=True),
            "returns_after_gap": pa.array(returns, pa.float64(), from_pandas=True).cast(pa.int64(), safe=False)
            if gaps is not None
            else pa.nulls(len(ids), pa.int64()),
            "loss_type": pa.array(kind.tolist(), pa.string()),
            "loss_type_zh": pa.array([LOSS_TYPES[k] for k in kind.tolist()], pa.string()),
            "basis": pa.array(basis.tolist(), pa.string()),
        }
    )


def _ids(table: pa.Table, what: str) -> pa.Array:
    if "customer_id" not in table.column_names:
        raise InputError(
            f"{what}: no column 'customer_id'{did_you_mean('customer_id', table.column_names)}; "
            f"columns: {', '.join(table.column_names)}"
        )
    return pc.cast(table["customer_id"], pa.string()).combine_chunks()


def _lookup(ids: pa.Array, source: Any, column: str, what: str) -> np.ndarray:
    """``source[column]`` for each id (NaN where absent or when ``source`` is None)."""
    if source is None:
        return np.full(len(ids), np.nan)
    t = as_arrow(source, what)
    keys = _ids(t, what)
    if column not in t.column_names:
        raise InputError(f"{what}: no column {column!r}{did_you_mean(column, t.column_names)}")
    idx = pc.index_in(ids, value_set=keys)
    vals = pc.cast(t[column], pa.float64()).combine_chunks().take(pc.fill_null(idx, 0))
    out = vals.to_numpy(zero_copy_only=False).astype(float)
    out[pc.is_null(idx).to_numpy(zero_copy_only=False)] = np.nan
    return out
