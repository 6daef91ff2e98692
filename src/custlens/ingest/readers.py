"""Whole-file readers for CSV/TSV, Parquet and Excel files.

These read a file the user names on the command line (a per-customer summary, a
transaction log) into an Arrow table. The streaming, validating importer builds on the
same encoding rules: strict UTF-8 (with or without BOM) first, then GB18030.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from custlens.errors import InputError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "decode_text",
    "read_table",
    "scan_table",
    "SUPPORTED_SUFFIXES",
    "TEXT_ENCODINGS",
    "gb18030_looks_wrong",
    "check_encoding",
]

NULL_TEXT = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")
"""Cell texts read as missing values (in columns not kept as text)."""

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".xlsx", ".xlsm")


TEXT_ENCODINGS = ("auto", "utf-8", "gb18030", "latin-1", "cp1252")
"""Encodings of text files: ``auto`` is strict UTF-8, else GB18030 when it looks right."""


def check_encoding(encoding: str, parameter: str = "encoding") -> str:
    """``encoding`` in canonical spelling; raise :class:`InputError` naming ``parameter``."""
    spelled = encoding.strip().lower().replace("_", "-")
    spelled = {"utf8": "utf-8", "latin1": "latin-1", "iso-8859-1": "latin-1", "windows-1252": "cp1252"}.get(
        spelled, spelled
    )
    if spelled not in TEXT_ENCODINGS:
        raise InputError(f"{parameter!r} must be one of {', '.join(TEXT_ENCODINGS)}; got {encoding!r}")
    return spelled


def gb18030_looks_wrong(text: str) -> bool:
    """Whether text decoded as GB18030 looks like mojibake of a Latin-1/Windows-1252 file.

    Chinese text uses mostly the 6,763 characters of GB2312; Latin-1 bytes read as GB18030
    pair up into rare (mostly traditional or extension) characters. Fewer than 80 % of
    the non-ASCII characters in GB2312 (with at least three of them) is suspicious.
    """
    wide = [c for c in text if ord(c) > 127]
    if len(wide) < 3:
        return False
    common = 0
    for c in wide:
        try:
            c.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common < 0.8 * len(wide)


def _mojibake_message(source: str, utf8_offset: int | None) -> str:
    return (
        f"{source}: not UTF-8 (invalid byte at offset {utf8_offset}); read as GB18030 it gives unusual "
        "characters, as text saved in Latin-1 or Windows-1252 does. Give the encoding: "
        '--encoding cp1252 (or latin-1; in a mapping: encoding = "cp1252"), or gb18030 if the file is Chinese'
    )


def decode_text(data: bytes, source: str = "<bytes>", encoding: str = "auto") -> tuple[str, str]:
    """Decode file bytes: strict UTF-8 (BOM removed) first, then GB18030 when it looks right.

    Returns
    -------
    tuple
        The text and the name of the encoding that decoded it.

    Raises
    ------
    InputError
        When no encoding decodes the bytes (names the file and the byte offset), or when
        GB18030 decodes them into what looks like mojibake of a Latin-1 file.
    """
    encoding = check_encoding(encoding)
    if encoding in ("latin-1", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise InputError(f"{source}: not {encoding} (invalid byte at offset {exc.start})") from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        if encoding == "utf-8":
            raise InputError(f"{source}: not UTF-8 (invalid byte at offset {utf8_error.start})") from None
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise InputError(
                f"{source}: not UTF-8 (invalid byte at offset {utf8_error.start}) and not "
                "GB18030; re-save the file as UTF-8 or give its encoding"
            ) from None
        if encoding == "auto" and gb18030_looks_wrong(text[:200_000]):
            raise InputError(_mojibake_message(source, utf8_error.start)) from None
        return text, "gb18030"


def read_table(
    path: str | Path,
    *,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    all_strings: bool = False,
    text_columns: Sequence[str] = (),
) -> pa.Table:
    """Read a CSV/TSV, Parquet or Excel file into an Arrow table.

    Parameters
    ----------
    path
        The file. The format follows the suffix: ``.csv``/``.txt`` (delimiter sniffed
        among comma, semicolon, tab and whitespace unless given), ``.tsv``,
        ``.parquet``/``.pq``, ``.xlsx``/``.xlsm``.
    delimiter
        Field delimiter for text files; ``" "`` means runs of whitespace.
    sheet
        Excel sheet name or index (default: the first sheet).
    all_strings
        Read every text column as strings (no type inference).
    text_columns
        Columns kept as the text written in the file (identifiers such as ``00042`` keep
        their leading zeros); names not in the file are ignored. Non-text formats
        (Parquet, Excel) have these columns cast to strings.

    Raises
    ------
    InputError
        When the file is missing, has an unsupported suffix, or cannot be parsed.
    """
    path = _data_file(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
        _check_unique_columns(table.column_names, path)
        return _as_text(table, text_columns)
    if suffix in (".xlsx", ".xlsm"):
        return _as_text(_read_excel(path, sheet), text_columns)
    if suffix not in (".csv", ".tsv", ".txt", ""):
        raise InputError(f"{path}: unsupported file type {suffix!r}; expected one of {', '.join(SUPPORTED_SUFFIXES)}")
    data = path.read_bytes()
    # UTF-8 (most files): Arrow parses the file's own bytes; other encodings are decoded
    # (GB18030 when it looks right) and encoded as UTF-8 for Arrow
    body = _utf8_body(data)
    head = _head_text(body) if body is not None else decode_text(data, str(path))[0]
    if delimiter is None:
        delimiter = "\t" if suffix == ".tsv" else _sniff_delimiter(head)
    if delimiter == " ":
        text = data.decode("utf-8-sig") if body is not None else head
        lines = [",".join(line.split()) for line in text.splitlines() if line.strip()]
        body = pa.py_buffer("\n".join(lines).encode())
        head = lines[0] if lines else ""  # the header as the reader now sees it (names split at commas)
        delimiter = ","
    elif body is None:
        body = pa.py_buffer(head.encode("utf-8"))
    convert = pacsv.ConvertOptions(
        column_types=None,
        strings_can_be_null=True,
        null_values=list(NULL_TEXT),
    )
    if all_strings:
        header = next(iter(head.splitlines()), "")
        names = [n.strip() for n in header.split(delimiter)]
        convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=True, null_values=[""]
        )
    elif text_columns:
        convert.column_types = {name: pa.string() for name in text_columns}
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=convert,
        )
    except pa.ArrowInvalid as exc:
        raise InputError(f"{path}: cannot parse as delimited text ({exc})") from None
    _check_unique_columns(table.column_names, path)
    return table


def scan_table(
    path: str | Path,
    *,
    text_columns: Sequence[str] = (),
    delimiter: str | None = None,
    sheet: str | int | None = None,
    backend: str = "duckdb",
    spark: Any = None,
) -> ir.Table:
    """An Ibis table over a data file that the engine scans where it can, without reading it first.

    Parquet files and UTF-8 CSV/TSV files with a single-character delimiter become a view on
    a private in-memory DuckDB connection: only the columns and rows a query uses are read
    (projection and filter pushdown), in parallel, and nothing passes through Python.
    Other files (Excel, whitespace-separated text, GB18030 or Latin-1 text) are read whole
    with :func:`read_table`, as before, into an in-memory table.

    The values are those :func:`read_table` gives: CSV cells in :data:`NULL_TEXT` are
    missing, ISO dates (``2024-01-31``) and date-times (``2024-01-31 10:00:00``) are typed,
    every other date form stays text (for :func:`custlens.features.coerce.typed`, which
    converts or refuses it with the row), and ``text_columns`` keep the text written in
    the file (leading zeros of ids kept; Parquet columns of other types are cast to text).

    Parameters
    ----------
    path
        The file; the format follows the suffix as in :func:`read_table`.
    text_columns
        Columns kept as text; names not in the file are ignored.
    delimiter, sheet
        As in :func:`read_table`.
    backend
        ``"duckdb"`` (the default) or ``"spark"``: the file becomes a temporary view of a
        Spark session (``spark``, or :func:`custlens.warehouse.start_spark`'s), read by
        Spark -- Parquet with its types, CSV/TSV as text (the features convert dates and
        amounts in the engine); other files are read by :func:`read_table` and handed to
        Spark as Arrow.
    spark
        The Spark session for ``backend="spark"``.

    Notes
    -----
    The engine works within :data:`SCAN_MEMORY_LIMIT` and spills larger work to a private
    temporary folder, removed with the table's connection.

    Raises
    ------
    InputError
        When the file is missing, has an unsupported suffix, repeats a column name or
        cannot be parsed (what the engine finds only while scanning, such as a value of
        another type far down a CSV file, is raised by the query that reads it).
    """
    import ibis

    path = _data_file(path)
    if backend not in BACKENDS:
        raise InputError(f"'backend' must be one of {', '.join(BACKENDS)}; got {backend!r}")
    suffix = path.suffix.lower()
    if backend == "spark":
        return _spark_view(path, suffix, text_columns, delimiter, sheet, spark)
    if suffix in (".parquet", ".pq"):
        schema = _parquet_schema(path)
        casts = [
            name for name in text_columns if name in schema.names and not pa.types.is_string(schema.field(name).type)
        ]
        # nanosecond timestamps (pandas writes them) become microseconds, the unit Ibis and
        # every custlens table use
        fine = {
            f.name: ("TIMESTAMPTZ" if f.type.tz is not None else "TIMESTAMP")
            for f in schema
            if pa.types.is_timestamp(f.type) and f.type.unit == "ns" and f.name not in casts
        }
        replace = ", ".join(
            [f"CAST({_quoted(n)} AS VARCHAR) AS {_quoted(n)}" for n in casts]
            + [f"CAST({_quoted(n)} AS {kind}) AS {_quoted(n)}" for n, kind in fine.items()]
        )
        select = f"* REPLACE ({replace})" if replace else "*"
        return _engine_view(f"SELECT {select} FROM read_parquet({_literal(path)})", path)
    if suffix in (".csv", ".tsv", ".txt", ""):
        head = _utf8_head(path)
        if head is not None:
            sep = delimiter if delimiter is not None else ("\t" if suffix == ".tsv" else _sniff_delimiter(head))
            if len(sep) == 1 and sep != " ":
                return _scan_csv(path, head, sep, text_columns)
    return ibis.memtable(read_table(path, delimiter=delimiter, sheet=sheet, text_columns=text_columns))


_BOM = b"\xef\xbb\xbf"


def _utf8_body(data: bytes) -> pa.Buffer | None:
    """``data`` without its UTF-8 BOM, as an Arrow buffer (no copy), or None if it is not UTF-8.

    The bytes are those :func:`decode_text` would give back encoded as UTF-8, so Arrow
    parses the same text either way.
    """
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    buffer = pa.py_buffer(data)
    return buffer[len(_BOM) :] if data.startswith(_BOM) else buffer


def _head_text(body: pa.Buffer) -> str:
    """The start of valid UTF-8 ``body`` as text: its first :data:`_HEAD_BYTES`, or more to hold the first line."""
    import codecs

    head = body[:_HEAD_BYTES].to_pybytes()
    if len(head) < _HEAD_BYTES or b"\n" not in head and b"\r" not in head:
        return body.to_pybytes().decode("utf-8")
    return codecs.getincrementaldecoder("utf-8")().decode(head, final=False)


def _data_file(path: str | Path) -> Path:
    """``path`` as a Path; refuse a missing file and a folder."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a data file")
    return path


