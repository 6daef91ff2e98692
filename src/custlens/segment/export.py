"""Exports of segmentation results: CSV for Excel (UTF-8 with BOM or GB18030), XLSX, Parquet."""

from __future__ import annotations

import io
from collections.abc import Mapping
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
    import pyarrow.csv as pacsv

    if encoding not in ENCODINGS:
        raise InputError(f"'encoding' must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    buf = io.BytesIO()
    pacsv.write_csv(to_arrow_table(table), buf)
    text = buf.getvalue().decode("utf-8")
    if encoding == "utf-8":
        return text.encode("utf-8")
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


def write_export(path: str | Path, sheets: Mapping[str, Any], encoding: str = "utf-8-sig") -> list[Path]:
    """Write tables to ``path`` by suffix: ``.csv``, ``.xlsx`` or ``.parquet``.

    ``sheets`` maps names (``"customers"``, ``"summary"``) to tables. An Excel file gets one
    sheet per table; CSV and Parquet write the first table to ``path`` and each further
    table beside it as ``<stem>_<name><suffix>``. Returns the files written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".parquet"):
        raise InputError(f"{path}: export format follows the suffix; expected .csv, .xlsx or .parquet")
    tables = {name: to_arrow_table(t) for name, t in sheets.items()}
    if suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        for name, table in tables.items():
            ws = wb.create_sheet(title=name[:31])
            ws.append(table.column_names)
            for batch in table.to_batches(max_chunksize=50_000):
                cols = [c.to_pylist() for c in batch.columns]
                for row in zip(*cols):
                    ws.append([_excel_value(v) for v in row])
        wb.save(path)
        return [path]
    written = []
    for i, (name, table) in enumerate(tables.items()):
        target = path if i == 0 else path.with_name(f"{path.stem}_{name}{suffix}")
        if suffix == ".csv":
            target.write_bytes(csv_bytes(table, encoding))
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, target)
        written.append(target)
    return written
