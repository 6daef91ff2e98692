"""Share of wallet: the part of a customer's spending in the category that comes to us.

The course text asks companies to consider how customers allocate their spending (考虑客户
支出分配); with an estimate of what each customer spends in the category over a period
(a survey answer, a bureau estimate, a model), the share of wallet is what the customer
spent with us over the same period divided by that estimate, and the headroom the rest --
potential value not yet won. Definitions in ``docs/features.md`` ("Share of wallet").
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens._frames import as_ibis
from custlens.errors import InputError
from custlens.features._base import literal_date, require_columns
from custlens.features.coerce import typed
from custlens.features.indicators import signed_lines
from custlens.schema import DAYS_PER_MONTH

__all__ = ["WALLET_COLUMNS", "share_of_wallet"]

WALLET_COLUMNS = ("customer_id", "our_spend", "category_spend", "share_of_wallet", "headroom", "estimate_below_spend")
"""Columns of :func:`share_of_wallet`."""


def share_of_wallet(
    transactions: Any,
    category_spend: Any,
    *,
    as_of: Any = None,
    months: float = 12.0,
    spend_col: str = "category_spend",
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
) -> ir.Table:
    """Each customer's share of wallet over the last ``months`` months.

    Parameters
    ----------
    transactions
        The transaction log (canonical columns; returns count negative).
    category_spend
        One row per customer: ``customer_id`` and ``spend_col``, the customer's estimated
        spending in the category over a period of ``months`` months ending at ``as_of``
        (with us and with everyone else).
    as_of
        The as-of day (default: the last transaction day).
    months
        The length of the period the estimate covers (12: a year).

    Returns
    -------
    ibis.Table
        :data:`WALLET_COLUMNS`, one row per customer of ``category_spend``: ``our_spend`` =
        net revenue in ``(as_of - months x 30.4375 days, as_of]``; ``share_of_wallet =
        our_spend / category_spend`` (null when the estimate is not positive);
        ``headroom = max(category_spend - our_spend, 0)``; ``estimate_below_spend`` when the
        customer spent more with us than the estimate (the share then exceeds 1: check the
        estimate).
    """
    if isinstance(months, bool) or not isinstance(months, (int, float)) or not (math.isfinite(months) and months > 0):
        raise InputError(f"'months' must be a number > 0; got {months!r}")
    est = as_ibis(category_spend, "category_spend")
    require_columns(est, {"customer_id": "customer_id", "spend_col": spend_col}, "category_spend")
    est = typed(est, numbers=[spend_col], what="category_spend")
    tx = as_ibis(transactions, "transactions")
    rows, day = signed_lines(
        tx,
        as_of,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        order_col=None,
        cost_col=None,
        margin_col=None,
        quantity_col=None,
        return_col="return_flag",
    )
    start = day - dt.timedelta(days=int(round(months * DAYS_PER_MONTH)))
    recent = rows.filter(rows.day > literal_date(start))
    ours = recent.group_by(o_id=recent.customer_id.cast("string")).aggregate(our=recent.amount.sum())
    e = est.select(customer_id=est.customer_id.cast("string"), category_spend=est[spend_col].cast("float64"))
    j = e.left_join(ours, e.customer_id == ours.o_id)
    our = j.our.fill_null(0.0)
    return j.select(
        customer_id=j.customer_id,
        our_spend=our,
        category_spend=j.category_spend,
        share_of_wallet=ibis.ifelse(j.category_spend > 0, our / j.category_spend, ibis.null("float64")),
        headroom=ibis.greatest(j.category_spend - our, 0.0),
        estimate_below_spend=(our > j.category_spend).fill_null(False),
    )
