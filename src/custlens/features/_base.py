"""Shared pieces of the feature builders: column checks, as-of dates, periods, output frames.

Everything here builds Ibis expressions. Nothing reads a table into Python except
:func:`resolve_as_of` and :func:`as_of_date`, which ask the backend for one aggregate row
(the first and last transaction day) -- :func:`resolve_as_of` only when no date is given.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable
from typing import Any, Literal, TypeVar

import ibis
import ibis.expr.types as ir

from custlens.errors import InputError, did_you_mean
from custlens.features.coerce import as_dates, to_date

__all__ = [
    "FrameKind",
    "renamed",
    "literal_date",
    "require_columns",
    "optional_column",
    "day_of",
    "period_index",
    "period_start",
    "resolve_as_of",
    "as_of_date",
    "to_frame",
]

FrameKind = Literal["pandas", "polars", "arrow", "ibis"]
T = TypeVar("T")

_EPOCH_MONDAY = 4
"""Epoch day of Monday 1970-01-05, the start of week 0."""


def renamed(value: T | None, alias_value: T | None, *, name: str, alias: str, default: T, stacklevel: int = 3) -> T:
    """The value of a renamed parameter: ``value``, else its deprecated ``alias``, else ``default``.

    Warns with :class:`DeprecationWarning` when the alias is used; refuses both at once.
    """
    if alias_value is not None:
        if value is not None:
            raise InputError(f"give {name!r} only; {alias!r} is its deprecated old name")
        warnings.warn(
            f"{alias!r} is deprecated; use {name!r} (same meaning)", DeprecationWarning, stacklevel=stacklevel
        )
        return alias_value
    return default if value is None else value


def require_columns(table: ir.Table, columns: dict[str, str], what: str = "transactions") -> None:
    """Check that ``table`` has every column named in ``columns`` (parameter -> column).

    Raises
    ------
    InputError
        Naming the parameter, the missing column, the closest existing names and all columns.
    """
    present = list(table.columns)
    for parameter, name in columns.items():
        if name not in present:
            raise InputError(
                f"{what} has no column {name!r} (given as {parameter!r}){did_you_mean(name, present)} "
                f"(columns: {', '.join(present)})"
            )


def optional_column(
    table: ir.Table, name: str | None, parameter: str, default: str, what: str = "transactions"
) -> str | None:
    """Resolve an optional column: ``None`` means unused; the default name may be absent.

    A name the caller gave explicitly (different from ``default``) must exist.
    """
    if name is None:
        return None
    if name in table.columns:
        return name
    if name == default:
        return None
    require_columns(table, {parameter: name}, what)
    return None  # pragma: no cover - require_columns raised


@ibis.udf.scalar.builtin(name="epoch_us", signature=((ibis.dtype("timestamp('UTC')"),), ibis.dtype("int64")))
def _epoch_us(value: Any) -> Any:
    """DuckDB's ``epoch_us``: microseconds since 1970-01-01 00:00 UTC (no time-zone look-up)."""


@ibis.udf.scalar.builtin(name="make_timestamp", signature=((ibis.dtype("int64"),), ibis.dtype("timestamp")))
def _utc_wall_time(micros: Any) -> Any:
    """DuckDB's ``make_timestamp`` of microseconds since the epoch: the UTC wall time, without zone."""


def day_of(column: ir.Value, parameter: str = "date_col") -> ir.DateValue:
    """The calendar day (UTC) of a date or timestamp column, as a date expression.

    On DuckDB the day of a UTC timestamp is taken from the time's microseconds since the
    epoch (``CAST(make_timestamp(epoch_us(t)) AS DATE)``): the same day as
    ``CAST(t AS DATE)`` under the UTC time zone custlens sets, without the time-zone
    library's conversion of every value, which is most of the CPU of a filter or a
    grouping by day (0.7 s against 0.1 s on 10M times, ``docs/performance.md``). Other
    engines, and times without a zone, take the plain cast.
    """
    dtype = column.type()
    if dtype.is_date():
        return column
    if dtype.is_timestamp():
        if dtype.timezone == "UTC" and dtype.scale in (None, 6) and _on_duckdb(column):
            return _utc_wall_time(_epoch_us(column)).date()
        return column.date()
    raise InputError(
        f"{parameter!r} column {column.get_name()!r} must hold dates or timestamps; it has type {dtype} "
        "(custlens.features.coerce.typed converts text and YYYYMMDD numbers)"
    )


def _on_duckdb(column: ir.Value) -> bool:
    """Whether ``column`` is computed by DuckDB (an unbound table too: it runs there by default)."""
    from custlens.warehouse.compat import backend_name, column_table

    return backend_name(column_table(column)) == "duckdb"


