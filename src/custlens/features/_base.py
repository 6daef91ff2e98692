"""Shared pieces of the feature builders: column checks, as-of dates, periods, output frames.

Everything here builds Ibis expressions; nothing reads a whole table into Python except
:func:`resolve_as_of`, which asks the backend for one scalar (the last transaction date)
when the caller gives no date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from custlens.errors import BackendError, InputError, did_you_mean

__all__ = [
    "Freq",
    "FrameKind",
    "FREQS",
    "check_freq",
    "check_backend",
    "literal_date",
    "require_columns",
    "optional_column",
    "day_of",
    "period_index",
    "period_start",
    "resolve_as_of",
    "to_date",
    "to_frame",
]

Freq = Literal["D", "W", "M"]
FrameKind = Literal["pandas", "polars", "arrow", "ibis"]
FREQS: tuple[str, ...] = ("D", "W", "M")

# Monday 1970-01-05 is epoch day 4, so (epoch_day_of_a_monday + 3) is a multiple of 7.
_MONDAY_SHIFT = 3


def check_freq(freq: str) -> str:
    """Return ``freq`` upper-cased; raise :class:`InputError` unless it is D, W or M."""
    value = str(freq).upper()
    if value not in FREQS:
        raise InputError(
            f"'freq' must be one of D (days), W (weeks, Monday to Sunday), M (calendar months); got {freq!r}"
        )
    return value


_UTC_NAMES = ("UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "+00:00", "UTC+00:00")


def check_backend(table: ir.Table) -> None:
    """Refuse a Spark session whose time zone is not UTC (days would shift).

    Raises
    ------
    BackendError
        Naming the session's time zone and the setting to change.
    """
    try:
        backend = table._find_backend(use_default=False)
    except Exception:  # memtables and unbound tables: executed on the default (DuckDB)
        return
    if getattr(backend, "name", "") != "pyspark":
        return
    zone = backend._session.conf.get("spark.sql.session.timeZone")  # type: ignore[attr-defined]
    if str(zone).upper() not in _UTC_NAMES:
        raise BackendError(
            f"the Spark session's time zone is {zone!r}; custlens takes calendar days in UTC: "
            "set spark.sql.session.timeZone=UTC"
        )


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
                f"{what} has no column {name!r} (given as {parameter}){did_you_mean(name, present)} "
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


def day_of(column: ir.Value, parameter: str = "date_col") -> ir.DateValue:
    """The calendar day (UTC) of a date or timestamp column, as a date expression."""
    dtype = column.type()
    if dtype.is_date():
        return column  # type: ignore[return-value]
    if dtype.is_timestamp():
        return column.date()  # type: ignore[union-attr]
    raise InputError(
        f"{parameter} {column.get_name()!r} must hold dates or timestamps; it has type {dtype}. "
        "Parse it first (the `custlens summary` command accepts ISO text and YYYYMMDD numbers)"
    )


def period_index(day: ir.DateValue, freq: str) -> ir.IntegerValue:
    """Integer number of the period holding ``day``: consecutive periods differ by one.

    ``D``: days since 1970-01-01. ``W``: ISO weeks (Monday to Sunday) since the week of
    1970-01-05. ``M``: calendar months since January of year 0.
    """
    if freq == "D":
        return day.epoch_days().cast("int64")
    if freq == "W":
        monday = day.truncate("W").epoch_days()
        return ((monday + _MONDAY_SHIFT) / 7).round().cast("int64")
    return (day.year() * 12 + day.month() - 1).cast("int64")


def period_start(day: ir.DateValue, freq: str) -> ir.DateValue:
    """The first day of the period holding ``day`` (the day, the Monday, the 1st)."""
    if freq == "D":
        return day
    return day.truncate(freq)


def to_date(value: Any, parameter: str) -> dt.date:
    """Coerce a date given as ``date``, ``datetime``, ISO text or YYYYMMDD to a ``date``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime().date()
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InputError(f"{parameter!r} must be a date like 1997-09-30; got {value!r}")


def resolve_as_of(day: ir.DateValue, value: Any, parameter: str) -> dt.date:
    """The as-of date: ``value`` when given, else the last day in ``day`` (one scalar query)."""
    if value is not None:
        return to_date(value, parameter)
    last = day.max().to_pyarrow().as_py()
    if last is None:
        raise InputError(f"no dated rows to take a default {parameter!r} from; give {parameter}")
    return to_date(last, parameter)


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
        return expr.to_pyarrow()
    raise InputError(f"'kind' must be one of pandas, polars, arrow, ibis; got {kind!r}")


def literal_date(value: dt.date) -> ir.DateScalar:
    """An Ibis date literal."""
    return ibis.date(value.isoformat())
