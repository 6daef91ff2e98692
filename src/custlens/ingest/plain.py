"""The one-pass import of a plain CSV file: DuckDB reads, checks and inserts it.

Most large files are clean exports. For such a file :func:`custlens.ingest.import_file`
first lets DuckDB read the file (every column as text, the header's names, strict
options), check every cell against the *plain forms* of its column and insert the
converted rows, in one parallel ``INSERT ... SELECT`` inside the import's transaction.
A plain form is one where the SQL reading provably equals the Arrow rule of
:mod:`custlens.ingest.clean` (each defined beside its rule; ``tests/ingest/test_plain_sql.py``
checks the agreement):

* text: the cell as read (a null word, or an empty cell, is null: the reader's
  ``nullstr``, quoted or not, as the Arrow rule compares every cell's text; a word holding
  a byte the file lacks is left out, :func:`null_words`) when it holds
  no ``"`` (not looked at when the file holds none) and neither starts nor ends with a
  space (not looked at when the file holds no space beside a delimiter, a quote or a line
  feed: :func:`_padded_cells`);
* numbers: read as ``DOUBLE`` by the reader itself, finite, whole numbers also integral
  and within 2^53, when ``''`` is a null word and the file holds neither ``+-`` nor a
  digit before ``_`` (:func:`reader_types`: then every text the reader takes for a number
  is one the Arrow rule reads as the same number); otherwise read as text and checked
  against :data:`~custlens.ingest.clean.PLAIN_DECIMAL` (``CAST AS DOUBLE``), whole numbers
  :data:`~custlens.ingest.clean.PLAIN_INTEGER` (``CAST AS BIGINT``);
* yes/no: read as ``BOOLEAN`` by the reader itself when its words (``true``, ``t``,
  ``yes``, ``y``, ``1`` and ``false``, ``f``, ``no``, ``n``, ``0``, in any case) are the
  mapping's with the same meaning and the mapping's other words cannot occur (none, or
  none in ASCII and the file all ASCII), and ``''`` is a null word (:func:`reader_types`);
  otherwise the mapping's words as written, upper-cased or capitalised
  (:func:`~custlens.ingest.clean.plain_bool_words`);
* timestamps: :data:`~custlens.features.coerce.PLAIN_TIMESTAMP_ZONED` (``CAST AS
  TIMESTAMPTZ``; a text in the shape of the column's first is first tested without the
  regular expression, :func:`zoned_gate`) and, read in UTC,
  :data:`~custlens.features.coerce.PLAIN_TIMESTAMP_NAIVE`; dates the naive form;
* the plausibility window, the amount bound, the minimum, the allowed labels (as
  written) and the required columns, as in :mod:`custlens.ingest.clean`.

A cell that is not plain raises an error inside the statement, so the transaction is
rolled back; so does any error of DuckDB's reader (a ragged row, a stray quote). After
the insert, the key is checked (:func:`duplicate_keys`): a key held by two rows of the
table (a duplicate or conflict in the file, or a key already stored) rolls back too.
Then, and when the rows inserted are not one per data line of the file, the import
(``importer._load_plain``) returns ``None`` and
the import runs its usual path over the whole file, so every quarantine record and
message comes from the one Arrow definition.

Files that could read differently by the two readers never take this path: see
:func:`plain_refusal` (not UTF-8, a byte-order mark, carriage returns, control bytes,
multi-byte spaces, a space before a quote, a mapping with formats, value maps or
constants, ...).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from custlens.features.coerce import DATE_FORMATS, PLAIN_TIMESTAMP_NAIVE, PLAIN_TIMESTAMP_ZONED
from custlens.ingest.clean import PLAIN_DECIMAL, PLAIN_INTEGER, plain_bool_words
from custlens.ingest.mapping import ImportMapping
from custlens.ingest.plan import ImportPlan, TargetPlan
from custlens.ingest.sources import SourceInfo, TextScan
from custlens.schema import Table
from custlens.warehouse._ddl import quote, sql_type
from custlens.warehouse._migrations import HISTORY_TABLES

__all__ = ["PlainInsert", "duplicate_keys", "null_words", "plain_insert", "plain_refusal", "reader_types", "zoned_gate"]

log = logging.getLogger(__name__)

_NUMBERS = ("float64", "int64")

_BUFFER = 64 << 20
"""Bytes of each buffer DuckDB's reader parses (its default is 32 MB). Fewer, larger
buffers cost less CPU to read and insert (the 10M file's one-pass insert, two runs each,
unlocked: 17.0-17.7 s of CPU at 32 MB, 15.1-15.7 s at 64 MB, 14.7-16.0 s at 128 MB; the
same rows); memory grows by the buffers in flight (two threads)."""

READER_TRUE = ("true", "t", "yes", "y", "1")
READER_FALSE = ("false", "f", "no", "n", "0")
"""The words DuckDB's reader takes for a ``BOOLEAN`` (in any case, nothing around them)."""

