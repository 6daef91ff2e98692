"""Shared pieces of the command-line edge: output formats, error reporting, progress.

Commands stay thin: parse options, call one library function, hand the result to
:func:`emit`. Errors a user can cause (:class:`~custlens.errors.CustlensError`) are
reported as one line on standard error with the error's exit code, never a traceback.
"""

from __future__ import annotations

import enum
import functools
import io
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from custlens.errors import BackendError, CustlensError, InputError

if TYPE_CHECKING:
    import pyarrow as pa
    from rich.console import Console
    from rich.progress import Progress

    err_console: Console

__all__ = [
    "LIBRARY_PARAMETERS",
    "cli_message",
    "flag_names",
    "OutputFormat",
    "FormatOption",
    "OutputOption",
    "ForceOption",
    "emit",
    "check_output_path",
    "write_output",
    "dumps_json",
    "guarded",
    "progress",
    "err_console",
]

F = TypeVar("F", bound=Callable[..., Any])


def __getattr__(name: str) -> Any:
    """``err_console``, the Rich console on standard error, created on first use.

    Rich is imported only by a command that shows something on standard error (an error,
    progress, a status) or prints a table: ``custlens fit gg FILE --format json`` runs
    without it.
    """
    if name != "err_console":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    console = Console(stderr=True)
    globals()["err_console"] = console  # later look-ups skip this function
    return console


def _err_console() -> Console:
    console: Console | None = globals().get("err_console")
    return console if console is not None else __getattr__("err_console")


class OutputFormat(str, enum.Enum):
    """Output formats every reporting command offers."""

    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="Output format: a readable table, CSV, JSON or Parquet."),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file instead of standard output (required for parquet on a terminal).",
    ),
]


ForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing output file.")]
BackendOption = Annotated[
    str,
    typer.Option(
        "--backend",
        help=(
            "Engine that reads a data file: duckdb (default) or spark (the session spark-submit "
            "or SPARK_REMOTE gives, else a local one; the same results)."
        ),
    ),
]


LIBRARY_PARAMETERS: dict[str, str] = {
    "as_of": "end",
    "horizon_months": "horizon",
    "monthly_discount": "discount",
    "time_unit": "freq",
    "customer_col": "id_col",
    "value_col": "value_column",
}
"""Library parameter names whose CLI option has another name (library name -> CLI name).

Library errors name library parameters (``'horizon_months' must be > 0``); the CLI
reports them with the command's own flag (``--horizon must be > 0``). A library name is
translated when the command has an option of that name or of the name given here."""


