"""The cube's facts: signed transaction lines with dimension keys, and the per-customer table.

Lines follow the return rule of :mod:`custlens.schema` exactly as
``custlens.features`` applies it (a line is a return when its flag is true or its amount
negative; a return counts negative in every sum; line profit is the margin, else amount -
cost), so the cube's revenue, profit, quantity and orders per customer equal the value
indicators (a test checks it). Time keys are integers while lines are grouped; the labels
(``2025-03``, ``2025-Q1``) are made on the grouped rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import InputError, did_you_mean

__all__ = ["MISSING", "LINE_COLUMNS", "lines_up_to", "line_facts", "line_label", "customer_table", "rule_columns"]

MISSING = "(missing)"
"""The value shown for a missing (or empty) dimension value; ``""`` marks a rolled-up dimension."""

LINE_COLUMNS = {"category": "category", "channel": "channel", "product": "product_id"}
"""Line dimensions read from a transaction column (dimension -> column)."""


def rule_columns(text: str, name: str) -> set[str]:
    """The columns a rule in the rule language names (from its syntax tree)."""
    from custlens.segment import parse_rule

    found: set[str] = set()

    def walk(node: Any) -> None:
        if getattr(node, "kind", None) == "col":
            found.add(str(node.args[0]))
            return
        for arg in getattr(node, "args", ()):
            for item in arg if isinstance(arg, tuple) else (arg,):
                walk(item)

    walk(parse_rule(text, name))
    return found


def _text(value: ir.Value) -> ir.StringValue:
    """A dimension value as text; missing and empty values become :data:`MISSING`."""
    s = value.cast("string")
    return ibis.ifelse(s.isnull() | (s.strip() == ""), ibis.literal(MISSING), s)


def lines_up_to(transactions: ir.Table, as_of: date | None) -> ir.Table:
    """The transaction lines with a customer and a date, on or before ``as_of`` (all when ``None``)."""
    from custlens.features.coerce import typed
    from custlens.warehouse.compat import check_utc

    required = ("customer_id", "ordered_at", "amount")
    missing = [c for c in required if c not in transactions.columns]
    if missing:
        raise InputError(
            f"transactions: no column {missing[0]!r}{did_you_mean(missing[0], transactions.columns)}; the cube reads "
            f"{', '.join(required)} (and order_id, return_flag, quantity, cost, margin, category, channel, product_id)"
        )
    check_utc(transactions)
    numbers = [c for c in ("amount", "cost", "margin", "quantity") if c in transactions.columns]
    t = typed(transactions, dates=["ordered_at"], numbers=numbers, what="transactions")
    keep = t.customer_id.notnull() & t.ordered_at.notnull()
    if as_of is not None:
        from custlens.features._base import day_of

        keep = keep & (day_of(t.ordered_at) <= ibis.date(as_of.isoformat()))
    t = t.filter(keep)
    return t.mutate(customer_id=t.customer_id.cast("string"))


def _time_key(ts: ir.Value, dim: str) -> ir.IntegerValue:
    from custlens.features._base import day_of

    # the parts of the UTC day: on DuckDB without a time-zone conversion of every time
    # (custlens.features._base.day_of), the same year, quarter and month
    ts = day_of(ts, "ordered_at")
    if dim == "month":
        return (ts.year() * 12 + ts.month() - 1).cast("int64")
    if dim == "quarter":
        return (ts.year() * 4 + ts.quarter() - 1).cast("int64")
    return ts.year().cast("int64")


def line_label(key: ir.Value, dim: str) -> ir.StringValue:
    """The label of a line dimension's key: ``YYYY-MM``, ``YYYY-Qn``, ``YYYY`` or the text itself."""
    if dim == "month":
        return (key // 12).cast("string") + "-" + ((key % 12) + 1).cast("string").lpad(2, "0")
    if dim == "quarter":
        return (key // 4).cast("string") + "-Q" + ((key % 4) + 1).cast("string")
    if dim == "year":
        return key.cast("string")
    return key.cast("string")


def line_facts(lines: ir.Table, line_dims: Sequence[str]) -> ir.Table:
    """Signed lines: ``customer_id, order_id, is_return, amount, profit, quantity`` and a key per line dimension.

    Raises
    ------
    InputError
        When a line dimension's column is missing from the transactions.
    """
    for dim in line_dims:
        column = LINE_COLUMNS.get(dim)
        if column is not None and column not in lines.columns:
            raise InputError(
                f"'by': dimension {dim!r} reads the transactions column {column!r}, which they lack "
                f"(columns: {', '.join(lines.columns)})"
            )
    amount = lines.amount.cast("float64")
    flagged = (
        lines.return_flag.cast("boolean").fill_null(False) if "return_flag" in lines.columns else ibis.literal(False)
    )
    is_return = flagged | (amount < 0)
    sign = ibis.cases((flagged & (amount > 0), -1.0), else_=1.0)
    has_margin, has_cost = "margin" in lines.columns, "cost" in lines.columns
    if has_margin and has_cost:
        profit = lines.margin.cast("float64").fill_null(amount - lines.cost.cast("float64"))
    elif has_margin:
        profit = lines.margin.cast("float64")
    elif has_cost:
        profit = amount - lines.cost.cast("float64")
    else:
        profit = ibis.null().cast("float64")
    quantity = lines.quantity.cast("float64") if "quantity" in lines.columns else ibis.null().cast("float64")
    order = lines.order_id.cast("string") if "order_id" in lines.columns else ibis.row_number().cast("string")
    keys: dict[str, ir.Value] = {}
    for dim in line_dims:
        keys[f"_k_{dim}"] = _text(lines[LINE_COLUMNS[dim]]) if dim in LINE_COLUMNS else _time_key(lines.ordered_at, dim)
    return lines.select(
        "customer_id",
        order_id=order,
        is_return=is_return,
        amount=amount * sign,
        profit=profit * sign,
        quantity=ibis.ifelse(is_return, -quantity.abs(), quantity),
        **keys,
    )


def customer_table(
    *,
    dims: Sequence[str],
    values: Sequence[str],
    customers: ir.Table | None,
    analysis: ir.Table | None,
    segments: Mapping[str, ir.Table],
    segment_method: str,
    extra: Sequence[str] = (),
) -> ir.Table | None:
    """One row per customer: ``customer_id``, the customer dimensions (as text), the
    customer measures' values and ``extra`` columns (for ``where``), or ``None`` when
    nothing per customer is needed."""
    if not dims and not values and not extra:
        return None
    parts: list[ir.Table] = []
    attr = [d for d in dims if d in _attribute_names()] + [
        c for c in extra if customers is not None and c in customers.columns
    ]
    if attr:
        if customers is None:
            raise InputError(f"'by': dimension {attr[0]!r} needs the customers table")
        cols = {c: (_text(customers[c]) if c in dims else customers[c]) for c in dict.fromkeys(attr)}
        parts.append(customers.select(customer_id=customers.customer_id.cast("string"), **cols))
    stored = [d for d in dims if d in ("risk_band", "score_tier")]
    taken = {c for p in parts for c in p.columns}
    a_extra = [c for c in extra if analysis is not None and c in analysis.columns and c not in taken]
    if stored or values or a_extra:
        if analysis is None:
            raise InputError("the stored analysis is needed for " + ", ".join([*stored, *values, *a_extra]))
        cols = {d: _text(analysis[d]) for d in stored}
        cols.update({v: analysis[v].cast("float64") for v in values})
        cols.update({c: analysis[c] for c in a_extra if c not in cols})
        parts.append(analysis.select(customer_id=analysis.customer_id.cast("string"), **cols))
    from custlens.cube._catalogue import SEGMENT_METHODS

    methods = {d: (segment_method if d == "segment" else d) for d in dims if d == "segment" or d in SEGMENT_METHODS}
    methods.update({c: c[len("segment_") :] for c in extra if c.startswith("segment_")})
    for column, method in methods.items():
        if method not in segments:
            raise InputError(
                f"'by': the stored analysis has no segmentation {method!r}{did_you_mean(method, segments)} "
                f"(stored: {', '.join(segments)})"
            )
        seg = segments[method]
        parts.append(seg.select(customer_id=seg.customer_id.cast("string"), **{column: _text(seg.segment)}))
    table = parts[0]
    for part in parts[1:]:
        other = part.rename(_cid="customer_id")
        table = table.outer_join(other, table.customer_id == other._cid)
        table = table.mutate(customer_id=table.customer_id.fill_null(table._cid)).drop("_cid")
    return table.mutate(**{d: table[d].fill_null(MISSING) for d in dims if d in table.columns})


def _attribute_names() -> tuple[str, ...]:
    from custlens.cube._catalogue import DIMENSIONS

    return tuple(n for n, d in DIMENSIONS.items() if d.source == "customers")
