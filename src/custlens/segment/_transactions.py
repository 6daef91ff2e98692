"""Per-customer purchase summaries computed from a transaction log (Ibis expressions).

The segmentation methods read per-customer features; when only a transaction log is at
hand (the ``custlens segment rfm FILE`` form) this module builds the few columns they need,
named as in :mod:`custlens.features` (``order_count``, ``revenue``, ``recency_days``, ...).

Rules (documented in docs/segmentation.md):

* rows dated after the as-of date are ignored; the default as-of date is the date of the
  latest transaction;
* a row with a negative amount is a return: it reduces ``revenue`` but is not a purchase;
* ``order_count`` counts distinct order ids among purchase rows, or purchase rows when no
  order column is given (as the R package *rfm* counts transactions);
* dates are whole calendar days (UTC): ``recency_days = as_of - last purchase date``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

from custlens.errors import InputError
from custlens.segment._common import as_table, require_columns, resolve_as_of

__all__ = [
    "TransactionColumns",
    "customer_summary",
    "as_dates",
    "as_numbers",
    "check_convertible",
    "latest_date",
    "as_of_date",
]

SUMMARY_COLUMNS = (
    "customer_id",
    "order_count",
    "revenue",
    "avg_order_value",
    "quantity",
    "first_purchase_at",
    "last_purchase_at",
    "recency_days",
    "tenure_days",
    "avg_purchase_cycle_days",
    "window_orders",
    "window_revenue",
)


@dataclass(frozen=True)
class TransactionColumns:
    """Names of the transaction columns a method reads (canonical names by default)."""

    customer: str = "customer_id"
    date: str = "ordered_at"
    amount: str = "amount"
    order: str | None = "order_id"
    quantity: str | None = None

    def resolve(self, table: ir.Table) -> TransactionColumns:
        """Check the columns exist; an absent default ``order_id`` means 'one row per order'."""
        order = self.order
        if order == "order_id" and order not in table.columns:
            order = None
        cols = {"customer": self.customer, "date": self.date, "amount": self.amount}
        if order:
            cols["order"] = order
        if self.quantity:
            cols["quantity"] = self.quantity
        require_columns(table, {f"{k} column": v for k, v in cols.items()}, "transactions")
        return TransactionColumns(self.customer, self.date, self.amount, order, self.quantity)


def _column_table(col: ir.Value) -> ir.Table:
    """The table a column expression reads from (the column itself when it is derived)."""
    op = col.op()
    return op.rel.to_expr() if isinstance(op, ops.Field) else col.as_table()


def check_convertible(
    col: ir.Value, converted: ir.Value, name: str, *, noun: str, what: str = "transactions", expected: str = ""
) -> None:
    """Raise InputError when a non-blank value of ``col`` is null in ``converted``.

    ``converted`` is ``col`` converted with ``try_cast`` (null where the conversion fails).
    One aggregate query counts the failures and finds the first one; ``row`` in the message
    is the 1-based position among the table's data rows (data row 1 is the first row under
    a file's header line).

    Raises
    ------
    InputError
        e.g. ``transactions: column 'ordered_at': 1 value(s) are not dates (first: data
        row 2, 'not-a-date'); expected ISO dates like 2024-01-31``.
    """
    t = _column_table(col)
    blank = col.cast("string").strip() == ""
    rows = t.select(_v=col, _bad=col.notnull() & ~blank.fill_null(True) & converted.isnull(), _r=ibis.row_number() + 1)
    res = rows.aggregate(
        n=rows._bad.sum(),
        first=rows._r.min(where=rows._bad),
        value=rows._v.cast("string").argmin(rows._r, where=rows._bad),
    ).to_pyarrow()
    n = res["n"][0].as_py() or 0
    if n:
        hint = f"; expected {expected}" if expected else ""
        raise InputError(
            f"{what}: column {name!r}: {n} value(s) are not {noun} (first: data row "
            f"{res['first'][0].as_py()}, {res['value'][0].as_py()!r}){hint}"
        )


def as_dates(col: ir.Value, name: str, *, what: str = "transactions") -> ir.DateValue:
    """A date column from dates, timestamps, ISO strings or integers like 19970101.

    Text is checked first (one query; blank cells become null): a value that is not an ISO
    date raises :class:`InputError` naming the column, the first bad row and its value.
    Date and timestamp columns are used as they are, at no extra cost.
    """
    typ = col.type()
    if typ.is_date():
        return col
    if typ.is_timestamp():
        return col.date()
    if typ.is_string():
        day = col.try_cast("date")
        check_convertible(col, day, name, noun="dates", what=what, expected="ISO dates like 2024-01-31")
        return day
    if typ.is_integer():
        return col.cast("string").as_date("%Y%m%d")
    raise InputError(
        f"date column {name!r} has type {typ}; expected a date, timestamp, ISO date text or YYYYMMDD integers"
    )


def as_numbers(col: ir.Value, name: str, *, what: str = "transactions") -> ir.FloatingValue:
    """A float64 column from a numeric column or from text holding numbers.

    Text is checked first (one query; blank cells become null): a value that is not a
    number raises :class:`InputError` naming the column, the first bad row and its value.
    Numeric columns are only cast, at no extra cost.
    """
    typ = col.type()
    if typ.is_numeric():
        return col.cast("float64")
    if typ.is_string():
        num = col.try_cast("float64")
        check_convertible(col, num, name, noun="numbers", what=what)
        return num
    raise InputError(f"{what}: column {name!r} must be numeric, got {typ}")


def _to_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    return value.date()


def _as_of_for(day: ir.DateValue, as_of: date | str | None) -> date:
    """The as-of date to use: ``as_of``, or the latest date in the log when it is None.

    One aggregate query reads the first and the latest date. An as-of date before the
    first transaction leaves nothing to segment and raises :class:`InputError`.
    """
    given = resolve_as_of(as_of)
    row = day.as_table().aggregate(first=day.min(), last=day.max()).to_pyarrow().to_pylist()[0]
    first, last = _to_date(row["first"]), _to_date(row["last"])
    if given is None:
        if last is None:
            raise InputError("transactions: the table is empty, so there is no as-of date to default to")
        return last
    if first is not None and given < first:
        raise InputError(
            f"as_of {given.isoformat()} is before the first transaction ({first.isoformat()}); nothing to segment"
        )
    return given


def latest_date(transactions: ir.Table, date_col: str) -> date:
    """The latest date in the log (the default as-of date)."""
    return _as_of_for(as_dates(transactions[date_col], date_col), None)


def as_of_date(transactions: ir.Table, date_col: str, as_of: date | str | None) -> date:
    """``as_of`` checked against the log (or its latest date when None), in one query.

    Raises
    ------
    InputError
        When ``as_of`` is before the first transaction ("as_of 2000-01-01 is before the
        first transaction (2024-01-03); nothing to segment") or the log is empty and no
        ``as_of`` is given.
    """
    return _as_of_for(as_dates(transactions[date_col], date_col), as_of)


def customer_summary(
    transactions: ir.Table,
    *,
    as_of: date | str | None = None,
    columns: TransactionColumns = TransactionColumns(),
    window_days: int | None = None,
    _checked: bool = False,
) -> tuple[ir.Table, date]:
    """One row per customer with at least one purchase on or before ``as_of``.

    Returns the table (columns ``customer_id, order_count, revenue, avg_order_value,
    quantity, first_purchase_at, last_purchase_at, recency_days, tenure_days,
    avg_purchase_cycle_days, window_orders, window_revenue``) and the as-of date used.
    ``window_orders``/``window_revenue`` count only purchases in the last ``window_days``
    days before ``as_of`` (all purchases when ``window_days`` is None).
    An ``as_of`` before the first transaction raises :class:`InputError` (one aggregate
    query reads the first and latest dates; ``_checked=True`` skips it for a date the
    caller already checked with :func:`as_of_date`).
    """
    t = as_table(transactions, "transactions")
    cols = columns.resolve(t)
    amount = as_numbers(t[cols.amount], cols.amount)
    day = as_dates(t[cols.date], cols.date)
    as_of_d = as_of if _checked and isinstance(as_of, date) else _as_of_for(day, as_of)
    base = t.mutate(_cid=t[cols.customer].cast("string"), _day=day, _amt=amount)
    base = base.filter(base._day <= ibis.literal(as_of_d))
    purchase = base._amt >= 0
    start = as_of_d - timedelta(days=window_days) if window_days else None
    in_window = purchase & (base._day > ibis.literal(start)) if start else purchase
    if cols.order:
        oid = base[cols.order].cast("string")
        orders = oid.nunique(where=purchase)
        w_orders = oid.nunique(where=in_window)
    else:
        orders = purchase.sum()
        w_orders = in_window.sum()
    qty = base[cols.quantity].cast("float64").sum() if cols.quantity else ibis.null().cast("float64")
    agg = base.group_by(customer_id=base._cid).aggregate(
        order_count=orders.cast("int64"),
        revenue=base._amt.sum(),
        quantity=qty,
        first_purchase_at=base._day.min(where=purchase),
        last_purchase_at=base._day.max(where=purchase),
        window_orders=w_orders.cast("int64"),
        window_revenue=base._amt.sum(where=(base._day > ibis.literal(start)) if start else None).fill_null(0.0),
    )
    agg = agg.filter(agg.order_count > 0)
    lit = ibis.literal(as_of_d)
    span = agg.last_purchase_at.delta(agg.first_purchase_at, unit="day")
    out = agg.mutate(
        avg_order_value=agg.revenue / agg.order_count,
        recency_days=lit.delta(agg.last_purchase_at, unit="day").cast("int64"),
        tenure_days=lit.delta(agg.first_purchase_at, unit="day").cast("int64"),
        avg_purchase_cycle_days=ibis.ifelse(
            agg.order_count > 1, span.cast("float64") / (agg.order_count - 1), ibis.null().cast(dt.float64)
        ),
    )
    return out.select(*SUMMARY_COLUMNS), as_of_d