def guarded(fn: F) -> F:
    """Report :class:`CustlensError` (and unreadable files) as one line plus an exit code.

    Quoted library parameter names in the message (``'as_of'``) become the command's
    flags (``--as-of``), so a CLI user reads the option they typed.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CustlensError as exc:
            _report(exc, flag_names(fn))
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # unreadable or unwritable paths the user named
            _report(exc)
            raise typer.Exit(InputError.exit_code) from None
        except Exception as exc:
            found = scan_error(exc) or memory_error(exc)
            if found is None:
                raise
            _report(found)
            raise typer.Exit(found.exit_code) from None

    return wrapper  # type: ignore[return-value]


def memory_error(exc: BaseException) -> BackendError | None:
    """DuckDB's out-of-memory error as one :class:`BackendError` that says which setting to raise.

    A query that needs more than the engine's memory limit, even spilling to disk, fails
    with ``OutOfMemoryException``; imports and analyses commit nothing then. Other
    exceptions give None.
    """
    kind = type(exc)
    if not kind.__module__.lstrip("_").startswith("duckdb") or kind.__name__ != "OutOfMemoryException":
        return None
    return _memory_message(str(exc), kind.__name__)


def _memory_message(text: str, kind: str = "OutOfMemoryException") -> BackendError:
    first = text.strip().splitlines()[0] if text.strip() else kind
    return BackendError(
        f"the engine ran out of memory ({first}); nothing was stored. Raise memory_limit in the [duckdb] "
        "section of the workspace's workspace.toml (2GB by default; file scans use 600MB, and `cube` 600MB "
        "unless given --memory-limit), or run on a machine with more memory"
    )


def scan_error(exc: BaseException) -> InputError | None:
    """A user's file that the engine found unreadable while scanning it, as an :class:`InputError`.

    A file scanned by the engine (:func:`custlens.ingest.scan_table`) is parsed while a
    query runs, so a bad line far down a CSV file (too many fields, text in a number
    column) surfaces as DuckDB's error, which names the line, its text and the file.
    Other exceptions give None.
    """
    kind = type(exc)
    if not kind.__module__.lstrip("_").startswith("duckdb") or kind.__name__ not in (
        "InvalidInputException",
        "ConversionException",
    ):
        return None
    return _scan_message(str(exc))


def _scan_message(text: str) -> InputError | None:
    if "CSV Error" not in text and "file = " not in text and "Could not convert" not in text:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    keep = [line for line in lines if not line.startswith(("*", "Possible fixes"))][:3]
    files = [line.split("=", 1)[1].strip() for line in lines if line.startswith("file =")]
    where = f"{files[0]}: " if files else ""
    return InputError(f"{where}cannot be read: {' '.join(keep)}")


def flag_names(fn: Callable[..., Any]) -> dict[str, str]:
    """Map each parameter name a message may quote to the command's flag for it.

    Read from the command's Typer option declarations: the Python name and every long
    flag's name (``--as-of`` -> ``as_of``) map to the flag; the library names of
    :data:`LIBRARY_PARAMETERS` map to the flag of their CLI counterpart.
    """
    import inspect
    import typing

    try:
        hints = typing.get_type_hints(inspect.unwrap(fn), include_extras=True)
    except Exception:  # noqa: BLE001 - unresolvable annotations: the message is reported untranslated
        return {}
    flags: dict[str, str] = {}
    for name, hint in hints.items():
        decls: list[str] = []
        for meta in getattr(hint, "__metadata__", ()):
            # in ``Annotated[..., typer.Option("--as-of", ...)]`` the first flag sits in ``default``
            first = getattr(meta, "default", None)
            decls += [first] if isinstance(first, str) and first.startswith("-") else []
            decls += list(getattr(meta, "param_decls", None) or ())
        longs = [d for d in decls if d.startswith("--")]
        if not longs:
            continue
        flags[name] = longs[0]
        for flag in longs:
            flags.setdefault(flag[2:].replace("-", "_"), flag)
    for library, cli in LIBRARY_PARAMETERS.items():
        if library not in flags and cli in flags:
            flags[library] = flags[cli]
    return flags


def cli_message(message: str, flags: Mapping[str, str]) -> str:
    """``message`` with quoted library parameter names replaced by their flags."""
    for name, flag in flags.items():
        message = message.replace(f"'{name}'", flag)
    return message


def _report(exc: BaseException, flags: Mapping[str, str] | None = None) -> None:
    """One line on standard error: never wrapped, brackets in the message kept as they are."""
    from rich.markup import escape

    text = cli_message(str(exc), flags or {})
    _err_console().print(f"[bold red]error:[/] {escape(text)}", markup=True, highlight=False, soft_wrap=True)


@contextmanager
def progress(transient: bool = True) -> Iterator[Progress]:
    """A Rich progress display on standard error (silent when stderr is not a terminal)."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    err_console = _err_console()
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
        disable=not err_console.is_terminal,
    )
    with bar:
        yield bar


