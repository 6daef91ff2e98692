"""Writing files the user asked for: safe targets, atomic writes, cells that cannot run.

Every exporter and every command that writes a file goes through this module:

* :func:`check_target` refuses a folder, a missing folder, a file of a custlens workspace
  (its database, settings, quarantine, audit log; only ``exports/`` inside a workspace is
  open to outputs), one of the command's input files, and an existing file unless
  ``overwrite`` is given;
* :func:`write_atomic` writes to a temporary file in the same folder and renames it, so a
  failure leaves the old file (or none), never half a file; outputs are mode 0600;
* :func:`neutralise` defuses spreadsheet formulas (CSV injection, OWASP): a text cell that
  begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from custlens.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CSV_BATCH_ROWS",
    "FORMULA_START",
    "check_target",
    "csv_bytes",
    "csv_pieces",
    "flat_columns",
    "write_atomic",
    "neutralise",
    "neutralise_text",
    "workspace_of",
]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""
_OPEN_IN_WORKSPACE = "exports"


def workspace_of(path: Path) -> Path | None:
    """The custlens workspace folder that contains ``path``, if any."""
    for parent in path.resolve().parents:
        if (parent / "workspace.toml").is_file() and (parent / "warehouse.duckdb").exists():
            return parent
    return None


def check_target(
    path: str | Path,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
    option: str = "'path'",
    force_hint: str = "--force",
) -> Path:
    """Return ``path`` if a file may be written there; raise :class:`InputError` otherwise.

    Parameters
    ----------
    overwrite
        Whether an existing file may be replaced.
    inputs
        Files the command reads; writing over one of them is refused.
    option
        The parameter or flag naming the path, for messages.
    force_hint
        How the caller allows overwriting (``--force`` on the CLI, ``overwrite=True`` in Python).
    """
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target}: is a folder; {option} expects a file name")
    if not target.parent.is_dir():
        raise InputError(f"{target}: the folder {target.parent} does not exist; create it or choose another {option}")
    home = workspace_of(target)
    if home is not None:
        inside = target.resolve().relative_to(home.resolve())
        if inside.parts[0] != _OPEN_IN_WORKSPACE:
            raise InputError(
                f"{target}: is inside the custlens workspace {home}; {option} may not write there "
                f"(only into its {_OPEN_IN_WORKSPACE}/ folder), it would damage the workspace"
            )
    for source in inputs:
        src = Path(source)
        if src.exists() and target.exists() and os.path.samefile(src, target):
            raise InputError(f"{target}: is an input of this command; {option} must name another file")
    if target.exists() and not overwrite:
        raise InputError(f"{target}: already exists; give {force_hint} to replace it, or choose another {option}")
    return target


def write_atomic(path: str | Path, data: bytes | Iterable[bytes | memoryview]) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename (mode 0600).

    ``data`` may be pieces (an iterable of bytes), written as they come: a failure while
    they are produced leaves no file behind (nor the temporary one).
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            for piece in [data] if isinstance(data, bytes) else data:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def neutralise_text(value: str) -> str:
    """``value`` with a leading ``'`` when it begins like a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def neutralise(table: pa.Table) -> pa.Table:
    """Every text column of ``table`` with formula-like cells defused (see :func:`neutralise_text`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pattern = "^[=+\\-@\t\r]"
    for i, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
            column = table.column(i).cast(kind)
        else:
            column = table.column(i)
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            continue
        hit = pc.match_substring_regex(column, pattern)
        if pc.any(pc.fill_null(hit, False)).as_py():
            fixed = pc.if_else(hit, pc.binary_join_element_wise("'", column, ""), column)
            table = table.set_column(i, pa.field(field.name, kind, field.nullable), fixed)
    return table


def csv_bytes(table: pa.Table) -> bytes:
    """``table`` as CSV, byte for byte as :func:`pyarrow.csv.write_csv` writes it, faster for UTC times.

    Arrow renders a timestamp with a time zone value by value through the zone database
    (about 5 microseconds each: seconds for the two time columns of a million customers);
    a UTC time is written as the zone-less time followed by ``Z``, which is how this renders
    it. Tables with a UTC timestamp column and only flat columns (text, numbers, booleans,
    dates, timestamps) are rendered here with Arrow's casts to text, the way Arrow's writer
    does (header and text quoted, quotes doubled, missing values empty); others by Arrow's
    writer. Slices of 65,536 rows are rendered in parallel threads.
    """
    header, render = _csv_renderer(table.schema)
    batches = table.to_batches(max_chunksize=CSV_BATCH_ROWS)
    out = io.BytesIO()
    out.write(header)
    # a slice at a time (little memory beside the text), the slices in parallel: Arrow's
    # kernels release the GIL, and pool.map hands the pieces back in row order
    with ThreadPoolExecutor(max_workers=max(1, min(len(batches), os.cpu_count() or 1))) as pool:
        for piece in pool.map(render, batches):
            out.write(piece)
    return out.getvalue()


def csv_pieces(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[bytes | memoryview]:
    """The CSV text of a table given batch by batch, header first: ``csv_bytes(neutralise(table))`` in pieces.

    Each batch is cast to ``schema`` (the types a result should have, where an engine gives
    others, such as 32-bit integers for 64-bit ones), defused (:func:`neutralise`) and
    rendered in a pool of threads while the next batches are read, at most two per thread
    at a time; the pieces come in the batches' order. Reading a query's result from DuckDB
    and Arrow's kernels both release the GIL, so the text of one batch is written while
    the engine hands over the next.
    """
    import pyarrow as pa

    header, render = _csv_renderer(neutralise(pa.Table.from_batches([], schema)).schema)

    def text(batch: pa.RecordBatch) -> bytes | memoryview:
        table = neutralise(pa.Table.from_batches([batch]).cast(schema))
        pieces = [render(piece) for piece in table.to_batches(max_chunksize=CSV_BATCH_ROWS)]
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    yield header
    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[bytes | memoryview]] = deque()
        for batch in batches:
            pending.append(pool.submit(text, batch))
            while len(pending) > 2 * workers or (pending and pending[0].done()):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


CSV_BATCH_ROWS = 1 << 16
"""Rows rendered as one piece of CSV text, and of each batch a streamed CSV result is read in."""


def flat_columns(schema: pa.Schema) -> bool:
    """Whether every column of ``schema`` is flat: text, a number, a boolean, a date or a timestamp."""
    import pyarrow as pa

    return all(
        pa.types.is_string(k) or pa.types.is_integer(k) or pa.types.is_floating(k) or pa.types.is_boolean(k)
        or pa.types.is_date(k) or pa.types.is_timestamp(k)
        for k in schema.types
    )  # fmt: skip


def _csv_renderer(schema: pa.Schema) -> tuple[bytes, Callable[[pa.RecordBatch], bytes | memoryview]]:
    """The header line of ``schema``'s CSV and a function writing one batch's rows (see :func:`csv_bytes`)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    def utc(kind: pa.DataType) -> bool:
        return pa.types.is_timestamp(kind) and kind.tz == "UTC"

    kinds = schema.types
    if not (kinds and flat_columns(schema) and any(utc(k) for k in kinds)):
        buf = io.BytesIO()
        pacsv.write_csv(pa.Table.from_batches([], schema), buf)
        rows_only = pacsv.WriteOptions(include_header=False)

        def arrow_rows(batch: pa.RecordBatch) -> bytes:
            out = io.BytesIO()
            pacsv.write_csv(batch, out, rows_only)
            return out.getvalue()

        return buf.getvalue(), arrow_rows
    header = ",".join('"' + name.replace('"', '""') + '"' for name in schema.names) + "\n"
    comma, newline, nothing = (pa.scalar(text, pa.large_string()) for text in (",", "\n", ""))

    def render(batch: pa.RecordBatch) -> bytes | memoryview:
        if not batch.num_rows:
            return b""
        cells = []
        for column, kind in zip(batch.columns, kinds, strict=True):
            if pa.types.is_string(kind):
                text = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
            elif utc(kind):
                naive = pc.cast(column.cast(pa.timestamp(kind.unit)), pa.string())
                text = pc.binary_join_element_wise(naive, "Z", "")
            else:
                text = pc.cast(column, pa.string())
            cells.append(pc.fill_null(text, "").cast(pa.large_string()))
        lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*cells, comma), newline, nothing)
        offsets, values = lines.buffers()[1:3]  # the lines one after the other in the values buffer
        assert offsets is not None and values is not None
        ends = pa.Array.from_buffers(pa.int64(), len(lines) + 1, [None, offsets], offset=lines.offset)
        return memoryview(values[ends[0].as_py() : ends[-1].as_py()])

    return header.encode("utf-8"), render
