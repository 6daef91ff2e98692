"""Value-evaluation indicators per customer: transaction, financial, contact, attributes.

The indicator families are the ones CRM practice uses to judge a customer's value
(transaction value, payment behaviour, service contact, characteristic attributes); every
column and its formula is listed in ``docs/features.md``. Everything is an Ibis
expression; all inputs are cut at the as-of date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir

from custlens.features._base import day_of, literal_date, optional_column, require_columns, resolve_as_of
from custlens.features._windows import ACTIVITY_COLUMNS, WINDOW_COLUMNS, Windows, window_aggregates, window_columns
from custlens.features.coerce import typed
from custlens.schema import TABLES
from custlens.warehouse.compat import check_utc

__all__ = [
    "value_indicators",
    "resolve_transaction_columns",
    "transaction_lines",
    "signed_lines",
    "signed_lines_keeping",
    "build_indicators",
    "TRANSACTION_INDICATORS",
    "FINANCIAL_INDICATORS",
    "CONTACT_INDICATORS",
    "ATTRIBUTE_COLUMNS",
    "INDICATOR_COLUMNS",
    "HAS_ORDERS",
]

TRANSACTION_INDICATORS = (
    "order_count",
    "revenue",
    "profit",
    "margin_rate",
    "avg_order_value",
    "max_order_value",
    "return_amount",
    "return_count",
    "quantity",
    "first_purchase_at",
    "last_purchase_at",
    "tenure_days",
    "recency_days",
    "avg_purchase_cycle_days",
)
FINANCIAL_INDICATORS = (
    "invoice_count",
    "max_payment",
    "avg_payment",
    "avg_collection_days",
    "avg_arrears",
    "arrears_rate",
    "overdue_count",
)
CONTACT_KINDS = ("complaint", "praise", "suggestion", "inquiry", "service_task")
CONTACT_INDICATORS = (
    "interaction_count",
    "complaint_count",
    "praise_count",
    "suggestion_count",
    "inquiry_count",
    "service_task_count",
    "complaint_ratio",
    "praise_ratio",
    "suggestion_ratio",
)
ATTRIBUTE_COLUMNS = (
    "customer_type",
    "region",
    "industry",
    "company_size",
    "registered_capital",
    "annual_sales",
    "listed",
    "gender",
    "age_band",
    "education",
    "income_band",
    "occupation",
    "acquisition_channel",
    "created_at",
)
INDICATOR_COLUMNS = ("customer_id", *TRANSACTION_INDICATORS, *FINANCIAL_INDICATORS, *CONTACT_INDICATORS)
"""Columns of :func:`value_indicators` without ``customers`` (attributes follow when given)."""
HAS_ORDERS = "has_orders"
"""A column only given when ``columns`` names it: whether ``order_count > 0``, without counting.

