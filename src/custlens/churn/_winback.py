"""Win-back campaigns: who was targeted, when, and how many came back afterwards.

The course text's stance on lost customers is that many can be won back (许多客户是可以挽回,
并采取相应挽回措施). A campaign record -- one row per targeted customer with the day it was
contacted, optionally the campaign and a control group -- and the transactions give each
targeted customer's outcome: *recovered* when it bought again within ``window_days`` after
the contact. :func:`winback_outcomes` lists the outcomes, :func:`winback_summary` the
recovered rate per campaign (and group, with the lift over the control group).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from custlens._frames import as_arrow, as_ibis
from custlens.errors import InputError, did_you_mean

if TYPE_CHECKING:
    pass

__all__ = ["WINBACK_COLUMNS", "winback_outcomes", "winback_summary"]

WINBACK_COLUMNS = (
    "customer_id",
    "campaign",
    "group",
    "targeted_on",
    "window_end",
    "complete",
    "recovered",
    "first_purchase_after",
    "days_to_return",
    "orders_after",
    "revenue_after",
)
"""Columns of :func:`winback_outcomes`."""


def winback_outcomes(
    campaign: Any,
    transactions: Any,
    *,
    as_of: Any = None,
    window_days: int = 90,
    date_col: str = "targeted_at",
    campaign_col: str | None = "campaign_id",
    group_col: str | None = "group",
) -> pa.Table:
    """Each targeted customer's outcome: did it buy again within ``window_days`` of the contact?

    Parameters
    ----------
    campaign
        The campaign record: ``customer_id`` and the contact day ``date_col`` (a date,
        timestamp or ISO text), optionally the campaign name ``campaign_col`` and the group
        ``group_col`` (``target`` or ``control``; a control group was not contacted but is
        followed the same way). Columns named here that the table lacks are treated as
        absent (one campaign ``all``, group ``target``).
    transactions
        The transaction log (canonical columns); returns are not purchases.
    as_of
        Purchases after ``as_of`` are not counted (default: the last transaction day).
    window_days
        A customer is recovered when it has a purchase in ``(contact day, contact day +
        window_days]`` (cut at ``as_of``).

    Returns
    -------
    pyarrow.Table
        :data:`WINBACK_COLUMNS`, one row per row of the record: ``window_end`` = contact day
        + ``window_days``; ``complete`` = the whole window lies on or before ``as_of``;
        ``first_purchase_after`` the first purchase day in the window, ``days_to_return`` its
        distance from the contact, ``orders_after`` and ``revenue_after`` (net of returns) in
        the window.
    """
    import ibis

    from custlens.features._base import day_of, literal_date
    from custlens.features.coerce import typed
    from custlens.features.indicators import signed_lines

    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise InputError(f"'window_days' must be a whole number of days >= 1; got {window_days!r}")
    c = as_ibis(campaign, "campaign")
    for col, param in (("customer_id", "customer_id"), (date_col, "date_col")):
        if col not in c.columns:
            raise InputError(
                f"campaign: no column {col!r} (parameter {param!r}){did_you_mean(col, c.columns)}; "
                f"columns: {', '.join(c.columns)}"
            )
    c = typed(c, dates=[date_col], what="campaign")
    rows, day = signed_lines(
        as_ibis(transactions, "transactions"),
        as_of,
        customer_col="customer_id",
        date_col="ordered_at",
        amount_col="amount",
        order_col="order_id",
        cost_col=None,
        margin_col=None,
        quantity_col=None,
        return_col="return_flag",
    )
    targeted = day_of(c[date_col])
    c = c.select(
        _row=ibis.row_number(),
        customer_id=c.customer_id.cast("string"),
        campaign=c[campaign_col].cast("string") if campaign_col and campaign_col in c.columns else ibis.literal("all"),
        group=c[group_col].cast("string") if group_col and group_col in c.columns else ibis.literal("target"),
        targeted_on=targeted,
        window_end=targeted + ibis.interval(days=window_days),
    )
    c = c.mutate(complete=c.window_end <= literal_date(day))
    r = rows.select(
        t_id=rows.customer_id.cast("string"),
        day=rows.day,
        order_id=rows.order_id,
        amount=rows.amount,
        is_return=rows.is_return,
    )
    j = c.left_join(r, (c.customer_id == r.t_id) & (r.day > c.targeted_on) & (r.day <= c.window_end))
    buy = j.day.notnull() & ~j.is_return.fill_null(True)
    agg = j.group_by(["_row", "customer_id", "campaign", "group", "targeted_on", "window_end", "complete"]).aggregate(
        first_purchase_after=j.day.min(where=buy),
        orders_after=j.order_id.nunique(where=buy),
        revenue_after=j.amount.sum(where=j.day.notnull()),
    )
    out = agg.mutate(
        recovered=agg.first_purchase_after.notnull(),
        days_to_return=agg.first_purchase_after.delta(agg.targeted_on, unit="day").cast("int64"),
        orders_after=agg.orders_after.fill_null(0).cast("int64"),
        revenue_after=agg.revenue_after.fill_null(0.0),
    )
    if out.count().to_pyarrow().as_py() == 0:
        raise InputError("campaign: the record has no rows")
    from custlens.warehouse.compat import to_arrow  # not at import: the package leaves Ibis out

    return to_arrow(out.order_by("_row").select(*WINBACK_COLUMNS))


def winback_summary(outcomes: Any, *, complete_only: bool = False) -> pa.Table:
    """The recovered rate per campaign and group, with the lift over the control group.

    Parameters
    ----------
    outcomes
        The table of :func:`winback_outcomes`.
    complete_only
        Count only customers whose whole window has passed (``complete``).

    Returns
    -------
    pyarrow.Table
        ``campaign, group, targeted, recovered, recovered_rate, revenue_after,
        revenue_per_targeted, lift``: ``recovered_rate = recovered / targeted``; ``lift`` =
        the group's rate minus the campaign's ``control`` rate (null without a control
        group, and for the control group itself).
    """
    t = as_arrow(outcomes, "outcomes")
    missing = [c for c in ("campaign", "group", "recovered", "complete", "revenue_after") if c not in t.column_names]
    if missing:
        raise InputError(f"outcomes: no column {missing[0]!r}; expected the table of winback_outcomes")
    if complete_only:
        t = t.filter(t["complete"])
    t = t.append_column("_rec", pc.cast(t["recovered"], pa.int64()))
    g = t.group_by(["campaign", "group"], use_threads=False).aggregate(
        [("customer_id", "count"), ("_rec", "sum"), ("revenue_after", "sum")]
    )
    g = g.rename_columns(["campaign", "group", "targeted", "recovered", "revenue_after"])
    g = g.sort_by([("campaign", "ascending"), ("group", "descending")])
    rows = g.to_pylist()
    control = {r["campaign"]: r["recovered"] / r["targeted"] for r in rows if r["group"] == "control" and r["targeted"]}
    for r in rows:
        r["recovered_rate"] = r["recovered"] / r["targeted"] if r["targeted"] else None
        r["revenue_per_targeted"] = r["revenue_after"] / r["targeted"] if r["targeted"] else None
        base = control.get(r["campaign"])
        r["lift"] = (
            None
            if base is None or r["group"] == "control" or r["recovered_rate"] is None
            else r["recovered_rate"] - base
        )
    schema = pa.schema(
        [
            ("campaign", pa.string()),
            ("group", pa.string()),
            ("targeted", pa.int64()),
            ("recovered", pa.int64()),
            ("recovered_rate", pa.float64()),
            ("revenue_after", pa.float64()),
            ("revenue_per_targeted", pa.float64()),
            ("lift", pa.float64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)
