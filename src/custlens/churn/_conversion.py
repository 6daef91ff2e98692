"""Conversion rates between relationship states, period by period (the customer flow model).

The course text's customer flow (客户流转模式) moves people from potential and target
customers to first-time, repeat and loyal customers, to lost customers and back (挽回), or
away for good. :func:`state_conversion` measures those moves over consecutive periods: for
each period and each state at its start, the share of customers in each state at its end,
and the share who bought in the period -- which the text gives for the success of selling
to each kind of customer (6 % to potential and target customers, 15 % to first-time
buyers, 50 % to repeat and loyal customers; :data:`SALES_SUCCESS_RATES`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from custlens._frames import as_ibis
from custlens.errors import InputError

__all__ = ["SALES_SUCCESS_RATES", "CONVERSION_COLUMNS", "period_ends", "state_conversion"]

SALES_SUCCESS_RATES: dict[str, float] = {
    "potential": 0.06,
    "target": 0.06,
    "first_time": 0.15,
    "repeat": 0.50,
    "loyal": 0.50,
}
"""The course text's success rates of selling to each state (客户的认识: 销售给潜在客户和目标客户
的成功率为6%, 初次购买客户15%, 重复购买客户和忠诚客户50%)."""

CONVERSION_COLUMNS = (
    "period_start",
    "period_end",
    "from_state",
    "from_state_zh",
    "to_state",
    "to_state_zh",
    "customers",
    "from_customers",
    "rate",
    "bought_rate",
    "course_success_rate",
)
"""Columns of :func:`state_conversion`."""


def period_ends(as_of: Any, periods: int = 4, period_days: int = 91) -> list[dt.date]:
    """``periods + 1`` dates ``as_of - k x period_days`` (k = periods .. 0), oldest first."""
    from custlens.features.coerce import to_date

    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise InputError(f"'periods' must be a whole number >= 1; got {periods!r}")
    if isinstance(period_days, bool) or not isinstance(period_days, int) or period_days < 1:
        raise InputError(f"'period_days' must be a whole number of days >= 1; got {period_days!r}")
    end = to_date(as_of, "as_of")
    return [end - dt.timedelta(days=k * period_days) for k in range(periods, -1, -1)]


def state_conversion(
    transactions: Any,
    dates: Any,
    *,
    leads: Any = None,
    config: Any = None,
) -> pa.Table:
    """Moves between relationship states in each period between consecutive ``dates``.

    Parameters
    ----------
    transactions
        The transaction log (canonical columns).
    dates
        Two or more increasing dates (e.g. :func:`period_ends`); period ``k`` runs from
        ``dates[k]`` (exclusive) to ``dates[k + 1]`` (inclusive).
    leads
        The leads table (potential, target and non-customers), as for
        :func:`custlens.segment.relationship_state`.
    config
        Relationship-state configuration (``segment/defaults/state.toml`` overrides).

    Returns
    -------
    pyarrow.Table
        :data:`CONVERSION_COLUMNS`, one row per period and pair of states with customers:
        ``customers`` moved from ``from_state`` at the start to ``to_state`` at the end
        (:func:`custlens.segment.state_flow`); ``from_customers`` in ``from_state`` at the
        start; ``rate = customers / from_customers``; ``bought_rate`` the share of the
        ``from_state`` customers with a purchase in the period; ``course_success_rate`` the
        text's success rate of selling to that state (null where it gives none). Customers
        new in a period come from ``(none)``.
    """
    from custlens.features.coerce import to_date
    from custlens.segment import load_config, state_flow
    from custlens.segment.state import relationship_state_from_transactions

    ends = [to_date(d, "dates") for d in dates]
    if len(ends) < 2 or any(b <= a for a, b in zip(ends, ends[1:])):
        raise InputError(f"'dates' must be two or more increasing dates; got {[d.isoformat() for d in ends]}")
    names = dict(load_config("state", config)["names"]) | {"(none)": "（新出现）"}
    tx = as_ibis(transactions, "transactions")
    rows: list[dict[str, Any]] = []
    for start, end in zip(ends, ends[1:]):
        flow = state_flow(tx, start, end, leads=leads, config=config).to_pyarrow().to_pylist()
        before = relationship_state_from_transactions(tx, as_of=start, leads=leads, config=config).customers
        bought = _bought_between(tx, start, end)
        b = before.left_join(bought, before.customer_id == bought.b_id)
        per_state = (
            b.group_by(from_state=b.segment)
            .aggregate(n=b.count(), buyers=b.b_id.notnull().sum())
            .to_pyarrow()
            .to_pylist()
        )
        sizes = {r["from_state"]: (r["n"], r["buyers"]) for r in per_state}
        sizes["(none)"] = (sum(r["customers"] for r in flow if r["from_state"] == "(none)"), None)
        for r in flow:
            n, buyers = sizes.get(r["from_state"], (0, None))
            rows.append(
                {
                    "period_start": start,
                    "period_end": end,
                    "from_state": r["from_state"],
                    "from_state_zh": names.get(r["from_state"], r["from_state"]),
                    "to_state": r["to_state"],
                    "to_state_zh": names.get(r["to_state"], r["to_state"]),
                    "customers": int(r["customers"]),
                    "from_customers": int(n),
                    "rate": r["customers"] / n if n else None,
                    "bought_rate": None if buyers is None or not n else buyers / n,
                    "course_success_rate": SALES_SUCCESS_RATES.get(r["from_state"]),
                }
            )
    schema = pa.schema(
        [
            ("period_start", pa.date32()),
            ("period_end", pa.date32()),
            ("from_state", pa.string()),
            ("from_state_zh", pa.string()),
            ("to_state", pa.string()),
            ("to_state_zh", pa.string()),
            ("customers", pa.int64()),
            ("from_customers", pa.int64()),
            ("rate", pa.float64()),
            ("bought_rate", pa.float64()),
            ("course_success_rate", pa.float64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _bought_between(tx: Any, start: dt.date, end: dt.date) -> Any:
    """``b_id``: customers with a purchase (not a return) dated in ``(start, end]``."""
    from custlens.features.indicators import signed_lines

    rows, _ = signed_lines(
        tx,
        end,
        customer_col="customer_id",
        date_col="ordered_at",
        amount_col="amount",
        order_col=None,
        cost_col=None,
        margin_col=None,
        quantity_col=None,
        return_col="return_flag",
    )
    import ibis

    buys = rows.filter(~rows.is_return & (rows.day > ibis.date(start.isoformat())))
    return buys.select(b_id=buys.customer_id.cast("string")).distinct()
