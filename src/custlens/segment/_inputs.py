"""Per-customer features for the ``*_from_transactions`` conveniences, through :mod:`custlens.features`.

The segmentation methods read one row per customer, the table of
:func:`custlens.features.customer_features`. When only a transaction log is at hand, the
conveniences build that table here -- with the windows their configuration asks for -- and
call the same methods. No feature is defined in this package.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis.expr.types as ir

from custlens._frames import as_ibis
from custlens.features import as_of_date, customer_features
from custlens.features.coerce import to_date, typed

__all__ = [
    "TransactionColumns",
    "features_from_transactions",
    "looks_like_transactions",
    "warn_transactions",
    "customer_summary",
]


@dataclass(frozen=True)
class TransactionColumns:
    """Names of the transaction columns (canonical names by default).

    ``order``, ``quantity`` and ``return_flag`` are used when present; naming one the table
    lacks (other than its default) is an :class:`~custlens.errors.InputError`. Without an
    order column every line is one order (as the R package *rfm* counts transactions).
    """

    customer: str = "customer_id"
    date: str = "ordered_at"
    amount: str = "amount"
    order: str | None = "order_id"
    quantity: str | None = "quantity"
    return_flag: str | None = "return_flag"


def features_from_transactions(
    transactions: Any,
    *,
    as_of: Any,
    columns: TransactionColumns,
    window_days: int | None = None,
    period_days: int = 90,
    periods: int = 4,
    customers: Any = None,
    check_as_of: bool = False,
    features: Collection[str] | None = None,
) -> tuple[ir.Table, date]:
    """:func:`~custlens.features.customer_features` of a transaction log, and the as-of day used.

    Nothing runs for typed date and amount columns and a given ``as_of``: the features are
    an expression. Text dates and amounts are converted and checked (one query each).
    Without ``as_of`` one aggregate query reads the last transaction day. With
    ``check_as_of`` a given ``as_of`` is checked against the first transaction day in that
    query (an as-of before it leaves nothing to segment:
    :class:`~custlens.errors.InputError`). With ``customers`` (the canonical customers
    table) every customer gets a row and the attribute columns are added. ``features``
    names the feature columns a method reads: only those are computed (all by default).
    """
    t = as_ibis(transactions, "transactions")
    t = typed(t, dates=[columns.date], numbers=[columns.amount])
    if as_of is None or check_as_of:
        day = as_of_date(t, as_of, date_col=columns.date)
    else:
        day = to_date(as_of, "as_of")
    feats = customer_features(
        t,
        as_of=day,
        customers=None if customers is None else as_ibis(customers, "customers"),
        window_days=window_days,
        period_days=period_days,
        periods=periods,
        customer_col=columns.customer,
        date_col=columns.date,
        amount_col=columns.amount,
        order_col=columns.order,
        quantity_col=columns.quantity,
        return_col=columns.return_flag,
        columns=features,
    )
    return feats, day


def looks_like_transactions(table: ir.Table, needs: str) -> bool:
    """Whether ``table`` is a transaction log rather than per-customer features.

    True when it lacks the feature column ``needs`` but has the canonical transaction date
    column ``ordered_at`` -- the old calling convention of the transaction-based methods.
    """
    return needs not in table.columns and "ordered_at" in table.columns


def warn_transactions(function: str) -> None:
    """The deprecation warning of the old convention ``function(transactions, ...)``."""
    warnings.warn(
        f"{function}() now reads per-customer features (custlens.features.customer_features); "
        f"passing a transaction table is deprecated: call {function}_from_transactions()",
        DeprecationWarning,
        stacklevel=3,
    )


def customer_summary(
    transactions: Any,
    *,
    as_of: Any = None,
    columns: TransactionColumns = TransactionColumns(),
    window_days: int | None = None,
) -> tuple[ir.Table, date]:
    """Deprecated: the buyers' rows of :func:`custlens.features.customer_features`, and the as-of day.

    The old per-customer summary of this package had its own definitions; it now returns
    the one definition of every feature (``docs/features.md``), for customers with at least
    one purchase order. Use :func:`custlens.features.customer_features`.
    """
    warnings.warn(
        "custlens.segment.customer_summary is deprecated; use custlens.features.customer_features "
        "(the same features, one definition)",
        DeprecationWarning,
        stacklevel=2,
    )
    feats, day = features_from_transactions(
        transactions, as_of=as_of, columns=columns, window_days=window_days, check_as_of=True
    )
    return feats.filter(feats.order_count > 0), day