NOT_PLAIN = "custlens: a cell outside the plain forms"
"""The message of the error a non-plain cell raises inside the insert (the signal to fall back)."""


@dataclass(frozen=True)
class PlainInsert:
    """The statements of a one-pass import.

    ``insert`` inserts every row (or fails); ``duplicate_keys`` counts the keys held by
    more than one row of the table afterwards; ``data_lines`` is the number of rows the
    insert must report (one per data line of the file).
    """

    insert: str
    duplicate_keys: str
    data_lines: int


def plain_refusal(
    info: SourceInfo, mapping: ImportMapping, plan: ImportPlan, delimiter: str, *, mode: str, guarded: bool
) -> str | None:
    """Why the file cannot take the one-pass path (``None``: it can be tried).

    Only the bytes and the mapping are looked at; the cells are checked by the insert.
    """
    scan = info.text
    table = plan.table
    if info.format != "csv" or scan is None:
        return "not a text file"
    if info.encoding != "utf-8":
        return f"encoding {info.encoding}"
    if scan.bom:
        return "a byte-order mark"
    if scan.carriage_return:
        return "carriage returns"
    if scan.control:
        return "control bytes"
    if scan.wide_space:
        return "no-break or ideographic spaces"
    if scan.tab and delimiter != "\t":
        return "tabs"
    if ord('"') in scan.after_space:
        # DuckDB's reader drops the spaces before a quoted field (' "a"' reads as 'a'),
        # Arrow's keeps them and the quotes (' "a"', '"a"' once trimmed)
        return "a space before a quote"
    if mapping.skip_rows:
        return "skip_rows"
    if mode != "append" or table.name in HISTORY_TABLES or table.personal_data or guarded:
        return "an upsert, a table with history or personal data, or erased persons"
    if any(w != w.strip() for w in mapping.null_values):
        return "a null word with surrounding spaces (cells are trimmed before the null words are compared)"
    if mapping.decimal != "." or re.search(r"[\d.\-]", "".join(mapping.currency_symbols)):
        return "a decimal separator other than '.' or a currency mark with a digit, '-' or '.'"
    for target in plan.targets:
        if target.constant is not None or target.values:
            return "constants or value maps"
        if target.date_formats and tuple(target.date_formats) != DATE_FORMATS:
            return "date formats"
        allowed = target.column.allowed
        if allowed is not None and any(a != a.lower() or re.search(r"[\s\-]", a) for a in allowed):
            return "allowed values that are not their own normal form"
    return None


def plain_insert(
    info: SourceInfo, mapping: ImportMapping, plan: ImportPlan, names: Sequence[str], delimiter: str
) -> PlainInsert:
    """The one-pass statements of a file :func:`plain_refusal` let through."""
    assert info.text is not None
    table = plan.table
    index = {name: i for i, name in enumerate(names)}
    types = reader_types(info.text, mapping, plan, names)
    texts: list[str] = []  # level 1: each used cell as text, null words made null (by the reader)
    for target in plan.targets:
        if target.source is not None:
            cell = f"c{index[target.source]}"
            text = cell if mapping.null_values else f"coalesce({cell}, '')"
            texts.append(f"{text} AS {quote('t_' + target.column.name)}")
    padded = _padded_cells(info.text, delimiter)
    quoted = ord('"') not in info.text.unseen  # the hashing pass looks for '"'
    first = _first_row(info, delimiter)
    typed: list[str] = []  # level 2: each column converted, whether its text is in a plain form, and null
    checks: list[str] = []
    for target in plan.targets:
        if target.source is None:
            continue
        name = target.column.name
        text = quote("t_" + name)
        value, form, ranges = _convert(
            target,
            text,
            quote(name),
            mapping,
            plan,
            tab=info.text.tab,
            padded=padded,
            quoted=quoted,
            read_as=types[index[target.source]],
            sample=first[index[target.source]] if index[target.source] < len(first) else None,
        )
        typed += [
            f"{value} AS {quote(name)}",
            f"{form} AS {quote('f_' + name)}",
            f"{text} IS NULL AS {quote('n_' + name)}",
        ]
        plain = " AND ".join([quote("f_" + name), *ranges])
        # the required check runs after the derivations: a missing flag is a derived one
        derived_flag = table.name == "transactions" and name == "return_flag"
        missing = "false" if target.column.required and not derived_flag else "true"
        checks.append(f"CASE WHEN {quote('n_' + name)} THEN {missing} ELSE coalesce({plain}, false) END")
    out: list[str] = []  # level 3: every column of the table, derived ones included
    for column in table.columns:
        target = next(t for t in plan.targets if t.column.name == column.name)
        out.append(f"CAST({_derived(target, plan)} AS {sql_type(column)}) AS {quote(column.name)}")
    columns = ", ".join(quote(c.name) for c in table.columns)
    source = _read_csv(info, types, delimiter, null_words(info.text, mapping))
    ok = " AND ".join(checks) if checks else "true"
    insert = (
        f"INSERT INTO main.{quote(table.name)} ({columns}) "
        f"SELECT {', '.join(out)} FROM (SELECT {', '.join(typed)} FROM (SELECT {', '.join(texts)} FROM {source})) "
        f"WHERE CASE WHEN {ok} THEN true ELSE error({_literal(NOT_PLAIN)}) END"
    )
    return PlainInsert(insert=insert, duplicate_keys=duplicate_keys(table), data_lines=info.text.lines - 1)


