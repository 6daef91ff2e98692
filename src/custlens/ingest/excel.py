"""Reading Excel workbooks safely: one reader for the importer and the whole-file reader.

An ``.xlsx`` file is a zip of XML parts; a small file can hold a huge sheet (an "Excel
bomb": 1 MB that inflates to a 1 GiB cell, or 2 million rows). Before the workbook is
parsed, :func:`check_workbook` inflates each part as a stream and refuses the file when a
part exceeds :data:`MAX_PART_BYTES` or the sheet holds more than :data:`MAX_ROWS` rows
(Excel's own limit), so nothing large is ever held. The sheet is then read row by row
(:func:`iter_sheet`) into Arrow batches, refusing a cell longer than :data:`MAX_CELL_CHARS`
(Excel's own limit), so no whole-sheet Python copy is made.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from custlens.errors import InputError

__all__ = [
    "MAX_PART_BYTES",
    "MAX_ROWS",
    "MAX_CELL_CHARS",
    "BATCH_ROWS",
    "check_workbook",
    "open_sheet",
    "iter_sheet",
    "cells_to_table",
]

MAX_PART_BYTES = 512 << 20
"""Largest inflated size of one part of the workbook (a sheet, the shared strings): 512 MiB."""
MAX_ROWS = 1_048_576
"""Most rows a sheet may hold (Excel's limit)."""
MAX_CELL_CHARS = 32_767
"""Longest text a cell may hold (Excel's limit)."""
BATCH_ROWS = 65_536
"""Rows per batch read from a sheet."""
_ROW = re.compile(rb"<(?:\w+:)?row[\s>]")


def check_workbook(path: Path, *, max_part_bytes: int = MAX_PART_BYTES, max_rows: int = MAX_ROWS) -> None:
    """Refuse a workbook whose parts inflate beyond ``max_part_bytes`` or whose sheets have more than ``max_rows`` rows.

    Sizes are measured by inflating each part as a stream (headers can lie), stopping as
    soon as a limit is passed. Old ``.xls`` files (not zips) are left to the reader.
    """
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.file_size > max_part_bytes:
                    raise InputError(_too_big(path, info.filename, info.file_size, max_part_bytes))
                is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
                size = rows = 0
                tail = b""
                with archive.open(info) as part:
                    while chunk := part.read(1 << 20):
                        size += len(chunk)
                        if size > max_part_bytes:
                            raise InputError(_too_big(path, info.filename, size, max_part_bytes))
                        if is_sheet:
                            window = tail + chunk
                            rows += len(_ROW.findall(window)) - len(_ROW.findall(tail))
                            tail = chunk[-16:]
                            if rows > max_rows:
                                raise InputError(
                                    f"{path}: sheet part {info.filename} holds more than {max_rows:,} rows "
                                    "(Excel's limit); split the file or export it as CSV"
                                )
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InputError(f"{path}: not a readable Excel workbook ({exc})") from None


def _too_big(path: Path, part: str, size: int, limit: int) -> str:
    return (
        f"{path}: the part {part} of the workbook inflates to more than {limit >> 20:,} MiB "
        f"(at least {size >> 20:,} MiB); refusing it (an oversized or malicious workbook). Export the sheet as CSV"
    )


def open_sheet(path: Path, sheet: str | int | None) -> tuple[Any, str]:
    """Check the workbook and open one sheet (name or 0-based index; default the first)."""
    check_workbook(path)
    from python_calamine import CalamineWorkbook

    sheet = 0 if sheet is None else sheet
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise InputError(f"{path}: has {len(names)} sheet(s); sheet index {sheet} does not exist")
            sheet = names[sheet]
        if sheet not in names:
            raise InputError(f"{path}: no sheet {sheet!r}; sheets are: {', '.join(names)}")
        return workbook.get_sheet_by_name(sheet), str(sheet)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types
        raise InputError(f"{path}: not a readable Excel workbook ({exc})") from None


def iter_sheet(
    path: Path, sheet: str | int | None, *, skip_rows: int = 0, skip_empty_area: bool = False
) -> tuple[list[str], Iterator[list[list[Any]]]]:
    """The header and the rows of a sheet, in batches of :data:`BATCH_ROWS` rows.

    Raises
    ------
    InputError
        An unreadable or oversized workbook, an unknown sheet, an empty sheet, a header naming
        a column twice, a cell longer than :data:`MAX_CELL_CHARS` characters (named by row).
    """
    handle, name = open_sheet(path, sheet)
    try:
        rows = _padded(handle) if not skip_empty_area else iter(handle.iter_rows())
        for _ in range(skip_rows):
            next(rows, None)
        first = next(rows, None)
        if skip_empty_area:
            while first is not None and all(v == "" or v is None for v in first):
                first = next(rows, None)
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types
        raise InputError(f"{path}: not a readable Excel workbook ({exc})") from None
    if first is None:
        raise InputError(f"{path}: sheet {name!r} is empty")
    header = [str(h).strip() for h in first]
    header = [h if h else f"column_{i + 1}" for i, h in enumerate(header)]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise InputError(f"{path}: column {dup!r} appears twice in the header of sheet {name!r}")
    first_row = skip_rows + 2

    def batches() -> Iterator[list[list[Any]]]:
        batch: list[list[Any]] = []
        number = first_row
        for row in rows:
            for value in row:
                if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    raise InputError(
                        f"{path}: sheet {name!r} row {number} holds a cell of {len(value):,} characters; "
                        f"at most {MAX_CELL_CHARS:,} are accepted"
                    )
            batch.append(row)
            number += 1
            if len(batch) == BATCH_ROWS:
                yield batch
                batch = []
        if batch:
            yield batch

    return header, batches()


def _padded(handle: Any) -> Iterator[list[Any]]:
    """Rows from A1: calamine's range starts at the first used cell; put back what precedes it."""
    top, left = handle.start or (0, 0)
    for _ in range(top):
        yield []
    for row in handle.iter_rows():
        yield [""] * left + list(row) if left else row


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def cells_to_table(header: list[str], rows: list[list[Any]]) -> pa.Table:
    """Rows of cells as an Arrow table: one typed column per header name where the
    column's values share a type, text otherwise; empty cells are nulls."""
    columns: dict[str, pa.Array] = {}
    for i, name in enumerate(header):
        values = [None if (i >= len(r) or r[i] == "") else r[i] for r in rows]
        kinds = {type(v) for v in values if v is not None}
        try:
            if len(kinds) <= 1 or kinds <= {int, float}:
                columns[name] = pa.array(values)
            else:
                raise pa.ArrowInvalid("mixed")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[name] = pa.array([None if v is None else _cell_text(v) for v in values], pa.string())
        if pa.types.is_null(columns[name].type):
            columns[name] = pa.array(values, pa.string())
    return pa.table(columns)