def _parquet_schema(path: Path) -> pa.Schema:
    """The schema of a Parquet file (its footer only), its column names checked for repeats."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    _check_unique_columns(schema.names, path)
    return schema


_HEAD_BYTES = 1 << 20


def _utf8_head(path: Path) -> str | None:
    """The first MiB of a text file decoded as UTF-8 (BOM removed), or None if it is not UTF-8."""
    import codecs

    with path.open("rb") as fh:
        data = fh.read(_HEAD_BYTES)
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(data, final=len(data) < _HEAD_BYTES)
    except UnicodeDecodeError:
        return None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _csv_types(path: Path, head: str, sep: str, text_columns: Sequence[str]) -> dict[str, str] | None:
    """The column types of a UTF-8 delimited file with a header line, as DuckDB names them.

    DuckDB's sniffer proposes them from a sample; dates and times are typed only in ISO
    form (DuckDB's own cast: 2024-01-31, 2024-01-31 10:00:00.5+08:00), since a sniffed
    day-first or month-first format such as %d/%m/%Y is a guess: such columns stay text
    for the documented date rules, as do ``text_columns``. None when the sniffer does not
    see the header's columns (a ragged sample).
    """
    import csv

    import duckdb

    first = next(iter(head.splitlines()), "")
    names = [n.strip() for n in next(csv.reader([first], delimiter=sep), [])]
    if not names or names == [""]:
        raise InputError(f"{path}: no header line; expected column names in the first line")
    _check_unique_columns(names, path)
    con = duckdb.connect()
    try:
        found = con.execute(
            f"SELECT Columns, DateFormat, TimestampFormat FROM sniff_csv({_literal(path)}, {', '.join(_csv_options(sep))})"
        ).fetchone()
    except duckdb.Error:
        found = None
    finally:
        con.close()
    if found is None:
        return None
    sniffed = {c["name"]: c["type"] for c in found[0]}
    if list(sniffed) != names:
        return None
    guessed = any(fmt and not fmt.startswith("%Y-%m-%d") for fmt in (found[1], found[2]))
    text = set(text_columns)
    return {n: ("VARCHAR" if n in text or (guessed and _is_temporal(t)) else t) for n, t in sniffed.items()}


def _csv_options(sep: str) -> list[str]:
    nulls = "[" + ", ".join(_literal(v) for v in NULL_TEXT) + "]"
    return [f"delim = {_literal(sep)}", "header = true", f"nullstr = {nulls}"]


def _scan_csv(path: Path, head: str, sep: str, text_columns: Sequence[str]) -> ir.Table:
    """A DuckDB view over a UTF-8 delimited file with a header line.

    The file is read with exactly the header's columns and the types of
    :func:`_csv_types` in strict mode, so a row with too many or too few fields, or a
    value of another type further down, is an error naming its line rather than a row
    skipped. When the sniffer does not see the header's columns (a ragged sample), the
    file is read by :func:`read_table`, whose message names the bad row.
    """
    import ibis

    types = _csv_types(path, head, sep, text_columns)
    if types is None:
        return ibis.memtable(read_table(path, delimiter=sep, text_columns=text_columns))
    columns = "{" + ", ".join(f"{_literal(n)}: {_literal(t)}" for n, t in types.items()) + "}"
    options = [*_csv_options(sep), "quote = '\"'", "escape = '\"'", "auto_detect = false", f"columns = {columns}"]
    return _engine_view(f"SELECT * FROM read_csv({_literal(path)}, {', '.join(options)})", path)


_SPARK_TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "int",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
}
"""Spark's name for each DuckDB type the CSV sniffer gives (others stay text); a naive
DuckDB TIMESTAMP and Spark's timestamp are the same instant in a UTC session."""


def _is_temporal(duckdb_type: str) -> bool:
    return duckdb_type.upper().startswith(("DATE", "TIMESTAMP", "TIME"))


BACKENDS = ("duckdb", "spark")
"""The engines :func:`scan_table` hands a file to."""


def _spark_view(
    path: Path,
    suffix: str,
    text_columns: Sequence[str],
    delimiter: str | None,
    sheet: str | int | None,
    spark: Any,
) -> ir.Table:
    """The file as a temporary view of a Spark session, as an Ibis PySpark table."""
    from custlens.warehouse import start_spark

    session = spark if spark is not None else start_spark()
    if suffix in (".parquet", ".pq"):
        schema = _parquet_schema(path)
        names = schema.names
        if any(pa.types.is_timestamp(f.type) and f.type.unit == "ns" for f in schema):
            # Spark cannot read nanosecond timestamps (pandas writes them): read with
            # Arrow, in microseconds, and hand the table over
            table = pq.read_table(path)
            table = table.cast(
                pa.schema(
                    [
                        f.with_type(pa.timestamp("us", f.type.tz))
                        if pa.types.is_timestamp(f.type) and f.type.unit == "ns"
                        else f
                        for f in schema
                    ]
                )
            )
            return spark_table(_as_text(table, text_columns), session)
        frame = session.read.parquet(str(path))
        for name in text_columns:
            if name in names:
                frame = frame.withColumn(name, frame[name].cast("string"))
    elif suffix in (".csv", ".tsv", ".txt", "") and (head := _utf8_head(path)) is not None:
        sep = delimiter if delimiter is not None else ("\t" if suffix == ".tsv" else _sniff_delimiter(head))
        # whitespace-separated text, or a ragged sample (read_table names the bad row): Arrow
        types = None if sep == " " else _csv_types(path, head, sep, text_columns)
        if types is None:
            return spark_table(read_table(path, delimiter=sep, text_columns=text_columns), session)
        frame = (
            session.read.option("header", True)
            .option("sep", sep)
            .option("quote", '"')
            .option("escape", '"')
            .option("mode", "FAILFAST")
            .csv(str(path))
        )
        from pyspark.sql import functions as F

        missing = list(NULL_TEXT)
        frame = frame.select(  # the cells DuckDB reads as missing, then the types it gives the same file
            *[
                F.when(frame[name].isin(missing), None)
                .otherwise(frame[name])
                .cast(_SPARK_TYPES.get(kind, "string"))
                .alias(name)
                for name, kind in types.items()
            ]
        )
    else:
        return spark_table(read_table(path, delimiter=delimiter, sheet=sheet, text_columns=text_columns), session)
    return spark_table(frame, session)


def _utc(table: ir.Table) -> ir.Table:
    """Spark's timestamps (instants, shown in the session's zone, UTC) typed as UTC timestamps,
    so that results carry the zone as DuckDB's do."""
    naive = {n: t for n, t in table.schema().items() if t.is_timestamp() and t.timezone is None}
    return table.mutate(**{n: table[n].cast("timestamp('UTC')") for n in naive}) if naive else table


def spark_table(source: Any, session: Any = None) -> ir.Table:
    """A Spark DataFrame or an Arrow table as an Ibis table over a new temporary Spark view.

    ``session`` defaults to :func:`custlens.warehouse.start_spark`'s; timestamps come out
    as UTC timestamps, as DuckDB gives them.
    """
    import uuid

    from custlens.warehouse import connect_spark, start_spark

    session = session if session is not None else start_spark()
    name = f"custlens_source_{uuid.uuid4().hex[:12]}"
    if isinstance(source, pa.Table):
        return _utc(connect_spark(session, {name: source}).table(name))
    source.createOrReplaceTempView(name)
    return _utc(connect_spark(session).table(name))


SCAN_MEMORY_LIMIT = "600MB"
"""DuckDB's memory limit for a scanned file (:func:`scan_table`); larger work spills to disk.

Commands on a 10-million-line file then peak at about 0.8 GB instead of 1.2 GB, for about
a tenth more time (``docs/performance.md``)."""


def _engine_view(select: str, path: Path, memory_limit: str = SCAN_MEMORY_LIMIT) -> ir.Table:
    """A view named ``source`` over ``select`` on a new in-memory DuckDB connection.

    The connection works within ``memory_limit`` and spills to a private temporary folder
    (mode 0700, removed with the connection), never to the working directory.
    """
    import shutil
    import tempfile
    import weakref

    import duckdb
    import ibis

    from custlens.warehouse.compat import DUCKDB_CONFIG, duckdb_connection

    con = ibis.duckdb.connect(**DUCKDB_CONFIG)
    raw = duckdb_connection(con)
    spill = tempfile.mkdtemp(prefix="custlens-scan-")
    weakref.finalize(con, shutil.rmtree, spill, True)
    try:
        raw.execute("SET enable_progress_bar = false")  # no output from the library
        raw.execute(f"SET memory_limit = {_literal(memory_limit)}")
        raw.execute(f"SET temp_directory = {_literal(spill)}")
        raw.execute(f"CREATE VIEW source AS {select}")
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise InputError(f"{path}: cannot be read ({message})") from None
    return con.table("source")


def _check_unique_columns(names: list[str], path: Path) -> None:
    """A header naming one column twice is ambiguous: say which name, and where."""
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise InputError(
                f"{path}: column {name!r} appears {names.count(name)} times in the header "
                f"(again as column {i + 1}); column names must be unique"
            )
        seen.add(name)


def _as_text(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """Cast the named columns (those present) to strings."""
    for name in columns:
        if name in table.column_names and not pa.types.is_string(table.schema.field(name).type):
            index = table.column_names.index(name)
            table = table.set_column(index, name, table[name].cast(pa.string()))
    return table


def _sniff_delimiter(text: str) -> str:
    head = text[:20_000].splitlines()[:20]
    if not head:
        return ","
    for candidate in (",", "\t", ";", "|"):
        counts = {line.count(candidate) for line in head if line.strip()}
        if len(counts) == 1 and counts != {0}:
            return candidate
    if all(len(line.split()) > 1 for line in head if line.strip()):
        return " "
    return ","


def _read_excel(path: Path, sheet: str | int | None) -> pa.Table:
    from custlens.ingest.excel import cells_to_table, iter_sheet

    header, batches = iter_sheet(path, sheet, skip_empty_area=True)
    _check_unique_columns(header, path)
    rows = [row for batch in batches for row in batch]
    return cells_to_table(header, rows)