A method that keeps the buyers but shows no order count (lifecycle stages) filters on this
instead of ``order_count``: the same rows (a purchase line with an order id), and the engine
does not keep a set of order ids per customer to count them.
"""

_FIN_TYPES = {"invoice_count": "int64", "overdue_count": "int64"}


def resolve_transaction_columns(
    transactions: ir.Table,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    order_col: str | None,
    cost_col: str | None,
    margin_col: str | None,
    quantity_col: str | None,
    return_col: str | None,
) -> dict[str, str | None]:
    """Check the transaction columns; optional ones resolve to ``None`` when absent."""
    check_utc(transactions)
    require_columns(transactions, {"customer_col": customer_col, "date_col": date_col, "amount_col": amount_col})
    return {
        "customer": customer_col,
        "date": date_col,
        "amount": amount_col,
        "order": optional_column(transactions, order_col, "order_col", "order_id"),
        "cost": optional_column(transactions, cost_col, "cost_col", "cost"),
        "margin": optional_column(transactions, margin_col, "margin_col", "margin"),
        "quantity": optional_column(transactions, quantity_col, "quantity_col", "quantity"),
        "return": optional_column(transactions, return_col, "return_col", "return_flag"),
    }


def signed_lines(transactions: ir.Table, as_of: Any, **names: str | None) -> tuple[ir.Table, dt.date]:
    """The signed lines of :func:`transaction_lines` up to ``as_of``, and the as-of day used.

    ``names`` are the column keywords of :func:`value_indicators` (``customer_col`` ...
    ``return_col``). Text dates and amounts are converted first (one checking query each);
    typed columns run no query. Without ``as_of`` the last transaction day is read (one
    scalar query).
    """
    return signed_lines_keeping(transactions, as_of, (), names)


def signed_lines_keeping(
    transactions: ir.Table, as_of: Any, keep: tuple[str, ...], names: Mapping[str, str | None]
) -> tuple[ir.Table, dt.date]:
    """:func:`signed_lines` carrying the columns ``keep`` (e.g. ``category``) as they are."""
    cols = resolve_transaction_columns(transactions, **names)  # type: ignore[arg-type]
    t = typed(
        transactions,
        dates=[cols["date"]],
        numbers=[cols["amount"], cols["cost"], cols["margin"], cols["quantity"]],
    )
    day = resolve_as_of(day_of(t[cols["date"]], "date_col"), as_of, "as_of")
    return transaction_lines(t, day, cols, keep), day


def transaction_lines(t: ir.Table, as_of: dt.date, c: dict[str, str | None], keep: tuple[str, ...] = ()) -> ir.Table:
    """Signed transaction lines up to ``as_of``.

    Columns: ``customer_id, order_id, at, day, is_return, amount, profit, quantity``.
    The return rule of :mod:`custlens.schema`: a line is a return when its return flag is
    true or its amount is negative. Returns count negative: a return recorded with a
    positive amount is negated, with its profit; a return's units count ``-|quantity|``.
    ``profit`` is the margin, else amount - cost, else null. Lines after the as-of day, and lines without a customer
    or a date, are dropped.
    """
    amount = t[c["amount"]].cast("float64")
    flagged = t[c["return"]].cast("boolean").fill_null(False) if c["return"] else ibis.literal(False)
    is_return = flagged | (amount < 0)
    sign = ibis.cases((flagged & (amount > 0), -1.0), else_=1.0)
    if c["margin"] and c["cost"]:
        line_profit = t[c["margin"]].cast("float64").fill_null(amount - t[c["cost"]].cast("float64"))
    elif c["margin"]:
        line_profit = t[c["margin"]].cast("float64")
    elif c["cost"]:
        line_profit = amount - t[c["cost"]].cast("float64")
    else:
        line_profit = ibis.null().cast("float64")
    quantity = t[c["quantity"]].cast("float64") if c["quantity"] else ibis.null().cast("float64")
    order = t[c["order"]].cast("string") if c["order"] else ibis.row_number().cast("string")
    ts = t[c["date"]]
    return t.filter(t[c["customer"]].notnull(), ts.notnull(), day_of(ts) <= literal_date(as_of)).select(
        customer_id=t[c["customer"]],
        order_id=order,
        at=ts,
        day=day_of(ts),
        is_return=is_return,
        amount=amount * sign,
        profit=line_profit * sign,
        quantity=ibis.ifelse(is_return, -quantity.abs(), quantity),
        **{name: t[name] for name in keep},
    )


def _transaction_part(
    rows: ir.Table,
    as_of: dt.date,
    windows: Windows | None,
    has_quantity: bool,
    columns: Collection[str] | None = None,
) -> ir.Table:
    """The transaction indicators (and window columns) per customer, from one aggregation.

    With ``columns``, only those output columns (and ``customer_id``) are built, from only
    the reductions they read: the engine computes neither an unused distinct count nor
    the order-value aggregation behind ``max_order_value``.
    """
    buy = ~rows.is_return
    aggregates: dict[str, ir.Value] = dict(
        order_count=rows.order_id.nunique(where=buy),
        order_lines=rows.order_id.count(where=buy),
        revenue=rows.amount.sum(),
        profit=rows.profit.sum(),
        n_profit=rows.profit.count(),
        return_amount=(-rows.amount).sum(where=rows.is_return),
        return_count=rows.order_id.nunique(where=rows.is_return),
        quantity=rows.quantity.sum(),
        first_purchase_at=rows.at.min(where=buy),
        last_purchase_at=rows.at.max(where=buy),
        first_day=rows.day.min(where=buy),
        last_day=rows.day.max(where=buy),
        purchase_days=rows.day.nunique(where=buy),
        **(window_aggregates(rows, as_of, windows) if windows is not None else {}),
    )
    j = _joined(rows, rows.group_by("customer_id").aggregate(**aggregates), with_orders=True)
    outputs = _transaction_columns(j, as_of, windows, has_quantity)
    if columns is None:
        return j.select(customer_id=j.customer_id, **outputs)
    kept = {name: expr for name, expr in outputs.items() if name in columns}
    source = j.op()
    used = {field.name for expr in kept.values() for field in expr.op().find(ops.Field) if field.rel == source}
    needed = {name: value for name, value in aggregates.items() if name in used}
    reduced = rows.group_by("customer_id").aggregate(**needed) if needed else rows.select("customer_id").distinct()
    # unused reductions become typed nulls, which the engine drops with the columns reading them
    reduced = reduced.mutate(
        **{name: ibis.null().cast(value.type()) for name, value in aggregates.items() if name not in needed}
    )
    j = _joined(rows, reduced, with_orders="max_order_value" in used)
    outputs = _transaction_columns(j, as_of, windows, has_quantity)
    # nullable as on the joined path (a customer with only return lines has no purchase time)
    return j.select(
        customer_id=j.customer_id,
        **{name: outputs[name].cast(outputs[name].type().copy(nullable=True)) for name in kept},
    )


def _joined(rows: ir.Table, agg: ir.Table, *, with_orders: bool) -> ir.Table:
    """``agg`` with ``max_order_value``: the largest gross purchase order (return lines excluded).

    Without ``with_orders`` the column is null and no order-level aggregation runs.
    """
    if not with_orders:
        return agg.mutate(max_order_value=ibis.null().cast("float64"))
    orders = rows.filter(~rows.is_return).group_by(["customer_id", "order_id"]).aggregate(value=rows.amount.sum())
    order_stats = (
        orders.group_by("customer_id").aggregate(max_order_value=orders.value.max()).rename(o_id="customer_id")
    )
    return agg.left_join(order_stats, agg.customer_id == order_stats.o_id)


def _transaction_columns(j: ir.Table, as_of: dt.date, windows: Windows | None, has_quantity: bool) -> dict[str, Any]:
    """The output columns (other than ``customer_id``) over the aggregate ``j``."""
    as_of_lit = literal_date(as_of)
    span = j.last_day.delta(j.first_day, unit="day").cast("float64")
    return dict(
        order_count=j.order_count.cast("int64"),
        # order_count > 0 exactly: a purchase line with an order id (nunique skips nulls)
        **{HAS_ORDERS: j.order_lines > 0},
        revenue=j.revenue,
        profit=ibis.cases((j.n_profit == 0, ibis.null().cast("float64")), else_=j.profit),
        margin_rate=ibis.cases((j.revenue == 0, ibis.null().cast("float64")), else_=j.profit / j.revenue),
        # net revenue per purchase order: returns lower the average; null without orders
        avg_order_value=ibis.cases(
            (j.order_count > 0, j.revenue / j.order_count.cast("float64")), else_=ibis.null().cast("float64")
        ),
        max_order_value=j.max_order_value,
        return_amount=j.return_amount.fill_null(0.0),
        return_count=j.return_count.cast("int64"),
        quantity=j.quantity,
        first_purchase_at=j.first_purchase_at,
        last_purchase_at=j.last_purchase_at,
        tenure_days=as_of_lit.delta(j.first_day, unit="day").cast("int64"),
        recency_days=as_of_lit.delta(j.last_day, unit="day").cast("int64"),
        avg_purchase_cycle_days=ibis.cases(
            (j.purchase_days > 1, span / (j.purchase_days - 1).cast("float64")), else_=ibis.null().cast("float64")
        ),
        **(window_columns(j, windows, has_quantity) if windows is not None else {}),
    )


def _financial_part(r: ir.Table, as_of: dt.date) -> ir.Table:
    require_columns(
        r, {c: c for c in ("customer_id", "issued_on", "due_on", "paid_on", "amount", "paid_amount")}, "receivables"
    )
    r = typed(r, dates=["issued_on", "due_on", "paid_on"], numbers=["amount", "paid_amount"], what="receivables")
    as_of_lit = literal_date(as_of)
    issued, due, paid_on = day_of(r.issued_on), day_of(r.due_on), day_of(r.paid_on)
    amount = r.amount.cast("float64")
    paid_amount = r.paid_amount.cast("float64")
    settled = paid_on.notnull() & (paid_on <= as_of_lit)
    # Outstanding at as_of: the short-paid rest of a settled invoice; the whole amount when
    # payment came after as_of; amount minus payments so far while still unpaid.
    outstanding = ibis.cases(
        (settled, (amount - paid_amount.fill_null(amount)).clip(lower=0.0)),
        (paid_on.notnull(), amount),
        else_=(amount - paid_amount.fill_null(0.0)).clip(lower=0.0),
    )
    rows = r.filter(r.customer_id.notnull(), issued <= as_of_lit).select(
        customer_id=r.customer_id,
        amount=amount,
        settled=settled,
        payment=ibis.cases((settled, paid_amount.fill_null(amount)), else_=ibis.null().cast("float64")),
        collection_days=ibis.cases((settled, paid_on.delta(issued, unit="day")), else_=ibis.null().cast("int64")).cast(
            "float64"
        ),
        outstanding=outstanding,
        is_due=due <= as_of_lit,
        is_overdue=due < as_of_lit,
    )
    agg = rows.group_by("customer_id").aggregate(
        invoice_count=rows.count(),
        max_payment=rows.payment.max(),
        avg_payment=rows.payment.mean(),
        avg_collection_days=rows.collection_days.mean(),
        avg_arrears=rows.outstanding.mean(where=rows.outstanding > 0),
        due_amount=rows.amount.sum(where=rows.is_due),
        due_outstanding=rows.outstanding.sum(where=rows.is_due),
        overdue_count=rows.count(where=rows.is_overdue & (rows.outstanding > 0)),
    )
    return agg.select(
        fin_id=agg.customer_id,
        invoice_count=agg.invoice_count.cast("int64"),
        max_payment=agg.max_payment,
        avg_payment=agg.avg_payment,
        avg_collection_days=agg.avg_collection_days,
        avg_arrears=agg.avg_arrears.fill_null(0.0),
        arrears_rate=ibis.cases(
            (agg.due_amount > 0, agg.due_outstanding.fill_null(0.0) / agg.due_amount), else_=ibis.null().cast("float64")
        ),
        overdue_count=agg.overdue_count.cast("int64"),
    )


def _contact_part(i: ir.Table, as_of: dt.date) -> ir.Table:
    require_columns(i, {"customer_id": "customer_id", "occurred_at": "occurred_at", "kind": "kind"}, "interactions")
    i = typed(i, dates=["occurred_at"], what="interactions")
    rows = i.filter(i.customer_id.notnull(), day_of(i.occurred_at) <= literal_date(as_of))
    counts = {f"{k}_count": rows.count(where=rows.kind == k) for k in CONTACT_KINDS}
    agg = rows.group_by("customer_id").aggregate(interaction_count=rows.count(), **counts)
    return agg.rename(con_id="customer_id")


def value_indicators(
    transactions: ir.Table,
    *,
    receivables: ir.Table | None = None,
    interactions: ir.Table | None = None,
    customers: ir.Table | None = None,
    as_of: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    cost_col: str | None = "cost",
    margin_col: str | None = "margin",
    quantity_col: str | None = "quantity",
    return_col: str | None = "return_flag",
    columns: Collection[str] | None = None,
) -> ir.Table:
    """One row per customer with the transaction, financial and contact value indicators.

    Parameters
    ----------
    transactions
        Transaction lines; column names are overridable by keyword. Optional columns
        (order, cost, margin, quantity, return flag) are used when present.
    receivables, interactions, customers
        Canonical tables (canonical column names). Without ``receivables`` the financial
        indicators are null; without ``interactions`` the contact counts are 0; with
        ``customers`` every customer in it gets a row and the attribute columns are added.
    as_of
        The as-of day (inclusive): later transactions, invoices and interactions are
        ignored, and days are counted up to it. Default: the last transaction day.
    columns
        Only these indicators (``customer_id`` always; the attribute columns with
        ``customers``), computed from only the reductions they read; default: all.

    Returns
    -------
    ibis.Table
        The columns of :data:`INDICATOR_COLUMNS` (then :data:`ATTRIBUTE_COLUMNS` when
        ``customers`` is given); formulas in ``docs/features.md``.
    """
    return build_indicators(
        transactions,
        receivables=receivables,
        interactions=interactions,
        customers=customers,
        as_of=as_of,
        windows=None,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        order_col=order_col,
        cost_col=cost_col,
        margin_col=margin_col,
        quantity_col=quantity_col,
        return_col=return_col,
        columns=columns,
    )


def build_indicators(
    transactions: ir.Table,
    *,
    receivables: ir.Table | None,
    interactions: ir.Table | None,
    customers: ir.Table | None,
    as_of: Any,
    windows: Windows | None,
    customer_col: str,
    date_col: str,
    amount_col: str,
    order_col: str | None,
    cost_col: str | None,
    margin_col: str | None,
    quantity_col: str | None,
    return_col: str | None,
    columns: Collection[str] | None = None,
) -> ir.Table:
    """:func:`value_indicators`, plus the window and activity columns of ``windows`` when given.

    With ``columns``, the table has only those columns (and ``customer_id``, and with
    ``customers`` the attribute columns), in the usual order, and the engine computes
    only what they need.
    """
    rows, as_of_day = signed_lines(
        transactions,
        as_of,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        order_col=order_col,
        cost_col=cost_col,
        margin_col=margin_col,
        quantity_col=quantity_col,
        return_col=return_col,
    )
    has_quantity = optional_column(transactions, quantity_col, "quantity_col", "quantity") is not None
    tx = _transaction_part(rows, as_of_day, windows, has_quantity, columns)

    if customers is not None:
        require_columns(customers, {"customer_id": "customer_id"}, "customers")
        base = customers.select(customer_id=customers.customer_id.cast(tx.customer_id.type()))
        base = base.distinct()
        txr = tx.rename(tx_id="customer_id")
        out = base.left_join(txr, base.customer_id == txr.tx_id).drop("tx_id")
        zeros: dict[str, Any] = dict(order_count=0, revenue=0.0, return_amount=0.0, return_count=0)
        zeros[HAS_ORDERS] = False
        if windows is not None:
            zeros.update(window_orders=0, window_revenue=0.0, active_periods=0, trend_revenue=0.0)
            if has_quantity:
                zeros["window_quantity"] = 0.0
        out = out.mutate(**{name: out[name].fill_null(value) for name, value in zeros.items() if name in out.columns})
    else:
        out = tx

    if receivables is not None:
        fin = _financial_part(receivables, as_of_day)
        fin = fin.mutate(fin_id=fin.fin_id.cast(out.customer_id.type()))
        out = out.left_join(fin, out.customer_id == fin.fin_id).drop("fin_id")
        out = out.mutate(invoice_count=out.invoice_count.fill_null(0), overdue_count=out.overdue_count.fill_null(0))
    else:
        out = out.mutate(**{name: ibis.null().cast(_FIN_TYPES.get(name, "float64")) for name in FINANCIAL_INDICATORS})

    if interactions is not None:
        con = _contact_part(interactions, as_of_day)
        con = con.mutate(con_id=con.con_id.cast(out.customer_id.type()))
        out = out.left_join(con, out.customer_id == con.con_id).drop("con_id")
        out = out.mutate(
            **{
                name: out[name].fill_null(0).cast("int64")
                for name in ("interaction_count", *(f"{k}_count" for k in CONTACT_KINDS))
            }
        )
    else:
        out = out.mutate(
            **{name: ibis.literal(0, "int64") for name in ("interaction_count", *(f"{k}_count" for k in CONTACT_KINDS))}
        )
    n = out.interaction_count.cast("float64")
    out = out.mutate(
        **{
            f"{k}_ratio": ibis.cases((out.interaction_count > 0, out[f"{k}_count"] / n), else_=0.0)
            for k in ("complaint", "praise", "suggestion")
        }
    )
    names = list(INDICATOR_COLUMNS)
    if customers is not None:
        schema = TABLES["customers"]
        attrs = {
            name: (customers[name] if name in customers.columns else ibis.null().cast(schema.column(name).dtype))
            for name in ATTRIBUTE_COLUMNS
        }
        cust = customers.select(att_id=customers.customer_id.cast(out.customer_id.type()), **attrs)
        out = out.left_join(cust, out.customer_id == cust.att_id).drop("att_id")
        names += ATTRIBUTE_COLUMNS
    if windows is not None:
        names += [*WINDOW_COLUMNS, *ACTIVITY_COLUMNS]
    if columns is not None:
        keep = {"customer_id", *columns, *(ATTRIBUTE_COLUMNS if customers is not None else ())}
        names = [name for name in names if name in keep]
        if HAS_ORDERS in columns:
            names.append(HAS_ORDERS)
    return out.select(*names)
