"""The cube: measures by dimensions with subtotals, sliced by a rule, on any Ibis backend.

:func:`cube_table` is the engine (Ibis tables in, an Arrow table out; DuckDB or Spark);
:func:`cube` reads a workspace and its stored analysis; :func:`pivot` reshapes two
dimensions of one measure into a table with totals for the report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from custlens.cube._catalogue import (
    DERIVED,
    DIMENSIONS,
    MEASURES,
    SEGMENT_METHODS,
    grouping_sets,
    resolve_dimensions,
    resolve_measures,
)
from custlens.cube._facts import (
    LINE_COLUMNS,
    customer_table,
    line_facts,
    line_label,
    lines_up_to,
    rule_columns,
)
from custlens.cube._rollup import rollup, sort_rows
from custlens.errors import InputError
from custlens.warehouse.compat import cache, on_engine

__all__ = ["cube_table", "cube", "pivot", "pivot_table", "Subtotals"]

Subtotals = str | Sequence[Sequence[str]] | None
"""``"rollup"`` (default), ``"cube"``, ``"none"``/``None``, or explicit grouping sets."""

_COUNTS = {"orders", "customers", "lines"}
_LINE_SUMS = ("revenue", "profit", "quantity", "returns", "lines", "orders")


@contextmanager
def reading(workspace: Any) -> Iterator[Any]:
    """The connection of stored results: a :class:`~custlens.warehouse.Workspace`'s, an Ibis connection, or a
    folder opened read-only for the duration."""
    from custlens.warehouse import reading as read_workspace

    with read_workspace(workspace) as (con, _table):
        yield con


def _base_measures(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        out += list(DERIVED.get(name, (name,)))
    return list(dict.fromkeys(out))


def _where_schema(
    lines: ir.Table,
    customers: ir.Table | None,
    analysis: ir.Table | None,
    segments: Mapping[str, ir.Table],
) -> dict[str, Any]:
    """Every column a ``where`` rule may name, with its type (line columns first)."""
    schema: dict[str, Any] = dict(lines.schema().items())
    for d in ("year", "quarter", "month", "product"):
        schema.setdefault(d, ibis.dtype("string"))
    for source in (customers, analysis):
        if source is not None:
            for name, dtype in source.schema().items():
                schema.setdefault(name, dtype)
    for d, dim in DIMENSIONS.items():
        if dim.source == "analysis" and (d in ("segment", "risk_band", "score_tier") or d in segments):
            schema.setdefault(d, ibis.dtype("string"))
    return schema


def _slice(
    lines: ir.Table,
    where: str,
    *,
    customers: ir.Table | None,
    analysis: ir.Table | None,
    segments: Mapping[str, ir.Table],
    segment_method: str,
) -> ir.Table:
    """The lines matching ``where`` (a rule over line columns, line dimensions and customer columns)."""
    from custlens.segment import compile_rule

    schema = _where_schema(lines, customers, analysis, segments)
    compile_rule(where, ibis.table(schema, name="cube_where"), "where")  # unknown names and types, with a caret
    named = rule_columns(where, "where")
    labels = {d: line_label(_time_or_text(lines, d), d) for d in ("year", "quarter", "month", "product") if d in named}
    wide = lines.mutate(**labels) if labels else lines
    per_customer = [c for c in named if c not in wide.columns]
    if per_customer:
        dims = [c for c in per_customer if c in DIMENSIONS]
        extra = [c for c in per_customer if c not in DIMENSIONS]
        c = customer_table(
            dims=dims,
            values=[],
            customers=customers,
            analysis=analysis,
            segments=segments,
            segment_method=segment_method,
            extra=extra,
        )
        assert c is not None
        c = c.rename(_wid="customer_id")
        wide = wide.left_join(c, wide.customer_id == c._wid).drop("_wid")
    return wide.filter(compile_rule(where, wide, "where").fill_null(False)).select(*lines.columns)


def _time_or_text(lines: ir.Table, dim: str) -> ir.Value:
    if dim in LINE_COLUMNS:
        return lines[LINE_COLUMNS[dim]] if LINE_COLUMNS[dim] in lines.columns else ibis.null().cast("string")
    ts = lines.ordered_at
    if dim == "month":
        return (ts.year() * 12 + ts.month() - 1).cast("int64")
    if dim == "quarter":
        return (ts.year() * 4 + ts.quarter() - 1).cast("int64")
    return ts.year().cast("int64")


_SUMS = ("revenue", "profit", "quantity", "returns", "lines")


def _line_aggregates(facts: ir.Table, base: Sequence[str]) -> dict[str, ir.Value]:
    """Sums over lines: ``_buys`` (purchase lines) and the line measures of ``base``."""
    buy = ~facts.is_return
    aggs: dict[str, ir.Value] = {"_buys": buy.cast("int64").sum()}
    if "revenue" in base:
        aggs["revenue"] = facts.amount.sum()
    if "profit" in base:
        aggs["profit"] = facts.profit.sum()
    if "quantity" in base:
        aggs["quantity"] = facts.quantity.sum()
    if "returns" in base:
        aggs["returns"] = (-facts.amount).sum(where=facts.is_return).fill_null(0.0)
    if "lines" in base:
        aggs["lines"] = facts.count()
    return aggs


def _order_rows(facts: ir.Table, keys: Sequence[str], base: Sequence[str]) -> ir.Table:
    """One row per order and cell of every line dimension: the line sums and ``_p`` (a purchase order)."""
    return facts.group_by([*keys, "customer_id", "order_id"]).aggregate(
        **_line_aggregates(facts, base), _p=(~facts.is_return).any()
    )


def _from_orders(orders: ir.Table, keys: Sequence[str], all_keys: Sequence[str], base: Sequence[str]) -> ir.Table:
    """One row per customer and cell of ``keys`` from the order rows.

    An order belongs to one customer, so a customer's orders in a cell add up across
    customers. Within the finest cells each order row is one order; coarser cells count
    distinct orders, as an order may span several of their finer cells (categories).
    """
    aggs: dict[str, ir.Value] = {c: orders[c].sum() for c in ("_buys", *_SUMS) if c in orders.columns}
    if "orders" in base:
        exact = list(keys) == list(all_keys)
        aggs["orders"] = orders._p.cast("int64").sum() if exact else orders.order_id.nunique(where=orders._p)
    return orders.group_by([*keys, "customer_id"]).aggregate(**aggs)


def _set_aggregates(t: ir.Table, base: Sequence[str]) -> dict[str, ir.Value]:
    """The measures of one grouping set over per-customer rows."""
    buyer = t._buys > 0
    aggs: dict[str, ir.Value] = {}
    for name in base:
        if name in _LINE_SUMS:
            total = t[name].sum()
            aggs[name] = total.fill_null(0).cast("int64") if name in _COUNTS else total.cast("float64")
        elif name == "customers":
            aggs[name] = buyer.cast("int64").sum().fill_null(0)
        elif name == "p_alive":
            aggs[name] = t[name].mean(where=buyer)
        else:  # clv, value_at_stake, expected_purchases: sums over the buyers of the cell
            aggs[name] = t[name].sum(where=buyer).cast("float64")
    return aggs


def _line_set_aggregates(facts: ir.Table, base: Sequence[str]) -> dict[str, ir.Value]:
    """The measures of one grouping set straight from the lines (line measures only).

    The same values as :func:`_set_aggregates` over per-customer rows: ``customers`` counts
    the customers with a purchase line in the cell, ``orders`` the orders with one.
    """
    buy = ~facts.is_return
    aggs: dict[str, ir.Value] = {}
    for name, value in _line_aggregates(facts, base).items():
        if name in base:
            aggs[name] = value.fill_null(0).cast("int64") if name in _COUNTS else value.cast("float64")
    if "customers" in base:
        aggs["customers"] = facts.customer_id.nunique(where=buy).fill_null(0).cast("int64")
    if "orders" in base:
        aggs["orders"] = facts.order_id.nunique(where=buy).fill_null(0).cast("int64")
    return {name: aggs[name] for name in base}


def cube_table(
    transactions: ir.Table,
    *,
    measures: str | Sequence[str] = ("revenue", "orders", "customers"),
    by: str | Sequence[str] = (),
    customers: ir.Table | None = None,
    analysis: ir.Table | None = None,
    segments: Mapping[str, ir.Table] | None = None,
    where: str | None = None,
    subtotals: Subtotals = "rollup",
    as_of: date | None = None,
    segment_method: str = "rfm",
) -> pa.Table:
    """Measures by dimensions with subtotals, on the engine that holds the tables.

    Parameters
    ----------
    transactions
        Transaction lines (canonical columns).
    measures, by
        Names (lists or comma-separated text) from :data:`~custlens.cube.MEASURES` and
        :data:`~custlens.cube.DIMENSIONS`.
    customers
        The ``customers`` table, for attribute dimensions.
    analysis
        The stored analysis's per-customer table, for ``risk_band``/``score_tier`` and the
        customer measures (clv, p_alive, value_at_stake, expected_purchases).
    segments
        Method -> ``customer_id, segment``, for segment dimensions.
    where
        A slice in the rule language over line columns (``category``, ``channel``,
        ``amount``, ...), the line dimensions (``month = '2025-03'``) and customer columns
        (attributes, stored analysis columns, segment dimensions).
    subtotals
        ``"rollup"`` (default), ``"cube"``, ``"none"``/``None`` or explicit grouping sets.
    as_of
        Lines on or after the next day are left out (default: none).
    segment_method
        The segmentation of the ``segment`` dimension.

    Returns
    -------
    pyarrow.Table
        The dimensions (text; ``""`` where rolled up, ``(missing)`` for missing values),
        ``grouping`` (the rolled-up dimensions, comma-separated; ``""`` for the finest
        rows; absent without subtotals), then the measures. Ordered dimension by
        dimension, each subtotal after its values.

    Raises
    ------
    InputError
        Unknown measures or dimensions (with the closest names), a ``where`` that does not
        compile, a dimension whose data is not given.
    """
    dims = resolve_dimensions(by)
    names = resolve_measures(measures)
    if segment_method not in SEGMENT_METHODS:
        from custlens.errors import did_you_mean

        raise InputError(
            f"'segment_method' must be one of {', '.join(SEGMENT_METHODS)}; got {segment_method!r}"
            f"{did_you_mean(segment_method, SEGMENT_METHODS)}"
        )
    sets = grouping_sets(dims, subtotals)
    with_grouping = not (subtotals is None or subtotals == "none")
    base = _base_measures(names)
    segments = dict(segments or {})
    line_dims = [d for d in dims if DIMENSIONS[d].grain == "line"]
    cust_dims = [d for d in dims if DIMENSIONS[d].grain == "customer"]
    values = [m for m in base if MEASURES[m].grain == "customer"]
    lines = lines_up_to(transactions, as_of)
    if where is not None:
        lines = _slice(
            lines, where, customers=customers, analysis=analysis, segments=segments, segment_method=segment_method
        )
    facts = line_facts(lines, line_dims)
    per_customer = customer_table(
        dims=cust_dims,
        values=values,
        customers=customers,
        analysis=analysis,
        segments=segments,
        segment_method=segment_method,
    )
    if per_customer is None:
        # line dimensions and line measures only: every set is one aggregation of the lines,
        # its customers and orders distinct counts (no per-customer rows to build first)
        expr = rollup(
            lambda group: facts,
            dims,
            sets,
            lambda t: _line_set_aggregates(t, base),
            line_label,
            with_grouping=with_grouping,
        )
        return _finish(expr, dims, names, with_grouping, as_of, subtotals)
    cells: dict[tuple[str, ...], ir.Table] = {}
    all_keys = [f"_k_{d}" for d in line_dims]
    finests = {_finest(s, line_dims) for s in sets}
    orders: ir.Table | None = None
    if "orders" in base and line_dims:  # distinct orders without a distinct count over every line
        orders = _order_rows(facts, all_keys, base)
        orders = cache(orders) if len(finests) > 1 else orders

    def cell_table(group: tuple[str, ...]) -> ir.Table:
        finest = _finest(group, line_dims)
        if finest not in cells:
            keys = [f"_k_{d}" for d in finest]
            if orders is not None:
                t = _from_orders(orders, keys, all_keys, base)
            else:
                aggs = _line_aggregates(facts, base)
                if "orders" in base:
                    aggs["orders"] = facts.order_id.nunique(where=~facts.is_return)
                t = facts.group_by([*keys, "customer_id"]).aggregate(**aggs)
            if per_customer is not None:
                c = per_customer.rename(_cid="customer_id")
                t = t.left_join(c, t.customer_id == c._cid).drop("_cid")
                t = t.mutate(**{d: t[d].fill_null("(missing)") for d in cust_dims})
            cells[finest] = cache(t) if sum(1 for s in sets if _finest(s, line_dims) == finest) > 1 else t
        return cells[finest]

    def label(key: ir.Value, dim: str) -> ir.Value:
        return line_label(key, dim) if dim in line_dims else key

    expr = rollup(cell_table, dims, sets, lambda t: _set_aggregates(t, base), label, with_grouping=with_grouping)
    return _finish(expr, dims, names, with_grouping, as_of, subtotals)


def _finish(
    expr: ir.Table,
    dims: Sequence[str],
    names: Sequence[str],
    with_grouping: bool,
    as_of: date | None,
    subtotals: Subtotals,
) -> pa.Table:
    """The rows of the roll-up ``expr``, ordered, with the derived measures and the metadata."""
    table = sort_rows(expr.to_pyarrow(), dims)
    table = _derive(table, names)
    out = table.select([*dims, *(["grouping"] if with_grouping else []), *names])
    meta = {"as_of": as_of.isoformat() if as_of else "", "subtotals": json.dumps(_jsonable(subtotals))}
    return out.replace_schema_metadata(meta)


def _finest(group: tuple[str, ...], line_dims: Sequence[str]) -> tuple[str, ...]:
    return tuple(d for d in group if d in line_dims)


def _jsonable(subtotals: Subtotals) -> Any:
    return subtotals if subtotals is None or isinstance(subtotals, str) else [list(s) for s in subtotals]


def _derive(table: pa.Table, names: Sequence[str]) -> pa.Table:
    import pyarrow.compute as pc

    for name in names:
        if name in DERIVED and name not in table.column_names:
            num, den = DERIVED[name]
            d = pc.cast(table[den], pa.float64())
            ratio = pc.if_else(pc.equal(d, 0.0), pa.scalar(None, pa.float64()), pc.divide(table[num], d))
            table = table.append_column(name, ratio)
    return table


def _needs_analysis(dims: Sequence[str], names: Sequence[str], where: str | None, known: set[str]) -> bool:
    if any(DIMENSIONS[d].source == "analysis" for d in dims):
        return True
    if any(MEASURES[m].grain == "customer" for m in _base_measures(names)):
        return True
    if where is not None:
        return any(c not in known for c in rule_columns(where, "where"))
    return False


def cube(
    workspace: Any,
    measures: str | Sequence[str] = ("revenue", "orders", "customers"),
    by: str | Sequence[str] = (),
    *,
    where: str | None = None,
    subtotals: Subtotals = "rollup",
    as_of: date | str | None = None,
    segment_method: str = "rfm",
    analysis_id: str | None = None,
) -> pa.Table:
    """The cube of a workspace (see :func:`cube_table` for the parameters and the result).

    Lines dated after ``as_of`` are left out. Its default is the as-of date of the latest
    stored analysis (every line when there is none), so every cube of a
    workspace describes the same date whichever dimensions it has. The stored analysis of
    that date is read when a dimension, a measure or ``where`` needs it (segments, risk
    band, CLV, ...); ``analysis_id`` picks one. The result's schema metadata holds ``as_of``
    and ``analysis_id``.

    Raises
    ------
    NotFoundError
        When the stored analysis is needed and the workspace has none (for ``as_of``).
    """
    from custlens.analysis import list_analyses, load_analysis
    from custlens.features.coerce import to_date

    dims = resolve_dimensions(by)
    names = resolve_measures(measures)
    day = None if as_of is None else to_date(as_of, "as_of")
    from custlens.warehouse import reading as read_workspace

    with read_workspace(workspace) as (con, canonical):
        tx = canonical("transactions")
        customers = canonical("customers")
        known = {*tx.columns, *customers.columns, "year", "quarter", "month", "product"}
        known |= {d for d, dim in DIMENSIONS.items() if dim.source == "customers"}
        stored = None
        segments: dict[str, ir.Table] = {}
        analysis = None
        if day is None and analysis_id is None and list_analyses(con).num_rows:
            stored = load_analysis(con)  # the latest: its as-of date bounds every cube alike
            day = stored.as_of
        if _needs_analysis(dims, names, where, known) or analysis_id is not None:
            if stored is None:
                stored = load_analysis(con, analysis_id=analysis_id, as_of=day)
                day = stored.as_of
            analysis = on_engine(stored.customers(), tx)
            wanted = {segment_method if d == "segment" else d for d in dims if d == "segment" or d in SEGMENT_METHODS}
            if where is not None:
                named = rule_columns(where, "where")
                wanted |= {c for c in named if c in SEGMENT_METHODS}
                wanted |= {segment_method for c in named if c == "segment"}
            segments = {m: on_engine(stored.segments(m), tx) for m in wanted if m in stored.methods}
        table = cube_table(
            tx,
            measures=names,
            by=dims,
            customers=customers,
            analysis=analysis,
            segments=segments,
            where=where,
            subtotals=subtotals,
            as_of=day,
            segment_method=segment_method,
        )
    meta = dict(table.schema.metadata or {})
    meta[b"analysis_id"] = (stored.analysis_id if stored is not None else "").encode()
    return table.replace_schema_metadata(meta)


def pivot_table(table: pa.Table, measure: str, rows: str, columns: str, *, total: str = "total") -> pa.Table:
    """Reshape a cube result (with the ``(rows, columns)``, ``(rows)``, ``(columns)`` and ``()``
    groupings) into one row per ``rows`` value and one column per ``columns`` value.

    Returns
    -------
    pyarrow.Table
        First column ``rows`` (its values, then ``total``), then one float column per value
        of ``columns`` (in order), then ``total``.
    """
    for name in (measure, rows, columns):
        if name not in table.column_names:
            raise InputError(f"the cube result has no column {name!r} (columns: {', '.join(table.column_names)})")
    data = table.to_pylist()
    col_values = sorted({r[columns] for r in data if r[columns] != ""})
    row_values = sorted({r[rows] for r in data if r[rows] != ""})
    cell = {(r[rows] or total, r[columns] or total): r[measure] for r in data}
    out: dict[str, list[Any]] = {rows: [*row_values, total]}
    for c in [*col_values, total]:
        out[c] = [None if cell.get((r, c)) is None else float(cell[(r, c)]) for r in [*row_values, total]]
    return pa.table({k: (pa.array(v, pa.string()) if k == rows else pa.array(v, pa.float64())) for k, v in out.items()})


def pivot(
    workspace: Any,
    measure: str,
    rows: str,
    columns: str,
    *,
    where: str | None = None,
    as_of: date | str | None = None,
    segment_method: str = "rfm",
) -> pa.Table:
    """One measure by two dimensions with row and column totals, for the report (see :func:`pivot_table`).

    Example: ``pivot(ws, "revenue", "region", "quarter")``.
    """
    if rows == columns:
        raise InputError(f"'rows' and 'columns' must be different dimensions; got {rows!r} twice")
    result = cube(
        workspace,
        [measure],
        [rows, columns],
        where=where,
        subtotals=[(rows, columns), (rows,), (columns,), ()],
        as_of=as_of,
        segment_method=segment_method,
    )
    return pivot_table(result, measure, rows, columns).replace_schema_metadata(result.schema.metadata)