def duplicate_keys(table: Table) -> str:
    """The statement counting (0 or 1) keys held by more than one row of ``table``.

    Equal keys have equal hashes, so a key held twice is among the rows whose hash of the
    key (the upper 32 bits of DuckDB's 64-bit ``hash``) is held twice. These hashes are
    found by sorting them (a repeated one is then next to its copy), which costs about half
    of grouping every key: 10M rows, two threads, 1.0 s of CPU against 1.8-2.4 s for one
    ``GROUP BY`` of the keys, and 1.25-1.45 s with the whole 64-bit hashes (a wider sort
    key). The keys of the rows whose hash repeats (about 23,000 rows of 10M distinct keys:
    32 bits repeat by chance, and DuckDB's 64-bit hash of these ids already repeats 74
    times) are then grouped exactly.
    """
    keys = ", ".join(quote(k) for k in table.key)
    stored = f"main.{quote(table.name)}"
    hashed = f"(hash({keys}) >> 32)::UINTEGER"
    repeated = (
        f"SELECT h FROM (SELECT h, lag(h) OVER (ORDER BY h) AS before FROM (SELECT {hashed} AS h FROM {stored})) "
        "WHERE h = before"
    )
    return (
        f"SELECT count(*) FROM (SELECT 1 FROM {stored} WHERE {hashed} IN ({repeated}) "
        f"GROUP BY {keys} HAVING count(*) > 1 LIMIT 1)"
    )


def table_rows(table: Table) -> str:
    """The statement counting the rows already stored in ``table``."""
    return f"SELECT count(*) FROM main.{quote(table.name)}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _one_of(text: str, words: Sequence[str]) -> str:
    """``text`` equals one of ``words``, as equalities: DuckDB runs an ``IN`` list of
    constants as a join, which loses the file's order of the rows inserted."""
    return "(" + " OR ".join(f"{text} = {_literal(w)}" for w in words) + ")"


def _padded_cells(scan: TextScan, delimiter: str) -> bool:
    """Whether a cell of the file may start or end with a space (``False``: surely none does).

    A cell's first byte follows a delimiter, a quote or a line feed (the file's start
    counts as one), its last byte precedes one of them: without a space beside one of
    these bytes, no cell starts or ends with a space.
    """
    edges = delimiter.encode()
    if len(edges) != 1:
        return True
    edges += b'"\n'
    return any(b in scan.before_space or b in scan.after_space for b in edges)


def _first_row(info: SourceInfo, delimiter: str) -> list[str]:
    """The cells of the file's first data row, as Python's CSV reader reads its first 64 KB
    (``[]`` when there is none). Only a sample of each column's shape: nothing read from
    it can change which cells the insert accepts (:func:`zoned_gate`)."""
    with info.path.open("rb") as fh:
        head = fh.read(1 << 16).decode("utf-8", errors="replace")
    try:
        rows = csv.reader(io.StringIO(head), delimiter=delimiter, quotechar='"', doublequote=True)
        next(rows)  # the header
        return next(rows)
    except (csv.Error, StopIteration, TypeError):  # TypeError: a delimiter of more than one character
        return []