def _json_default(value: Any) -> Any:
    import numpy as np  # here: `custlens CMD --help` starts without NumPy

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return _clean_float(float(value))
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return [_json_default(v) if not isinstance(v, float) else _clean_float(v) for v in value.tolist()]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _clean_float(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else x


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return _clean_float(obj)
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def dumps_json(obj: Any) -> str:
    """Serialise results as JSON: NaN and infinities become null, numpy types plain values."""
    return json.dumps(_clean(obj), default=_json_default, ensure_ascii=False, indent=2)


def emit(
    data: Any,
    fmt: OutputFormat | str = OutputFormat.table,
    output: Path | None = None,
    title: str | None = None,
    *,
    force: bool | None = None,
) -> None:
    """Write a result in the requested format to ``output`` or standard output.

    ``data`` is a table (Arrow, pandas, polars, Ibis) or, for JSON, any mapping of plain
    values. Mappings given with ``table``/``csv``/``parquet`` are shown as key/value rows.
    A file is written only where :func:`check_output_path` allows (never over a workspace
    file or an input; an existing file only with ``--force``), through a temporary file;
    CSV cells that begin like a spreadsheet formula are defused.
    """
    fmt = OutputFormat(fmt)
    check_output_path(output, force=force)
    if fmt is OutputFormat.json and isinstance(data, Mapping):
        _write_text(dumps_json(data) + "\n", output)
        return
    if isinstance(data, Mapping) and fmt is not OutputFormat.json:
        data = {"key": [str(k) for k in data], "value": [_scalar_text(v) for v in data.values()]}
    if fmt is OutputFormat.csv:
        stream = _duckdb_batches(data)
        if stream is not None:
            from custlens._output import csv_pieces

            pieces = csv_pieces(*stream)
            # to a file as the pieces come; to standard output once all are there, so that an
            # error while the engine runs writes nothing, as when the whole table is converted first
            _write_bytes(pieces if output is not None else b"".join(pieces), output)
            return
    from custlens._frames import as_arrow

    table = as_arrow(data, "result")
    if fmt is OutputFormat.json:
        _write_text(dumps_json(table.to_pylist()) + "\n", output)
    elif fmt is OutputFormat.csv:
        from custlens._output import csv_bytes, neutralise

        _write_bytes(csv_bytes(neutralise(table)), output)
    elif fmt is OutputFormat.parquet:
        import pyarrow.parquet as pq

        if output is None and sys.stdout.isatty():
            raise InputError("--format parquet writes binary data: give --output FILE")
        buf = io.BytesIO()
        pq.write_table(table, buf)
        _write_bytes(buf.getvalue(), output)
    else:
        _print_table(table, output, title)


def _duckdb_batches(data: Any) -> tuple[Iterator[pa.RecordBatch], pa.Schema] | None:
    """An Ibis table that DuckDB computes, of flat columns, as its result's batches and their schema.

    Other data gives None (converted whole by :func:`custlens._frames.as_arrow`). The
    batches are read from the query as DuckDB produces them (the CSV text of one is
    written while the next is computed); the schema is the table's, which the batches are
    cast to, as Ibis casts a whole result.
    """
    import ibis.expr.types as ir

    if not isinstance(data, ir.Table):
        return None
    import ibis

    try:
        backend = ibis.get_backend(data)  # an unbound table runs on Ibis' default backend, DuckDB
    except Exception:  # noqa: BLE001 - tables of several backends: Ibis' own execution reports it
        return None
    if getattr(backend, "name", "") != "duckdb":
        return None
    from custlens._output import CSV_BATCH_ROWS, flat_columns

    schema = data.schema().to_pyarrow()
    if not flat_columns(schema):
        return None
    from custlens.warehouse.compat import record_batches

    return _engine_errors(record_batches(data, CSV_BATCH_ROWS)), schema


def _engine_errors(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``batches`` of a DuckDB result, its errors reported as :func:`guarded` reports the engine's.

    An error DuckDB meets while it streams a result (a bad line far down a scanned CSV
    file, memory) reaches here as DuckDB's exception (:func:`custlens.warehouse.compat.record_batches`)
    after some batches were written; it becomes the same :class:`~custlens.errors.InputError`
    or :class:`~custlens.errors.BackendError` here, where the output is still being written.
    """
    try:
        yield from batches
    except Exception as exc:
        found = scan_error(exc) or memory_error(exc)
        if found is None:
            raise
        raise found from None


def _context() -> Any:
    import click

    return click.get_current_context(silent=True)


def _force_from_context() -> bool:
    ctx = _context()
    return bool(ctx is not None and ctx.params.get("force"))


def _inputs_from_context(output: Path) -> list[Path]:
    """Existing files among the running command's arguments (other than ``output``)."""
    ctx = _context()
    if ctx is None:
        return []
    found = []
    for value in ctx.params.values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, Path) and item.is_file() and item != output:
                found.append(item)
    return found


def check_output_path(output: Path | None, option: str = "--output", *, force: bool | None = None) -> None:
    """Refuse an output path that cannot or must not be written, before any work is done.

    Refused: a folder, a missing folder, a file of a custlens workspace, a file the command
    reads, and an existing file unless ``force`` (default: the command's ``--force``).
    """
    if output is None:
        return
    from custlens._output import check_target

    ctx = _context()
    has_force = ctx is not None and "force" in ctx.params
    check_target(
        output,
        overwrite=_force_from_context() if force is None else force,
        inputs=_inputs_from_context(output),
        option=option,
        force_hint="--force" if has_force or force is not None else "another name (or remove the file first)",
    )


def write_output(data: bytes, output: Path | None, *, force: bool | None = None, option: str = "--output") -> None:
    """Write ``data`` to ``output`` (checked, atomically) or to standard output."""
    check_output_path(output, option, force=force)
    _write_bytes(data, output)


def _scalar_text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (Mapping, list, tuple)):
        return dumps_json(v).replace("\n", " ")
    return str(v)


def _print_table(table: pa.Table, output: Path | None, title: str | None, max_rows: int = 50) -> None:
    import pyarrow as pa
    from rich.console import Console
    from rich.table import Table as RichTable

    rich_table = RichTable(title=title, show_lines=False)
    for name in table.column_names:
        rich_table.add_column(
            name,
            justify="right"
            if pa.types.is_floating(table.schema.field(name).type) or pa.types.is_integer(table.schema.field(name).type)
            else "left",
        )
    rows = table.slice(0, max_rows).to_pylist()
    for row in rows:
        rich_table.add_row(*[_cell(v) for v in row.values()])
    if output is None:
        console = Console()
        console.print(rich_table)
        if table.num_rows > max_rows:
            console.print(f"... {table.num_rows - max_rows:,} more rows (use --format csv for all)")
    else:
        buf = io.StringIO()
        Console(file=buf, width=200).print(rich_table)
        _write_text(buf.getvalue(), output)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def _write_text(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        from custlens._output import write_atomic

        write_atomic(output, text.encode("utf-8"))


def _write_bytes(data: bytes | Iterable[bytes | memoryview], output: Path | None) -> None:
    if output is None:
        sys.stdout.flush()
        for piece in [data] if isinstance(data, bytes) else data:
            sys.stdout.buffer.write(piece)
        sys.stdout.buffer.flush()
    else:
        from custlens._output import write_atomic

        write_atomic(output, data)
