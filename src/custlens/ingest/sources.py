"""Streaming sources: one pass to hash and detect the encoding, then batches of rows.

CSV/TSV files stream through the Arrow CSV reader in blocks (bounded memory) with every
column read as text; rows with the wrong number of fields are reported, not fatal.
Parquet streams by row groups with its own types. Excel sheets are checked for their
inflated size and row count first, then read in batches (:mod:`custlens.ingest.excel`).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from custlens.errors import InputError
from custlens.ingest.clean import ERROR_SCHEMA
from custlens.ingest.mapping import ImportMapping
from custlens.ingest.readers import _mojibake_message, gb18030_looks_wrong

__all__ = ["SourceInfo", "TextScan", "Batch", "inspect_source", "iter_batches", "FORMATS"]

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
}
_CHUNK = 1 << 20
_BLOCK = 8 << 20
_PARQUET_BATCH = 131_072

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TextScan:
    """What the bytes of a text file hold, counted in the pass that hashes it.

    Enough to tell whether a SQL CSV reader could read the file differently from the
    Arrow reader (:mod:`custlens.ingest.plain`): the line feeds (a record spanning lines
    shows as fewer records than lines), and any byte-order mark, carriage return, tab,
    other control byte or multi-byte space (no-break, figure, narrow no-break,
    ideographic) anywhere in the file; and the bytes beside each space (``before_space``:
    the byte values found just before a space, ``after_space``: just after one; the
    start and the end of the file count as a line feed), from which a cell starting or
    ending with a space, or a space before a quote, can be ruled out. ``plus_minus``: a
    ``+`` right before a ``-`` somewhere; ``digit_underscore``: a ``_`` right after a digit
    somewhere (without either, no cell holds a number DuckDB's reader would read otherwise
    than the Arrow rules: :func:`custlens.ingest.plain.reader_types`); ``non_ascii``: a
    byte above 0x7F somewhere. ``unseen``: of the bytes looked for (``"`` and those of the
    mapping's null words), the ones found nowhere in the file (a null word holding one of
    them is no cell of the file; without ``"`` no cell holds one).
    """

    newlines: int = 0
    ends_with_newline: bool = False
    bom: bool = False
    carriage_return: bool = False
    tab: bool = False
    control: bool = False
    wide_space: bool = False
    non_ascii: bool = False
    before_space: frozenset[int] = frozenset()
    after_space: frozenset[int] = frozenset()
    plus_minus: bool = False
    digit_underscore: bool = False
    unseen: frozenset[int] = frozenset()

    @property
    def lines(self) -> int:
        """Lines of the file (a last line without a line feed counts)."""
        return self.newlines + (0 if self.ends_with_newline else 1)


_WIDE_SPACES = (b"\xc2\xa0", b"\xe2\x80\x87", b"\xe2\x80\xaf", b"\xe3\x80\x80")


def _holds(data: np.ndarray, sequence: bytes) -> bool:
    """Whether ``data`` holds the bytes of ``sequence`` in a row."""
    n = len(data) - len(sequence) + 1
    if n <= 0:
        return False
    found = data[:n] == sequence[0]
    for k in range(1, len(sequence)):
        found &= data[k : k + n] == sequence[k]
    return bool(found.any())


_MINUS = np.zeros(256, dtype=bool)
_MINUS[ord("-")] = True
_DIGITS = np.zeros(256, dtype=bool)
_DIGITS[ord("0") : ord("9") + 1] = True


def _adjacent(chunk: bytes, data: np.ndarray, byte: int, neighbours: np.ndarray, offset: int) -> bool:
    """Whether a ``byte`` of ``chunk`` has a byte flagged in ``neighbours`` (a table of 256)
    ``offset`` (1 or -1) bytes away, within the chunk (``data``: its bytes).

    The byte is found with ``bytes.find`` (``memchr``), so a chunk holding it seldom costs
    next to nothing; after 64 of them the rest are looked at with NumPy.
    """
    at = chunk.find(byte, 1 if offset < 0 else 0)
    for _ in range(64):
        if at < 0:
            return False
        if 0 <= at + offset < len(chunk) and neighbours[chunk[at + offset]]:
            return True
        at = chunk.find(byte, at + 1)
    if at < 0:
        return False
    beside = np.flatnonzero(data == byte) + offset
    return bool(neighbours[data[beside[(beside >= 0) & (beside < len(data))]]].any())


class _Scanner:
    """Accumulates a :class:`TextScan` over the chunks of a file; ``look_for``: the bytes
    whose absence from the file is recorded (``unseen``)."""

    def __init__(self, look_for: bytes = b"") -> None:
        self.unseen = [bytes((b,)) for b in sorted(set(look_for))]
        self.newlines = 0
        self.first = True
        self.tail = b""
        self.last = b""
        self.flags = {
            "bom": False,
            "carriage_return": False,
            "tab": False,
            "control": False,
            "wide_space": False,
            "non_ascii": False,
            "plus_minus": False,
            "digit_underscore": False,
        }
        self.before_space = np.zeros(256, dtype=bool)
        self.after_space = np.zeros(256, dtype=bool)
        self.ends_with_space = False

    def update(self, chunk: bytes) -> None:
        flags = self.flags
        if self.first:
            flags["bom"] = chunk.startswith(b"\xef\xbb\xbf")
            self.first = False
        data = np.frombuffer(chunk, dtype=np.uint8)
        if not len(data):
            return
        newlines = int(np.count_nonzero(data == 0x0A))  # NumPy counts a byte faster than bytes.count
        if self.ends_with_space:  # the last chunk's space, followed by this chunk's first byte
            self.after_space[data[0]] = True
        spaces = np.flatnonzero(data == 0x20)
        if len(spaces):
            before = data[spaces - 1]  # a space first in the chunk gets the last byte: set right below
            if spaces[0] == 0:
                before[0] = self.last[0] if self.last else 0x0A  # the file's start counts as a line feed
            self.before_space[before] = True
            inner = spaces[: len(spaces) - 1] if spaces[-1] == len(data) - 1 else spaces
            self.after_space[data[inner + 1]] = True
        self.ends_with_space = bool(len(spaces)) and spaces[-1] == len(data) - 1
        self.newlines += newlines
        if int(np.count_nonzero(data < 0x20)) > newlines:  # some other byte below a space: which?
            tabs, returns = chunk.count(b"\t"), chunk.count(b"\r")
            flags["tab"] |= tabs > 0
            flags["carriage_return"] |= returns > 0
            flags["control"] |= int(np.count_nonzero(data < 0x20)) > newlines + tabs + returns
        flags["control"] |= b"\x7f" in chunk
        last = self.last[0] if self.last else None  # the previous chunk's last byte
        if not flags["plus_minus"]:
            flags["plus_minus"] = (last == 0x2B and data[0] == 0x2D) or _adjacent(chunk, data, 0x2B, _MINUS, 1)
        if not flags["digit_underscore"]:
            flags["digit_underscore"] = bool(data[0] == 0x5F and last is not None and _DIGITS[last]) or _adjacent(
                chunk, data, 0x5F, _DIGITS, -1
            )
        if not flags["wide_space"] and not chunk.isascii():
            flags["non_ascii"] = True
            # the spaces' bytes, also one split between two chunks
            edge = np.frombuffer(self.tail + chunk, dtype=np.uint8)
            flags["wide_space"] = any(_holds(edge, space) for space in _WIDE_SPACES)
        if self.unseen:  # a byte not found yet (one byte: bytes.find is memchr, and stops at the first)
            self.unseen = [b for b in self.unseen if chunk.find(b) < 0]
        self.tail = chunk[-2:]
        self.last = chunk[-1:]

    def result(self) -> TextScan:
        if self.ends_with_space:  # the file's end counts as a line feed
            self.after_space[0x0A] = True
        return TextScan(
            newlines=self.newlines,
            ends_with_newline=self.last == b"\n",
            before_space=frozenset(int(b) for b in np.flatnonzero(self.before_space)),
            after_space=frozenset(int(b) for b in np.flatnonzero(self.after_space)),
            unseen=frozenset(b[0] for b in self.unseen),
            **self.flags,
        )


@dataclass(frozen=True)
class SourceInfo:
    """What one pass over the file found (``text``: the bytes of a CSV/TSV file)."""

    path: Path
    format: str
    size: int
    sha256: str
    encoding: str | None
    warnings: tuple[str, ...] = ()
    text: TextScan | None = None


@dataclass
class Batch:
    """Rows of a source with their file line numbers, plus rows that could not be split."""

    rows: pa.Table
    lines: pa.Array
    broken: pa.Table


class _Utf8Check:
    """Strict UTF-8 over the chunks of a file: ``error`` is the offset of the first invalid
    byte (``None``: none so far).

    Arrow validates each chunk's whole characters without decoding them (a character cut
    by the chunk's end is carried to the next); Python's decoder is run only on a chunk
    found invalid, to give the offset of its first invalid byte.
    """

    def __init__(self) -> None:
        self.error: int | None = None
        self._carry = b""
        self._offset = 0  # of the carried bytes in the file

    def update(self, chunk: bytes) -> None:
        if self.error is not None:
            return
        data = self._carry + chunk if self._carry else chunk
        cut = len(data)
        for back in range(1, min(4, len(data)) + 1):  # a character cut short at the end is carried
            byte = data[-back]
            if byte < 0x80:
                break
            if byte >= 0xC0:
                if (2 if byte < 0xE0 else 3 if byte < 0xF0 else 4) > back:
                    cut = len(data) - back
                break
        self._check(data[:cut] if cut < len(data) else data)
        self._carry = data[cut:]
        self._offset += cut

    def finish(self) -> None:
        """The end of the file: bytes still carried are a character cut short."""
        if self.error is None and self._carry:
            self._check(self._carry)

    def _check(self, data: bytes) -> None:
        if not data:
            return
        offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int32))
        try:
            pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
        except pa.ArrowInvalid:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.error = self._offset + exc.start
            else:  # pragma: no cover - Arrow and Python agree on UTF-8 (tested)
                raise AssertionError("Arrow and Python disagree on UTF-8") from None


def inspect_source(path: Path, mapping: ImportMapping) -> SourceInfo:
    """Hash the file and, for text, find its encoding (strict UTF-8, else GB18030).

    Raises
    ------
    InputError
        Missing, empty or unsupported file; text that is neither UTF-8 nor GB18030.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a data file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unsupported file type {path.suffix!r}; expected one of {', '.join(FORMATS)}")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: the file is empty")
    digest = hashlib.sha256()
    utf8 = _Utf8Check() if fmt == "csv" and mapping.encoding not in ("gb18030", "latin-1", "cp1252") else None
    # '"' and the bytes of the null words: without quotes the one-pass insert needs no
    # quote checks, and a null word holding a byte the file lacks is left out of its
    # reader's null words (each costs DuckDB's reader a comparison per cell)
    scanner = _Scanner(('"' + "".join(mapping.null_values)).encode()) if fmt == "csv" else None
    # the digest is computed on a second thread (hashlib releases the GIL) while this one
    # checks the UTF-8; one chunk is hashed at a time, in order
    hashing: Future[None] | None = None
    with path.open("rb") as fh, ThreadPoolExecutor(max_workers=1, thread_name_prefix="custlens-sha256") as hasher:
        while chunk := fh.read(_CHUNK):
            if hashing is not None:
                hashing.result()
            hashing = hasher.submit(digest.update, chunk)
            if utf8 is not None:
                utf8.update(chunk)
            if scanner is not None:
                scanner.update(chunk)
        if hashing is not None:
            hashing.result()
    encoding: str | None = None
    warnings: list[str] = []
    if fmt == "csv" and mapping.encoding in ("latin-1", "cp1252"):
        _check_decodes(path, mapping.encoding)
        encoding = mapping.encoding
    elif fmt == "csv":
        utf8_error: int | None = None
        if utf8 is not None:
            utf8.finish()
            utf8_error = utf8.error
            if utf8_error is None:
                encoding = "utf-8"
        if encoding is None:
            if mapping.encoding == "utf-8":
                raise InputError(
                    f"{path}: not valid UTF-8 (first invalid byte at offset {utf8_error}), "
                    "but the mapping says encoding = 'utf-8'"
                )
            _check_gb18030(path, utf8_error)
            with path.open("rb") as fh:
                sample = fh.read(_CHUNK).decode("gb18030", errors="ignore")
            if gb18030_looks_wrong(sample):
                if mapping.encoding == "auto":
                    raise InputError(_mojibake_message(str(path), utf8_error))
                warnings.append(
                    f"{path}: decoded as GB18030 as told, but the text looks like Latin-1 or Windows-1252 "
                    "(unusual characters); check the names in the warehouse, or import with --encoding cp1252"
                )
            encoding = "gb18030"
    return SourceInfo(
        path=path,
        format=fmt,
        size=size,
        sha256=digest.hexdigest(),
        encoding=encoding,
        warnings=tuple(warnings),
        text=scanner.result() if scanner is not None else None,
    )