def zoned_gate(text: str, sample: str | None, *, tab: bool) -> str | None:
    """A cheaper test than :data:`~custlens.features.coerce.PLAIN_TIMESTAMP_ZONED`'s regular
    expression (RE2, about 0.12 s of CPU per million cells) for the texts written in the
    shape of ``sample``, a text of that form (``None``: the sample is not one).

    A text passes when it has the sample's length in bytes and, by ``LIKE``, the sample's
    bytes wherever the sample holds no digit (its separators and its zone, ``Z`` or the
    offset as written, so within 14 hours) and any one character where it holds one, and
    none of the other characters DuckDB's ``CAST AS TIMESTAMPTZ`` takes in place of a
    digit of such a text, each ruled out by a comparison or a ``contains``: a first byte
    below ``1`` (a space, ``-``, a year before 1000), a space or the other separator beside
    the date's and time's separator (``2024-10-2 T07``, ``2024-10-24  7:``; the separator
    once more, so the text holds it twice in a row), a ``.`` in a shape without fractions
    (``07:07:4.Z``) and the hour 24 (``24:00:00``, which the cast takes). Such a text then
    either matches the regular expression or is refused by the cast, i.e. the insert reads
    it as with the regular expression alone, which still decides every other text.
    Control bytes in place of a space are left out: a file holding one never takes the
    one-pass path (:func:`plain_refusal`) but tabs, looked for when the file holds one
    (``tab``), and line feeds, which only a quoted cell can hold, and then the file has
    fewer rows than lines and takes the usual path. ``tests/ingest/test_plain_sql.py``
    compares the conversion with and without the gate over every text one character away
    from each shape (every ASCII character at each place), two away from eight of them and
    texts changed at random; removing any one of the checks fails it.
    """
    if sample is None or not re.fullmatch(PLAIN_TIMESTAMP_ZONED, sample):
        return None
    zone = 1 if sample.endswith("Z") else 6
    separator, other = sample[10], "T" if sample[10] == " " else " "
    like = re.sub("[0-9]", "_", sample[:-zone]) + sample[-zone:]
    checks = [
        f"strlen({text}) = {len(sample)}",
        f"{text} LIKE {_literal(like)}",
        f"{text} >= '1'",
        f"NOT contains({text}, {_literal(separator * 2)})",
        f"NOT contains({text}, {_literal(other)})",
        f"NOT contains({text}, {_literal(separator + '24')})",
    ]
    if "." not in sample:
        checks.append(f"NOT contains({text}, '.')")
    if tab:
        checks.append(f"NOT contains({text}, chr(9))")
    return " AND ".join(checks)