def _timestamp_of(op: Any) -> Any:
    """The timestamp operation whose day :func:`day_of` takes in the ``ops.Date`` ``op``."""
    import ibis.expr.operations as ops

    arg = op.arg
    if isinstance(arg, ops.ScalarUDF) and arg.__func_name__ == "make_timestamp":
        inner = arg.args[0]
        if isinstance(inner, ops.ScalarUDF) and inner.__func_name__ == "epoch_us":
            return inner.args[0]
    return arg


def period_index(day: ir.DateValue, time_unit: str) -> ir.IntegerValue:
    """Integer number of the period holding ``day``: consecutive periods differ by one.

    Period 0 starts on 1970-01-01 (``D``), on Monday 1970-01-05 (``W``, ISO weeks Monday to
    Sunday) and in January 1970 (``M``, calendar months) -- the epochs of
    :func:`custlens.clv.formula.period_index` for dates binned by week or month.
    """
    if time_unit == "D":
        return day.epoch_days().cast("int64")
    if time_unit == "W":
        # whole weeks since Monday 1970-01-05, rounded down: the week of the day's Monday
        # (the same number as truncating to the Monday first, without the truncation)
        return ((day.epoch_days() - _EPOCH_MONDAY) // 7).cast("int64")
    return ((day.year() - 1970) * 12 + day.month() - 1).cast("int64")


def period_start(day: ir.DateValue, time_unit: str) -> ir.DateValue:
    """The first day of the period holding ``day`` (the day, the Monday, the 1st)."""
    if time_unit == "D":
        return day
    return day.truncate(time_unit)


def resolve_as_of(day: ir.DateValue, value: Any, parameter: str = "as_of") -> dt.date:
    """The as-of date: ``value`` when given (no query), else the last day in ``day`` (one scalar query)."""
    if value is not None:
        return to_date(value, parameter)
    import ibis.expr.operations as ops

    op = day.op()
    # the day of a timestamp column: the day of its last time (an extreme of a stored column
    # the engine answers from a Parquet file's statistics) rather than the last of every row's day
    last_day = day_of(_timestamp_of(op).to_expr().max()) if isinstance(op, ops.Date) else day.max()
    last = last_day.to_pyarrow().as_py()
    if last is None:
        raise InputError(f"no dated rows to take a default {parameter!r} from; give {parameter!r}")
    return to_date(last, parameter)


def as_of_date(
    transactions: ir.Table, as_of: Any = None, *, date_col: str = "ordered_at", what: str = "transactions"
) -> dt.date:
    """The as-of date for ``transactions``, checked against them in one aggregate query.

    Without ``as_of`` it is the last transaction day. A given ``as_of`` before the first
    transaction day leaves nothing to analyse and is refused.

    Raises
    ------
    InputError
        ``'as_of' 2000-01-01 is before the first transaction (2024-01-03); nothing is on or
        before it``, or when the table has no dated rows and no ``as_of`` is given.
    """
    require_columns(transactions, {"date_col": date_col}, what)
    given = None if as_of is None else to_date(as_of, "as_of")
    col = transactions[date_col]
    if col.type().is_timestamp():
        # the day of the first (last) time is the first (last) day; the engine answers the
        # extremes of a stored column from a Parquet file's statistics without reading it
        query = transactions.aggregate(first=col.min().date(), last=col.max().date())
    else:
        day = as_dates(col, date_col, what=what)
        query = day.as_table().aggregate(first=day.min(), last=day.max())
    row = query.to_pyarrow().to_pylist()[0]
    first = None if row["first"] is None else to_date(row["first"], "first")
    last = None if row["last"] is None else to_date(row["last"], "last")
    if given is None:
        if last is None:
            raise InputError(
                f"{what}: no dated rows in {date_col!r}, so there is no as-of date to default to; give 'as_of'"
            )
        return last
    if first is not None and given < first:
        raise InputError(
            f"'as_of' {given.isoformat()} is before the first transaction ({first.isoformat()}); "
            "nothing is on or before it"
        )
    return given


def to_frame(expr: ir.Table, kind: FrameKind = "pandas", *, order_by: str | Iterable[str] | None = None) -> Any:
    """Execute an Ibis table expression and return it as pandas, polars or Arrow.

    Parameters
    ----------
    expr
        The expression (any function of :mod:`custlens.features` returns one).
    kind
        ``"pandas"``, ``"polars"``, ``"arrow"`` or ``"ibis"`` (the expression, unexecuted).
    order_by
        Column(s) to sort the rows by; expressions themselves carry no row order.
    """
    if order_by is not None:
        expr = expr.order_by(order_by if isinstance(order_by, str) else list(order_by))
    if kind == "ibis":
        return expr
    if kind == "pandas":
        return expr.to_pandas()
    if kind == "polars":
        return expr.to_polars()
    if kind == "arrow":
        from custlens.warehouse.compat import to_arrow

        return to_arrow(expr)
    raise InputError(f"'kind' must be one of pandas, polars, arrow, ibis; got {kind!r}")


def literal_date(value: dt.date) -> ir.DateScalar:
    """An Ibis date literal."""
    return ibis.date(value.isoformat())