def _check_decodes(path: Path, encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not {encoding} (invalid byte at offset {offset + exc.start})") from None


def _check_gb18030(path: Path, utf8_error: int | None) -> None:
    decoder = codecs.getincrementaldecoder("gb18030")("strict")
    offset = 0
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path}: neither UTF-8 (invalid byte at offset {utf8_error}) nor GB18030 "
                f"(invalid byte at offset {offset + exc.start}); re-save the file as UTF-8"
            ) from None


def read_header(info: SourceInfo, mapping: ImportMapping) -> tuple[list[str], str]:
    """Column names and delimiter of a text source (first record after ``skip_rows``)."""
    with info.path.open("rb") as fh:
        head = fh.read(256 * 1024)
    text = head.decode("utf-8-sig" if info.encoding == "utf-8" else str(info.encoding), errors="ignore")
    lines = text.splitlines()
    if len(lines) <= mapping.skip_rows:
        raise InputError(f"{info.path}: has no header line after skipping {mapping.skip_rows} line(s)")
    rest = "\n".join(lines[mapping.skip_rows :])
    delimiter = mapping.delimiter
    if delimiter is None:
        delimiter = "\t" if info.path.suffix.lower() == ".tsv" else _sniff(lines[mapping.skip_rows :][:20])
    try:
        header = next(csv.reader(io.StringIO(rest), delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise InputError(f"{info.path}: cannot read the header line ({exc})") from None
    names = [h.strip() for h in header]
    if not any(names):
        raise InputError(f"{info.path}: the header line is empty")
    names = [n if n else f"column_{i + 1}" for i, n in enumerate(names)]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise InputError(f"{info.path}: column {n!r} appears twice in the header")
        seen.add(n)
    return names, delimiter


def _sniff(lines: list[str]) -> str:
    best, best_count = ",", 0
    for candidate in (",", "\t", ";", "|"):
        counts = {line.count(candidate) for line in lines if line.strip()}
        if len(counts) == 1 and 0 not in counts and min(counts) > best_count:
            best, best_count = candidate, min(counts)
    if best_count == 0:
        for candidate in (",", "\t", ";", "|"):
            if lines and lines[0].count(candidate):
                return candidate
    return best


class _CountingReader(io.RawIOBase):
    """A file reader that reports progress and keeps Arrow from reading far ahead.

    Arrow's streaming CSV reader fetches blocks on an I/O thread as fast as the disk
    allows, which would buffer the whole file in memory while batches are validated and
    staged. Reads from any thread other than the consumer's wait until the consumer has
    taken batches to within ``window`` blocks of what has been read.
    """

    def __init__(self, path: Path, progress: Progress | None, total: int, block: int, window: int = 4) -> None:
        self._fh = path.open("rb")
        self._progress = progress
        self._total = total
        self._block = block
        self._window = window
        self._allowed = window * block
        self._consumer = threading.get_ident()
        self._cv = threading.Condition()
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if threading.get_ident() != self._consumer:
            with self._cv:
                while self.done >= self._allowed and not self.closed:
                    self._cv.wait(0.5)
        n = self._fh.readinto(buffer) or 0
        self.done += n
        if self._progress is not None and threading.get_ident() == self._consumer:
            self._progress(self.done, self._total)
        return n

    def consumed(self, batches: int) -> None:
        """The consumer has taken ``batches`` batches: allow reading further ahead."""
        with self._cv:
            self._allowed = (batches + self._window) * self._block
            self._cv.notify_all()
        if self._progress is not None:
            self._progress(min(self.done, self._total), self._total)

    def close(self) -> None:
        with self._cv:
            self._allowed = 1 << 62
            self._cv.notify_all()
        self._fh.close()
        super().close()


def iter_batches(
    info: SourceInfo, mapping: ImportMapping, progress: Progress | None = None
) -> tuple[list[str], Iterator[Batch]]:
    """Column names and an iterator of batches of the source.

    For text the header line is line ``skip_rows + 1`` and data lines follow; the line
    number of a row is its physical line when no quoted field spans lines. For Parquet
    and Excel the "line" is the row number (Excel: the sheet row, header = 1).
    """
    if info.format == "csv":
        names, delimiter = read_header(info, mapping)
        _check_header(names, info.path)
        return names, _csv_batches(info, mapping, names, delimiter, progress)
    if info.format == "parquet":
        try:
            pfile = pq.ParquetFile(info.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{info.path}: not a readable Parquet file ({exc})") from None
        names = pfile.schema_arrow.names
        _check_header(names, info.path)
        return names, _parquet_batches(info, pfile, progress)
    from custlens.ingest.excel import iter_sheet

    header, rows = iter_sheet(info.path, mapping.sheet, skip_rows=mapping.skip_rows)
    _check_header(header, info.path)
    return header, _excel_batches(info.path, header, rows, mapping, progress)


def _check_header(names: list[str], path: Path) -> None:
    """A column name with a NUL or another control character is refused (it would empty a column)."""
    for i, name in enumerate(names):
        bad = next((c for c in name if (ord(c) < 32 and c not in "\t") or ord(c) == 127), None)
        if bad is not None:
            raise InputError(
                f"{path}: column {i + 1} of the header holds a control character (U+{ord(bad):04X}) in "
                f"{name!r}; remove it from the file"
            )


def _csv_batches(
    info: SourceInfo, mapping: ImportMapping, names: list[str], delimiter: str, progress: Progress | None
) -> Iterator[Batch]:
    broken_lines: list[int] = []
    broken_text: list[str] = []
    broken_reason: list[str] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        broken_lines.append(int(row.number) if row.number is not None else -1)
        broken_text.append(row.text[:1000])
        broken_reason.append(
            f"has {row.actual_columns} field(s), expected {row.expected_columns} (delimiter {delimiter!r})"
        )
        return "skip"

    def take_broken() -> pa.Table:
        table = pa.table(
            {
                "line": pa.array(broken_lines, pa.int64()),
                "column": pa.array([""] * len(broken_lines), pa.string()),
                "value": pa.array(broken_text, pa.string()),
                "reason": pa.array(broken_reason, pa.string()),
            },
            schema=ERROR_SCHEMA,
        )
        broken_lines.clear()
        broken_text.clear()
        broken_reason.clear()
        return table

    stream = _CountingReader(info.path, progress, info.size, _BLOCK)
    header_line = mapping.skip_rows + 1
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=header_line,
                use_threads=False,
                block_size=_BLOCK,
                encoding="utf8" if info.encoding == "utf-8" else str(info.encoding),
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        stream.close()
        if "Could not skip initial" in str(exc):  # header line(s) and nothing after them
            return
        raise InputError(f"{info.path}: cannot read as delimited text ({exc})") from None
    seen_rows = 0
    batches_taken = 0
    skipped = np.zeros(0, dtype=np.int64)
    try:
        while True:
            try:
                record_batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
                if seen_rows == 0 and "Could not skip initial" in str(exc):
                    break  # header line(s) and nothing after them
                raise InputError(f"{info.path}: cannot read as delimited text ({exc})") from None
            if broken_lines:
                skipped = np.concatenate([skipped, np.asarray(broken_lines, dtype=np.int64)])
            broken = take_broken()
            n = record_batch.num_rows
            k = np.arange(seen_rows, seen_rows + n, dtype=np.int64)
            base = header_line + 1
            # line of the k-th good record = base + k + (skipped lines at or before it)
            shifts = np.searchsorted(np.sort(skipped) - np.arange(len(skipped)), base + k, side="right")
            lines = pa.array(base + k + shifts, pa.int64())
            seen_rows += n
            batches_taken += 1
            stream.consumed(batches_taken)
            yield Batch(rows=pa.Table.from_batches([record_batch]), lines=lines, broken=broken)
        if broken_lines:  # invalid rows after the last batch
            yield Batch(
                rows=pa.table({n: pa.array([], pa.string()) for n in names}),
                lines=pa.array([], pa.int64()),
                broken=take_broken(),
            )
    finally:
        stream.close()


def _parquet_batches(info: SourceInfo, pfile: pq.ParquetFile, progress: Progress | None) -> Iterator[Batch]:
    total = pfile.metadata.num_rows
    start = 0
    try:
        for record_batch in pfile.iter_batches(batch_size=_PARQUET_BATCH):
            n = record_batch.num_rows
            lines = pa.array(np.arange(start + 1, start + n + 1, dtype=np.int64))
            start += n
            if progress is not None:
                progress(start, total)
            yield Batch(rows=pa.Table.from_batches([record_batch]), lines=lines, broken=ERROR_SCHEMA.empty_table())
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{info.path}: not a readable Parquet file ({exc})") from None


def _excel_batches(
    path: Path,
    header: list[str],
    batches: Iterator[list[list[object]]],
    mapping: ImportMapping,
    progress: Progress | None,
) -> Iterator[Batch]:
    from custlens.ingest.excel import cells_to_table

    line = mapping.skip_rows + 2
    for rows in batches:
        part = cells_to_table(header, rows)
        lines = pa.array(np.arange(line, line + part.num_rows, dtype=np.int64))
        line += part.num_rows
        if progress is not None:
            progress(line - mapping.skip_rows - 2, 0)
        yield Batch(rows=part, lines=lines, broken=ERROR_SCHEMA.empty_table())
