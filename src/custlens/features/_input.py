"""Turn a user's transaction file into an Ibis table for the summaries.

The ``custlens summary`` command reads any CSV/TSV/whitespace/Parquet/Excel file; this
module checks the named columns, parses the dates (ISO text, YYYYMMDD integers or text,
timestamps, or an explicit ``strptime`` format) and amounts, and reports bad values with
their row. Work is columnar (pyarrow compute), never row by row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from custlens.errors import InputError, did_you_mean
from custlens.features.history import purchase_history

__all__ = ["load_transactions", "parse_dates", "summarize_file", "summarize_workspace"]

_UTC = pa.timestamp("us", tz="UTC")
_DEFAULT_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y%m%d",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
)
_YMD = r"^\s*(?P<y>\d{4})[-/]?(?P<m>\d{2})[-/]?(?P<d>\d{2})"


def _bad_rows(source: str, column: str, values: pa.Array, bad: pa.Array, rule: str, header_rows: int) -> InputError:
    positions = pc.indices_nonzero(bad).to_pylist()
    first = positions[0]
    return InputError(
        f"{source}: column {column!r}: {len(positions)} value(s) are not {rule} "
        f"(first: row {first + header_rows}, value {values[first].as_py()!r})"
    )


def _calendar_ok(text: pa.Array) -> pa.Array:
    """True where the leading year-month-day of ``text`` is a real calendar day."""
    parts = pc.extract_regex(text, _YMD)
    ymd = pc.binary_join_element_wise(parts.field("y"), parts.field("m"), parts.field("d"), "-")
    parsed = pc.strptime(ymd, format="%Y-%m-%d", unit="s", error_is_null=True)
    back = pc.strftime(parsed, format="%Y-%m-%d")
    return pc.fill_null(pc.equal(back, ymd), True)


def parse_dates(
    values: pa.Array | pa.ChunkedArray,
    *,
    column: str,
    source: str,
    date_format: str | None = None,
    header_rows: int = 2,
) -> pa.Array:
    """Parse a column of dates into UTC timestamps (naive values are taken as UTC).

    Accepts timestamps, dates, YYYYMMDD integers and text in ISO form or YYYYMMDD, or
    text in ``date_format`` (a ``strptime`` format) when given. Nulls stay null.

    Raises
    ------
    InputError
        Naming the column, how many values fail, the first failing row and its value.
    """
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    kind = arr.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            return pc.cast(arr, pa.timestamp("us")).cast(_UTC)
        return pc.cast(arr, _UTC)
    if pa.types.is_date(kind):
        return pc.cast(pc.cast(arr, pa.timestamp("us")), _UTC)
    if pa.types.is_floating(kind):
        whole = pc.equal(pc.floor(arr), arr)
        bad = pc.invert(pc.fill_null(whole, True))
        if pc.any(bad).as_py():
            raise _bad_rows(source, column, arr, bad, "whole YYYYMMDD numbers", header_rows)
        arr = pc.cast(arr, pa.int64())
        kind = arr.type
    if pa.types.is_integer(kind):
        arr = pc.cast(arr, pa.string())
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise InputError(f"{source}: column {column!r} has type {kind}; expected dates")
    text = pc.utf8_trim_whitespace(pc.cast(arr, pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    formats = (date_format,) if date_format else _DEFAULT_FORMATS
    parsed = pa.nulls(len(text), _UTC)
    for fmt in formats:
        try:
            attempt = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
        except pa.ArrowInvalid as exc:
            raise InputError(f"--date-format {fmt!r} is not a valid strptime format ({exc})") from None
        if attempt.type.tz is None:
            attempt = attempt.cast(_UTC)
        parsed = pc.coalesce(parsed, attempt.cast(_UTC))
    valid = pc.is_valid(parsed)
    if date_format is None:
        valid = pc.and_(valid, _calendar_ok(text))
    elif "%z" not in date_format and "%Z" not in date_format:
        back = pc.strftime(parsed.cast(pa.timestamp("us")), format=date_format)
        valid = pc.and_(valid, pc.fill_null(pc.equal(back, text), False))
    bad = pc.and_(pc.is_valid(text), pc.invert(valid))
    if pc.any(bad).as_py():
        expected = (
            f"dates in the format {date_format!r}"
            if date_format
            else "dates (expected ISO like 1997-01-31 or 1997-01-31 10:00:00, or YYYYMMDD "
            "like 19970131; give --date-format for other forms)"
        )
        raise _bad_rows(source, column, text, bad, expected, header_rows)
    return parsed


def _parse_amounts(values: pa.ChunkedArray, *, column: str, source: str, header_rows: int) -> pa.Array:
    arr = values.combine_chunks()
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type):
        return pc.cast(arr, pa.float64())
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        raise InputError(f"{source}: column {column!r} has type {arr.type}; expected amounts")
    text = pc.utf8_trim_whitespace(pc.cast(arr, pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    number = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
    bad = pc.and_(pc.is_valid(text), pc.invert(pc.match_substring_regex(text, number)))
    if pc.any(bad).as_py():
        raise _bad_rows(source, column, text, bad, "numbers", header_rows)
    return pc.cast(text, pa.float64())


def _check_column(table: pa.Table, name: str, option: str, source: str) -> None:
    if name not in table.column_names:
        raise InputError(
            f"{source}: no column {name!r} (given with {option}){did_you_mean(name, table.column_names)} "
            f"(columns: {', '.join(table.column_names)})"
        )


def load_transactions(
    path: str | Path,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str | None = None,
    date_format: str | None = None,
) -> ir.Table:
    """Read a transaction file into an Ibis memtable with canonical column names.

    Returns
    -------
    ibis.Table
        ``customer_id`` (string, as written in the file: leading zeros kept),
        ``ordered_at`` (UTC timestamp) and, with ``amount_col``, ``amount`` (float64).
    """
    from custlens.ingest.readers import read_table

    source = str(path)
    table = read_table(path, all_strings=True)
    header_rows = 2 if Path(path).suffix.lower() not in (".parquet", ".pq") else 1
    _check_column(table, customer_col, "--customer-col", source)
    _check_column(table, date_col, "--date-col", source)
    if table.num_rows == 0:
        raise InputError(f"{source}: no transactions (a header only); expected one row per purchase")
    columns: dict[str, Any] = {
        "customer_id": pc.cast(table[customer_col], pa.string()),
        "ordered_at": parse_dates(
            table[date_col], column=date_col, source=source, date_format=date_format, header_rows=header_rows
        ),
    }
    if amount_col is not None:
        _check_column(table, amount_col, "--amount-col", source)
        columns["amount"] = _parse_amounts(table[amount_col], column=amount_col, source=source, header_rows=header_rows)
    missing = pc.is_null(columns["customer_id"])
    if pc.any(missing).as_py():
        raise _bad_rows(source, customer_col, columns["customer_id"], missing, "customer ids (empty)", header_rows)
    return ibis.memtable(pa.table(columns))


def summarize_file(
    path: str | Path,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str | None = None,
    end: Any = None,
    freq: str = "D",
    date_format: str | None = None,
    freq_multiplier: float = 1,
) -> ir.Table:
    """:func:`~custlens.features.purchase_history` of a transaction file (see the CLI)."""
    transactions = load_transactions(
        path, customer_col=customer_col, date_col=date_col, amount_col=amount_col, date_format=date_format
    )
    _check_end(transactions, end, str(path))
    return purchase_history(
        transactions,
        amount_col="amount" if amount_col is not None else None,
        return_col=None,
        end=end,
        freq=freq,
        freq_multiplier=freq_multiplier,
    ).order_by("customer_id")


def summarize_workspace(path: str | Path, *, end: Any = None, freq: str = "D", freq_multiplier: float = 1) -> ir.Table:
    """:func:`~custlens.features.purchase_history` of a workspace's ``transactions`` table."""
    from custlens.warehouse import Workspace

    workspace = Workspace.open(path, read_only=True)
    transactions = workspace.table("transactions")
    if int(transactions.count().execute()) == 0:
        raise InputError(
            f"{path}: the workspace has no transactions yet; import some first "
            f"(custlens import FILE --table transactions --workspace {path})"
        )
    _check_end(transactions, end, str(path))
    return purchase_history(transactions, end=end, freq=freq, freq_multiplier=freq_multiplier).order_by("customer_id")


def _check_end(transactions: ir.Table, end: Any, source: str, date_col: str = "ordered_at") -> None:
    """Refuse an observation end before the first purchase: the summary would be empty."""
    if end is None:
        return
    from custlens.features._base import day_of, to_date

    end_day = to_date(end, "end")
    first = transactions.aggregate(first=day_of(transactions[date_col]).min()).to_pyarrow()["first"][0].as_py()
    if first is not None and end_day < first:
        raise InputError(f"{source}: --end {end_day} is before the first transaction ({first}); nothing to summarise")
