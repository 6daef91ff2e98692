"""Exports of segmentation results: CSV for Excel (UTF-8 with BOM or GB18030), XLSX, Parquet.

Text cells that begin like a spreadsheet formula (``=``, ``+``, ``-``, ``@``, tab, carriage
return) are defused in CSV with a leading ``'`` and written as plain strings in XLSX, so an
id like ``=HYPERLINK(...)`` never runs in the analyst's spreadsheet. Files are written
through a temporary file (:mod:`custlens._output`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from custlens._frames import as_arrow
from custlens.errors import InputError

__all__ = ["ENCODINGS", "to_arrow_table", "csv_bytes", "write_export"]

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
"""CSV encodings: plain UTF-8, UTF-8 with BOM (Excel opens it correctly) and GB18030."""


def to_arrow_table(data: Any) -> pa.Table:
    """An Arrow table from an Ibis expression, pandas/polars frame or Arrow table."""
    return as_arrow(data, "export")


def csv_bytes(table: Any, encoding: str = "utf-8") -> bytes:
    """CSV text of a table in ``encoding`` (one of :data:`ENCODINGS`)."""
    if encoding not in ENCODINGS:
        raise InputError(f"'encoding' must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    from custlens._output import csv_bytes as utf8_csv
    from custlens._output import neutralise

    data = utf8_csv(neutralise(to_arrow_table(table)))
    if encoding == "utf-8":
        return data
    text = data.decode("utf-8")
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise InputError(
            f"a value cannot be written in {encoding} ({exc.object[exc.start : exc.end]!r}); set 'encoding' to utf-8-sig"
        ) from None


def _excel_value(v: Any) -> Any:
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "tzinfo") and getattr(v, "tzinfo", None) is not None:
        return v.replace(tzinfo=None)
    return v


def write_export(
    path: str | Path,
    sheets: Mapping[str, Any],
    encoding: str = "utf-8-sig",
    *,
    overwrite: bool = True,
    inputs: Sequence[str | Path] = (),
) -> list[Path]:
    """Write tables to ``path`` by suffix: ``.csv``, ``.xlsx`` or ``.parquet``.

    ``sheets`` maps names (``"customers"``, ``"summary"``) to tables. An Excel file gets one
    sheet per table; CSV and Parquet write the first table to ``path`` and each further
    table beside it as ``<stem>_<name><suffix>``. Returns the files written.

    A file of a custlens workspace and one of ``inputs`` are never written; an existing
    file only with ``overwrite`` (the CLI asks for ``--force``). Each file is written to a
    temporary file first and renamed, so a failure leaves no half-written file.
    """
    from custlens._output import check_target, write_atomic

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".parquet"):
        raise InputError(f"{path}: export format follows the suffix; expected .csv, .xlsx or .parquet")
    names = list(sheets)
    targets = (
        [path]
        if suffix == ".xlsx"
        else [path if i == 0 else path.with_name(f"{path.stem}_{n}{suffix}") for i, n in enumerate(names)]
    )
    for target in targets:
        check_target(target, overwrite=overwrite, inputs=inputs, option="'path'", force_hint="--force")
    tables = {name: to_arrow_table(t) for name, t in sheets.items()}
    if suffix == ".xlsx":
        write_atomic(path, _xlsx_bytes(tables))
        return [path]
    written = []
    for target, table in zip(targets, tables.values()):
        if suffix == ".csv":
            write_atomic(target, csv_bytes(table, encoding))
        else:
            import pyarrow.parquet as pq

            buf = io.BytesIO()
            pq.write_table(table, buf)
            write_atomic(target, buf.getvalue())
        written.append(target)
    return written


def _xlsx_bytes(tables: Mapping[str, pa.Table]) -> bytes:
    """An XLSX workbook, one sheet per table; text cells are typed strings (never formulas)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    for name, table in tables.items():
        ws = wb.create_sheet(title=name[:31])
        ws.append([_text_cell(ws, WriteOnlyCell, c) for c in table.column_names])
        for batch in table.to_batches(max_chunksize=50_000):
            cols = [c.to_pylist() for c in batch.columns]
            for row in zip(*cols):
                ws.append([_text_cell(ws, WriteOnlyCell, v) if isinstance(v, str) else _excel_value(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _text_cell(ws: Any, cell_class: Any, value: str) -> Any:
    cell = cell_class(ws, value=value)
    cell.data_type = "s"  # a string, even when it starts with "=": Excel does not evaluate it
    return cell
