"""A user's transaction file as an Ibis table with canonical columns (no import, no workspace).

Commands that take a transaction file directly (``custlens summary FILE``) read it whole
with :func:`~custlens.ingest.readers.read_table`, check the named columns and convert
them with :mod:`custlens.features.coerce` (dates in any accepted form or an explicit
``date_format``, amounts, customer ids kept as written). Bad values are reported with
their row; work is columnar (Arrow compute), never row by row.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.errors import InputError
from custlens.features.coerce import check_column, parse_amounts, parse_dates, parse_ids
from custlens.ingest.readers import read_table

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
) -> ir.Table:
    """Read a transaction file into an Ibis memtable with canonical column names.

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

    Returns
    -------
    ibis.Table
        ``customer_id`` (string, as written in the file: leading zeros kept),
        ``ordered_at`` (UTC timestamp) and, with ``amount_col``, ``amount`` (float64).

    Raises
    ------
    InputError
        A missing column (named with its parameter and a "did you mean"), an empty file,
        or values that are not dates / numbers / ids (the first bad row and value).
    """
    import ibis

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
