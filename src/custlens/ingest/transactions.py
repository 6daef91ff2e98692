"""A user's transaction file as an Ibis table with canonical columns (no import, no workspace).

Commands that take a transaction file directly (``custlens summary FILE``) let the engine
scan it (:func:`~custlens.ingest.readers.scan_table`: Parquet and UTF-8 CSV are read by
DuckDB, only the three columns used), check the named columns and convert them in the
engine (:func:`custlens.features.coerce.as_dates` and ``as_numbers``: dates in any
accepted form, amounts, customer ids kept as written). A ``date_format`` (a ``strptime``
format), Excel and other text files go through Arrow compute
(:func:`~custlens.features.coerce.parse_dates`). Bad values are reported with their row;
work is columnar, never row by row.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from custlens.errors import InputError
from custlens.features.coerce import check_column

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["load_transactions"]


def load_transactions(
    path: str | Path,
    *,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str | None = None,
    date_format: str | None = None,
    backend: str = "duckdb",
    spark: Any = None,
) -> ir.Table:
    """A transaction file as an Ibis table with canonical column names.

    Parameters
    ----------
    path
        CSV/TSV/whitespace text, Parquet or Excel file.
    customer_col, date_col, amount_col
        The file's columns holding the customer id, the purchase date or time and
        (optionally) the amount.
    date_format
        A ``strptime`` format for dates in none of the accepted forms
        (:data:`custlens.features.coerce.DATE_FORMATS`), e.g. ``"%d/%m/%Y"``.
    backend, spark
        The engine that reads the file: ``"duckdb"`` or ``"spark"`` (with this session,
        or :func:`custlens.warehouse.start_spark`'s); see
        :func:`~custlens.ingest.readers.scan_table`. A ``date_format`` is applied by Arrow
        before the rows go to Spark.

    Returns
    -------
    ibis.Table
        ``customer_id`` (string, as written in the file: leading zeros kept),
        ``ordered_at`` (UTC timestamp, or the UTC day for text dates converted by the
        engine) and, with ``amount_col``, ``amount`` (float64).

    Raises
    ------
    InputError
        A missing column (named with its parameter and a "did you mean"), an empty file,
        or values that are not dates / numbers / ids (the first bad row and value).
    """
    from custlens.ingest.readers import scan_table

    source = str(path)
    if date_format is not None:
        loaded = _load_arrow(path, customer_col, date_col, amount_col, date_format)
        if backend == "spark":
            from custlens.ingest.readers import spark_table

            return spark_table(loaded.to_pyarrow(), spark)
        return loaded
    table = scan_table(path, text_columns=(customer_col,), backend=backend, spark=spark)
    first_row = 1 if Path(path).suffix.lower() in (".parquet", ".pq") else 2
    check_column(table.columns, customer_col, "customer_col", source)
    check_column(table.columns, date_col, "date_col", source)
    if amount_col is not None:
        check_column(table.columns, amount_col, "amount_col", source)
    from custlens.features.coerce import as_dates, as_numbers

    date = table[date_col]
    if not date.type().is_timestamp():
        date = as_dates(date, date_col, what=source, first_row=first_row)
    columns: dict[str, Any] = {"customer_id": table[customer_col].cast("string"), "ordered_at": date}
    if amount_col is not None:
        columns["amount"] = as_numbers(table[amount_col], amount_col, what=source, first_row=first_row)
    result = table.select(**columns)
    _check_ids(result, customer_col, source, first_row)
    return result


def _check_ids(table: ir.Table, column: str, source: str, first_row: int) -> None:
    """Refuse an empty file and a missing or blank customer id.

    One cheap aggregate (count, non-null count, smallest id) decides: a blank id sorts
    first (it is empty or starts with white space), so only when the smallest id could be
    blank, or an id is missing, are the rows searched for the first bad one.
    """
    import ibis

    ids = table.customer_id
    res = table.aggregate(n=table.count(), present=ids.count(), low=ids.min()).to_pyarrow()
    n = res["n"][0].as_py()
    if not n:
        raise InputError(f"{source}: no transactions (a header only); expected one row per purchase")
    low = res["low"][0].as_py()
    if res["present"][0].as_py() == n and low is not None and low[:1].strip():
        return
    blank = ids.isnull() | (ids.strip() == "")
    rows = table.select(_blank=blank, _r=ibis.row_number() + first_row)
    found = rows.aggregate(bad=rows._blank.sum(), first=rows._r.min(where=rows._blank)).to_pyarrow()
    bad = found["bad"][0].as_py() or 0
    if bad:
        raise InputError(
            f"{source}: column {column!r}: {bad} value(s) are not customer ids (empty) "
            f"(first: row {found['first'][0].as_py()})"
        )


def _load_arrow(
    path: str | Path, customer_col: str, date_col: str, amount_col: str | None, date_format: str
) -> ir.Table:
    """The file read whole with Arrow (every column as text), dates parsed with ``date_format``."""
    import ibis
    import pyarrow as pa

    from custlens.features.coerce import parse_amounts, parse_dates, parse_ids
    from custlens.ingest.readers import read_table

    source = str(path)
    table = read_table(path, all_strings=True)
    first_row = 1 if Path(path).suffix.lower() in (".parquet", ".pq") else 2
    check_column(table.column_names, customer_col, "customer_col", source)
    check_column(table.column_names, date_col, "date_col", source)
    if amount_col is not None:
        check_column(table.column_names, amount_col, "amount_col", source)
    if table.num_rows == 0:
        raise InputError(f"{source}: no transactions (a header only); expected one row per purchase")
    columns: dict[str, Any] = {
        "customer_id": parse_ids(table[customer_col], column=customer_col, source=source, first_row=first_row),
        "ordered_at": parse_dates(
            table[date_col], column=date_col, source=source, date_format=date_format, first_row=first_row
        ),
    }
    if amount_col is not None:
        columns["amount"] = parse_amounts(table[amount_col], column=amount_col, source=source, first_row=first_row)
    return ibis.memtable(pa.table(columns))