def reader_types(scan: TextScan, mapping: ImportMapping, plan: ImportPlan, names: Sequence[str]) -> list[str]:
    """The type DuckDB's reader gives each column of the file: ``DOUBLE`` (numbers),
    ``BOOLEAN`` (yes/no) where it provably reads as the Arrow rules do, else ``VARCHAR``.

    Both need ``''`` to be a null word (the reader makes an empty cell null, as the Arrow
    rule then does), no space right after a quote (the typed reader refuses ``"1.5" ``,
    which it reads as ``1.5`` as text) and a column read so by every target that uses it.

    * numbers: beyond a plain decimal, the reader reads as a number what the Arrow rule
      (:func:`custlens.ingest.clean._number_text`) reads as the same number (``+1.5``,
      ``1.``, ``.5``, ``1e5``, surrounding spaces, digits beyond 15), except ``inf`` and
      ``nan`` (not finite: the insert refuses them), a ``_`` between digits (``1_000``
      reads as 1000) and ``+-`` (``+-1`` reads as -1), which the Arrow rule rejects. No
      cell holds the last two when the file holds no ``+-`` and no digit right before a
      ``_``. No currency mark may be made of spaces, ``+``, ``e`` and ``E`` alone (the
      rule would strip it from such a number; marks with a digit, ``-`` or ``.`` are
      refused by :func:`plain_refusal`), the thousands separator must not be a digit,
      ``.``, ``+``, ``-``, ``e``, ``E`` or ``_`` (the rule deletes it from the text before
      reading the number), and no null word may hold a digit (the rule
      makes `` -1`` null when ``-1`` is a null word, the reader reads it as -1).
    * yes/no: the reader takes ``true``, ``t``, ``yes``, ``y``, ``1`` and ``false``,
      ``f``, ``no``, ``n``, ``0`` in any case, nothing else (no spaces); the Arrow rule
      compares the lower-cased text with the mapping's words. When these ten are the
      mapping's words with the same meaning, each text the reader takes is read alike;
      the mapping's other words (``是``) would make the reader refuse the file, so they
      must be absent: none in ASCII, and the file all ASCII.

    ``tests/ingest/test_plain_sql.py`` compares both readers over generated texts.
    """
    types = ["VARCHAR"] * len(names)
    if "" not in mapping.null_values or ord('"') in scan.before_space:
        return types  # the reader refuses '"1.5" ' as a number (as text it drops the space)
    read_as: dict[str, str] = {}
    # a currency mark the Arrow rule strips could sit inside a number the reader takes
    marks_apart = all(set(mark) - set(" +eE") for mark in mapping.currency_symbols)
    marks_apart &= mapping.thousands not in set("0123456789.+-eE_")  # the rule deletes it from '-1', '1e3'
    # the Arrow rule compares a trimmed cell with the null words, the reader the cell as it is
    no_number_null = not any(c.isdigit() for word in mapping.null_values for c in word)
    if not scan.plus_minus and not scan.digit_underscore and marks_apart and no_number_null:
        read_as.update({"float64": "DOUBLE", "int64": "DOUBLE"})
    true = {*mapping.true_values, "true"}
    false = {*mapping.false_values, "false"}
    others = (true | false) - {*READER_TRUE, *READER_FALSE}  # words the reader would refuse
    if (
        set(READER_TRUE) <= true
        and set(READER_FALSE) <= false - true  # a word of both is true to the Arrow rule
        and (not others or (all(not w.isascii() for w in others) and not scan.non_ascii))
    ):
        read_as["boolean"] = "BOOLEAN"
    index = {name: i for i, name in enumerate(names)}
    for source in {t.source for t in plan.targets if t.source is not None}:
        kinds = {read_as.get(t.column.dtype, "VARCHAR") for t in plan.targets if t.source == source}
        if len(kinds) == 1:
            types[index[source]] = kinds.pop()
    return types


def null_words(scan: TextScan, mapping: ImportMapping) -> list[str]:
    """The mapping's null words a cell of the file may equal, for the reader: ``''`` and
    each word whose every byte the file holds (a cell is made of the file's bytes); all of
    them when that leaves none (without null words the reader would make ``''`` null).

    Each word costs DuckDB's reader a comparison of every cell: the 1M-line benchmark file
    (no ``N`` or ``#`` in it) is read with 0.08 s less CPU with the four words ``''``,
    ``n/a``, ``null`` and ``nan`` than with the ten of the default mapping.
    """
    words = [w for w in mapping.null_values if w == "" or not set(w.encode()) & scan.unseen]
    return words or list(mapping.null_values)


def _read_csv(info: SourceInfo, types: Sequence[str], delimiter: str, nulls: Sequence[str]) -> str:
    """The reader of the file: each column as text or as ``DOUBLE`` (``types``); a cell
    equal to a null word (quoted or not) is read as null, as the Arrow rule makes it
    (without null words an empty cell is null, made '' again by the caller)."""
    columns = ", ".join(f"'c{i}': '{kind}'" for i, kind in enumerate(types))
    words = f", nullstr=[{', '.join(_literal(w) for w in nulls)}], allow_quoted_nulls=true" if nulls else ""
    return (
        f"read_csv({_literal(str(info.path))}, columns={{{columns}}}, header=true, auto_detect=false, "
        f"delim={_literal(delimiter)}, quote='\"', escape='\"', new_line='\\n', encoding='utf-8', "
        f"strict_mode=true, null_padding=false, ignore_errors=false, parallel=true, buffer_size={_BUFFER}{words})"
    )


def _convert(
    target: TargetPlan,
    text: str,
    value_name: str,
    mapping: ImportMapping,
    plan: ImportPlan,
    *,
    tab: bool,
    padded: bool = True,
    quoted: bool = True,
    read_as: str = "VARCHAR",
    sample: str | None = None,
) -> tuple[str, str, list[str]]:
    """SQL of one source column: its converted value (from ``text``), whether the text is
    in a plain form, and the checks of the value (on ``value_name``, a level up).

    ``padded=False``: no cell of the file starts or ends with a space (:func:`_padded_cells`),
    so the text's edges are not looked at; ``quoted=False``: the file holds no ``"``, so no
    text does either. ``read_as``: the type the reader gave ``text``
    (:func:`reader_types`). ``sample``: a text of the column (its first), whose shape a
    timestamp is first tested against (:func:`zoned_gate`)."""
    column = target.column
    limits = plan.limits
    kind = column.dtype
    value, form, ranges = text, "true", []
    if kind == "string":
        bad = [f"contains({text}, '\"')"] if quoted else []
        bad += [f"starts_with({text}, ' ')", f"ends_with({text}, ' ')"] if padded else []
        bad += [f"contains({text}, chr(9))"] if tab else []
        form = f"NOT ({' OR '.join(bad)})" if bad else "true"
        if column.allowed is not None:
            form += f" AND {_one_of(text, column.allowed)}"
    elif kind in _NUMBERS:
        if read_as == "DOUBLE":  # the Arrow rule: a finite number; a whole one integral and within 2^53
            form = f"isfinite({text})"
            if kind == "int64":
                value = f"TRY_CAST({text} AS BIGINT)"
                form += f" AND {text} = trunc({text}) AND abs({text}) <= {float(2**53)!r}"
        else:
            pattern, sql = (PLAIN_DECIMAL, "DOUBLE") if kind == "float64" else (PLAIN_INTEGER, "BIGINT")
            value = f"TRY_CAST({text} AS {sql})"
            form = f"regexp_full_match({text}, {_literal(pattern)})"
        if kind == "float64" and column.unit == "currency":
            ranges.append(f"abs({value_name}) <= {float(limits.max_amount)!r}")
        if column.minimum is not None:
            ranges.append(f"{value_name} >= {float(column.minimum)!r}")
    elif kind == "boolean" and read_as == "BOOLEAN":
        pass  # every value the reader gives is the Arrow rule's
    elif kind == "boolean":
        true = plain_bool_words((*mapping.true_values, "true"))
        false = plain_bool_words((*mapping.false_values, "false"))
        value = _one_of(text, true)
        form = _one_of(text, (*true, *false))
    elif kind in ("timestamp('UTC')", "date"):
        zoned = f"regexp_full_match({text}, {_literal(PLAIN_TIMESTAMP_ZONED)})"
        naive = f"regexp_full_match({text}, {_literal(PLAIN_TIMESTAMP_NAIVE)})"
        if kind == "date":
            value = f"CAST(CASE WHEN {naive} THEN TRY_CAST({text} AS TIMESTAMP) END AS DATE)"
            earliest, latest = f"DATE '{limits.earliest.isoformat()}'", f"DATE '{limits.latest.isoformat()}'"
        else:
            naive_value = f"WHEN {naive} THEN timezone('UTC', TRY_CAST({text} AS TIMESTAMP)) "
            gate = zoned_gate(text, sample, tab=tab)
            shaped = f"WHEN {gate} THEN TRY_CAST({text} AS TIMESTAMPTZ) " if gate else ""
            # a naive time in another zone is not plain: its DST rules are Arrow's alone
            value = (
                f"CASE {shaped}WHEN {zoned} THEN TRY_CAST({text} AS TIMESTAMPTZ) "
                + (naive_value if target.timezone == "UTC" else "")
                + "END"
            )
            earliest = f"TIMESTAMPTZ '{limits.earliest.isoformat()} 00:00:00+00'"
            latest = f"TIMESTAMPTZ '{(limits.latest + timedelta(days=1)).isoformat()} 00:00:00+00'"
        # the form is checked by the value: null unless a plain form and a real day
        ranges.append(f"{value_name} >= {earliest}")
        ranges.append(f"{value_name} {'<=' if kind == 'date' else '<'} {latest}")
    else:  # pragma: no cover - every canonical type is above
        raise AssertionError(kind)
    return value, form, ranges


def _derived(target: TargetPlan, plan: ImportPlan) -> str:
    """Level-3 SQL of one canonical column (the rules of :func:`custlens.ingest.clean._derive`)."""
    name = target.column.name
    if target.source is not None:
        value = quote(name)
    elif target.derived == "one":
        value = "1"
    elif target.derived == "amount_minus_cost":
        value = f"{quote('amount')} - {quote('cost')}"
    elif target.derived is not None and target.derived.startswith("zone_of:"):
        partner_name = target.derived.split(":", 1)[1]
        partner = next(t for t in plan.targets if t.column.name == partner_name)
        value = f"CASE WHEN {quote(partner_name)} IS NOT NULL THEN {_literal(partner.timezone)} END"
    else:
        value = "NULL"
    if plan.table.name == "transactions" and name == "return_flag":
        negative = f"coalesce({quote('amount')} < 0, false)"
        value = f"coalesce({value}, false) OR {negative}" if value != "NULL" else negative
    return value
