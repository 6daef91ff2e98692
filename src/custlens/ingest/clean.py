"""Vectorised cleaning and validation of one batch of source rows.

Every function here works on whole Arrow arrays (Arrow compute kernels), never row by
row. A batch goes in with its file line numbers; out come the clean rows in the
canonical columns (plus ``_line``) and one error record per failing cell (line,
column, value, reason). A row with any error is rejected as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custlens.errors import ConfigError, InputError
from custlens.features.coerce import DATE_FORMATS, DATE_FORMS, strptime_any, to_utc
from custlens.ingest.mapping import ImportMapping
from custlens.ingest.plan import ImportLimits, ImportPlan, TargetPlan
from custlens.schema import arrow_type

__all__ = ["clean_batch", "CleanResult", "ERROR_SCHEMA", "PLAIN_DECIMAL", "PLAIN_INTEGER", "plain_bool_words"]

ERROR_SCHEMA = pa.schema(
    [("line", pa.int64()), ("column", pa.string()), ("value", pa.string()), ("reason", pa.string())]
)
"""Schema of the error records of a batch (the quarantine file adds ``file``)."""

_SPACES = r"[\s\x{00a0}\x{2007}\x{202f}\x{3000}]"
_STRING = pa.string()
_CONTROL = r"[\x{0000}-\x{0008}\x{000b}\x{000c}\x{000e}-\x{001f}\x{007f}]"
"""Control characters refused in any cell (tab, line feed and carriage return are text)."""
_OFFSET = r"[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*[+-](?P<h>\d{2}):?(?P<m>\d{2})$"

CURRENCY_MARKS: dict[str, tuple[str, ...]] = {
    "CNY": ("¥", "￥", "元", "RMB", "CNY"),
    "JPY": ("¥", "￥", "円", "JPY"),
    "USD": ("US$", "$", "USD"),
    "HKD": ("HK$", "HKD"),
    "EUR": ("€", "EUR"),
    "GBP": ("£", "GBP"),
    "KRW": ("₩", "KRW"),
    "INR": ("₹", "INR"),
    "RUB": ("₽", "RUB"),
    "CHF": ("CHF",),
}
"""Marks of the usual currencies. In a workspace with a currency, an amount carrying a mark
of another currency (and not of its own) is rejected instead of silently read."""


@dataclass
class CleanResult:
    """Outcome of cleaning one batch."""

    rows: pa.Table
    errors: pa.Table
    n_rejected: int


class _Errors:
    """Collects (mask, column, raw text, reason) checks and ORs them into a reject mask."""

    def __init__(self, n: int, lines: pa.Array) -> None:
        self.lines = lines
        self.reject = pa.array(np.zeros(n, dtype=bool))
        self.parts: list[pa.Table] = []

    def add(self, mask: pa.Array, column: str, raw: pa.Array, reason: str) -> None:
        mask = pc.fill_null(mask, False)
        if not pc.any(mask).as_py():
            return
        self.reject = pc.or_(self.reject, mask)
        n = pc.sum(mask).as_py()
        self.parts.append(
            pa.table(
                {
                    "line": pc.filter(self.lines, mask),
                    "column": pa.repeat(pa.scalar(column, _STRING), n),
                    "value": pc.fill_null(pc.filter(raw, mask), ""),
                    "reason": pa.repeat(pa.scalar(reason, _STRING), n),
                },
                schema=ERROR_SCHEMA,
            )
        )

    def table(self) -> pa.Table:
        if not self.parts:
            return ERROR_SCHEMA.empty_table()
        return pa.concat_tables(self.parts)


def clean_batch(
    batch: pa.RecordBatch | pa.Table, lines: pa.Array, plan: ImportPlan, mapping: ImportMapping
) -> CleanResult:
    """Clean and validate one batch.

    Parameters
    ----------
    batch
        Source rows (text columns from CSV; typed columns from Parquet/Excel).
    lines
        File line number of each row (int64).
    plan
        Which source column fills which canonical column.
    mapping
        Parsing options (separators, formats, zones, null and boolean words).

    Returns
    -------
    CleanResult
        Clean rows in canonical columns plus ``_line``; error records; rejected row count.
    """
    n = batch.num_rows
    errors = _Errors(n, lines)
    out: dict[str, pa.Array] = {}
    for target in plan.targets:
        if target.derived is not None:
            continue
        if target.source is not None:
            raw = batch.column(target.source)
            if isinstance(raw, pa.ChunkedArray):
                raw = raw.combine_chunks()
        elif target.constant is not None:
            raw = pa.repeat(pa.scalar(_constant_text(target.constant), _STRING), n)
        else:
            out[target.column.name] = pa.nulls(n, arrow_type(target.column.dtype))
            continue
        out[target.column.name] = _parse_column(raw, target, mapping, errors, plan.limits)
    _derive(plan, out, n)
    for target in plan.targets:
        values = out[target.column.name]
        col = target.column
        if col.required:
            raw_text = _raw_text(batch, target, n)
            errors.add(
                pc.and_(pc.is_null(values), pc.invert(errors.reject)), target.label, raw_text, "missing required value"
            )
    keep = pc.invert(errors.reject)
    columns = {c.name: out[c.name] for c in plan.table.columns}
    columns["_line"] = lines
    rows = pa.table(columns).filter(keep)
    n_rejected = n - rows.num_rows
    return CleanResult(rows=rows, errors=errors.table(), n_rejected=n_rejected)


# -- parsing one column -------------------------------------------------------------
def _parse_column(
    raw: pa.Array, target: TargetPlan, mapping: ImportMapping, errors: _Errors, limits: ImportLimits
) -> pa.Array:
    col = target.column
    raw_text = _as_text(raw, target.label)
    kind = col.dtype
    typed = _typed_passthrough(raw, kind, target)
    checks: list[tuple[pa.Array, str]] = []
    if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
        checks.append((_control(raw_text), "contains a control character (such as NUL); not accepted in any cell"))
    if typed is not None and not target.values:
        values, bad, reason = typed, None, ""
    else:
        text = _normalise_text(raw_text, mapping)
        if target.values:
            text = _apply_value_map(text, target.values)
        if kind in ("float64", "int64") and limits.currency:
            checks.append(_foreign_currency(text, limits.currency))
        if kind == "timestamp('UTC')":
            checks.append(_bad_offset(text))
        values, bad, reason = _PARSERS[kind](text, target, mapping)
    if bad is not None:
        checks.append((bad, reason))
    checks.extend(_plausible(values, target, limits))
    if col.allowed is not None:
        values = _normalise_label(values)
        bad_label = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, pa.array(col.allowed))))
        checks.append((bad_label, f"not an allowed value for {col.name}; expected one of: {', '.join(col.allowed)}"))
    if col.minimum is not None and kind in ("int64", "float64"):
        checks.append((pc.less(values, col.minimum), f"below the minimum {col.minimum:g} of {col.name}"))
    for mask, why in checks:
        if target.constant is not None and len(mask) and pc.any(pc.fill_null(mask, False)).as_py():
            raise ConfigError(f"mapping: the constant {target.constant!r} for {col.name} is invalid: {why}")
        errors.add(mask, target.label, raw_text, why)
    return values


_CONTROL_BYTES = np.zeros(256, dtype=bool)
_CONTROL_BYTES[[*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]] = True
"""The bytes of :data:`_CONTROL`'s characters: in UTF-8 each is one byte that no other character uses."""


def _control(text: pa.Array) -> pa.Array:
    """Which cells hold a control character (:data:`_CONTROL`).

    The regular expression runs only when the bytes of the cells hold a control byte; a
    batch without one (the usual case) is answered by one look at its bytes.
    """
    offsets, data = text.buffers()[1], text.buffers()[2]
    if data is not None and len(text):
        ends = np.frombuffer(offsets, dtype=np.int32, count=text.offset + len(text) + 1)
        start, stop = int(ends[text.offset]), int(ends[-1])
        cells = np.frombuffer(data, dtype=np.uint8)[start:stop]
        if (cells == 0x7F).any() or _CONTROL_BYTES[cells[cells < 0x20]].any():  # two quick passes
            return pc.match_substring_regex(text, _CONTROL)
    return pa.array(np.zeros(len(text), dtype=bool))


def _foreign_currency(text: pa.Array, currency: str) -> tuple[pa.Array, str]:
    own = set(CURRENCY_MARKS.get(currency, (currency,)))
    foreign = sorted(
        {m for marks in CURRENCY_MARKS.values() for m in marks} - own - ({"$"} if "US$" in own else set()),
        key=len,
        reverse=True,
    )
    # a mark of the own currency containing a foreign one (US$ holds $) is removed first
    plain = text
    for mark in sorted(own, key=len, reverse=True):
        plain = pc.replace_substring(plain, mark, "")
    mask = pc.match_substring_regex(plain, "|".join(re.escape(m) for m in foreign))
    return mask, f"an amount in another currency; the workspace's currency is {currency}"


def _bad_offset(text: pa.Array) -> tuple[pa.Array, str]:
    why = "time zone offset beyond +/-14:00"
    if not _some_edge(text, "0123456789", first=False):  # :data:`_OFFSET` ends with a digit
        return pa.array(np.zeros(len(text), dtype=bool)), why
    parts = pc.extract_regex(text, _OFFSET)
    hours = pc.cast(pc.struct_field(parts, "h"), pa.int32())
    minutes = pc.cast(pc.struct_field(parts, "m"), pa.int32())
    too_far = pc.or_(
        pc.greater(hours, 14),
        pc.or_(pc.greater_equal(minutes, 60), pc.and_(pc.equal(hours, 14), pc.greater(minutes, 0))),
    )
    return too_far, why


def _plausible(values: pa.Array, target: TargetPlan, limits: ImportLimits) -> list[tuple[pa.Array, str]]:
    """Dates outside the workspace's window, amounts beyond its bound."""
    col = target.column
    if col.dtype in ("date", "timestamp('UTC')"):
        days = (
            pc.cast(values, pa.date32())
            if col.dtype == "date"
            else pc.cast(pc.cast(values, pa.timestamp("us")), pa.date32())
        )
        outside = pc.or_(
            pc.less(days, pa.scalar(limits.earliest, pa.date32())),
            pc.greater(days, pa.scalar(limits.latest, pa.date32())),
        )
        return [
            (
                outside,
                f"date outside the accepted window {limits.earliest} to {limits.latest} "
                "([import] earliest_date and latest_date in workspace.toml)",
            )
        ]
    if col.dtype == "float64" and col.unit == "currency":
        return [
            (
                pc.greater(pc.abs(values), limits.max_amount),
                f"amount beyond the accepted bound +/-{limits.max_amount:g} ([import] max_amount in workspace.toml)",
            )
        ]
    return []


def _as_text(raw: pa.Array, label: str) -> pa.Array:
    if pa.types.is_string(raw.type):
        return raw
    if pa.types.is_large_string(raw.type) or pa.types.is_dictionary(raw.type):
        return pc.cast(raw, _STRING)
    try:
        return pc.cast(raw, _STRING)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        raise InputError(f"column {label!r} has type {raw.type}; expected text, numbers, dates or timestamps") from None


def _typed_passthrough(raw: pa.Array, kind: str, target: TargetPlan) -> pa.Array | None:
    """Use typed source columns (Parquet, Excel) directly when the types agree."""
    t = raw.type
    if kind == "float64" and (pa.types.is_integer(t) or pa.types.is_floating(t)):
        values = pc.cast(raw, pa.float64())
        return pc.if_else(pc.is_finite(values), values, None) if pa.types.is_floating(t) else values
    if kind == "int64" and pa.types.is_integer(t):
        return pc.cast(raw, pa.int64())
    if kind == "boolean" and pa.types.is_boolean(t):
        return raw
    if kind == "timestamp('UTC')" and (pa.types.is_timestamp(t) or pa.types.is_date(t)):
        return to_utc(
            pc.cast(raw, pa.timestamp("us", tz=t.tz) if pa.types.is_timestamp(t) else pa.timestamp("us")),
            target.timezone,
        )
    if kind == "date" and pa.types.is_date(t):
        return pc.cast(raw, pa.date32())
    if kind == "date" and pa.types.is_timestamp(t) and t.tz is None:
        return pc.cast(pc.cast(raw, pa.timestamp("us")), pa.date32())
    return None


PLAIN_DECIMAL = r"-?[0-9]{1,15}(\.[0-9]+)?"
"""A plain decimal (whole text): what :func:`_plain_decimals` accepts. Every rule of
:func:`_number_text` reads such a text as ``pc.cast(text, float64)`` (with '.' as the
decimal separator and no currency mark holding a digit, '-' or '.'), and so does a SQL
``CAST(text AS DOUBLE)`` (``tests/ingest/test_plain_sql.py`` checks both)."""

PLAIN_INTEGER = r"-?[0-9]{1,15}"
"""A plain whole number (whole text): :func:`_parse_int` reads it as its integer (below
2^53, so exact through float64), as SQL's ``CAST(text AS BIGINT)`` does."""


def plain_bool_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """The texts :func:`_parse_bool` reads as one of ``words``, written without case folding.

    :func:`_parse_bool` compares the lower-cased text with the words as given, so a word
    that is not its own lower case matches nothing and is left out. Each other word is
    taken as written, and, when it is ASCII, upper-cased and capitalised (``utf8_lower``
    of each gives the word back). Equality with one of these texts is the plain form of a
    yes/no cell.
    """
    out: list[str] = []
    for word in words:
        if pc.utf8_lower(pa.scalar(word, _STRING)).as_py() != word:
            continue
        forms = (word, word.upper(), word.capitalize()) if word.isascii() else (word,)
        out.extend(f for f in forms if f not in out)
    return tuple(out)


_LEFT_SPACES = " \n\u00a0\u3000"
_RIGHT_SPACES = " \t\r\n\u00a0\u3000"
# a leading tab or carriage return is kept: spreadsheets use it to defuse a formula


def _normalise_text(text: pa.Array, mapping: ImportMapping) -> pa.Array:
    """Surrounding spaces trimmed, null words made null.

    Each kernel runs only when some cell could be changed by it: a cell starting (ending)
    with the first (last) byte of a space character, or as long as a null word.
    """
    if _some_edge(text, _LEFT_SPACES, first=True):
        text = pc.utf8_ltrim(text, characters=_LEFT_SPACES)
    if _some_edge(text, _RIGHT_SPACES, first=False):
        text = pc.utf8_rtrim(text, characters=_RIGHT_SPACES)
    if not mapping.null_values:
        return text
    if pa.types.is_string(text.type):
        sizes = np.zeros(max(len(word.encode()) for word in mapping.null_values) + 2, dtype=bool)
        sizes[[len(word.encode()) for word in mapping.null_values]] = True
        if not sizes[np.minimum(_cells(text)[2][_valid(text)], len(sizes) - 1)].any():
            return text
    nulls = pa.array(list(mapping.null_values), _STRING)
    return pc.if_else(pc.is_in(text, nulls), pa.scalar(None, _STRING), text)


def _cells(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bytes of a string array's cells, the start of each cell in them and each cell's length.

    A null cell counts with whatever bytes it spans (usually none): checks that look at the
    bytes to skip a kernel only ever skip it less often for that.
    """
    n = len(text)
    ends = np.frombuffer(text.buffers()[1], dtype=np.int32, count=text.offset + n + 1)[text.offset :]
    data = text.buffers()[2]
    cells = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return cells, ends[:-1].astype(np.int64), np.diff(ends).astype(np.int64)


def _valid(arr: pa.Array) -> np.ndarray:
    """Where ``arr`` holds a value, as a NumPy mask."""
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    return np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=bool)


def _some_edge(text: pa.Array, characters: str, *, first: bool) -> bool:
    """Whether a cell may start (``first``) or end with one of ``characters`` (False: it surely does not)."""
    if not pa.types.is_string(text.type):
        return True
    edge = np.zeros(256, dtype=bool)
    edge[[c.encode()[0 if first else -1] for c in characters]] = True
    n = len(text)
    ends = np.frombuffer(text.buffers()[1], dtype=np.int32, count=text.offset + n + 1)[text.offset :]
    buffer = text.buffers()[2]
    if buffer is None or not n:
        return False
    data = np.frombuffer(buffer, dtype=np.uint8)
    if not len(data):
        return False
    at = ends[:-1] if first else ends[1:] - 1  # an empty cell's byte is another's, or none
    return bool((edge[data[np.clip(at, 0, len(data) - 1)]] & (ends[1:] > ends[:-1])).any())


def _apply_value_map(text: pa.Array, values: dict[str, str]) -> pa.Array:
    keys = pa.array(list(values), _STRING)
    index = pc.index_in(text, value_set=keys)
    mapped = pc.take(pa.array(list(values.values()), _STRING), index)
    return pc.coalesce(mapped, text)


def _normalise_label(values: pa.Array) -> pa.Array:
    lowered = pc.utf8_lower(values)
    return pc.replace_substring_regex(lowered, r"[\s\-]+", "_")


def _parse_string(text: pa.Array, target: TargetPlan, mapping: ImportMapping) -> tuple[pa.Array, pa.Array | None, str]:
    return text, None, ""


def _number_text(text: pa.Array, mapping: ImportMapping) -> tuple[pa.Array, pa.Array]:
    """Strip currency marks and spaces, validate grouping, return (float64, bad mask)."""
    # fast path: every cell a plain decimal (which the rules below read as the same number
    # only when '.' is the decimal separator and no currency mark holds a digit, '-' or '.')
    marks = "".join(mapping.currency_symbols)
    if mapping.decimal == "." and not re.search(r"[\d.\-]", marks) and _plain_decimals(text):
        values = pc.cast(text, pa.float64())
        return values, pa.array(np.zeros(len(text), dtype=bool))
    s = text
    symbols = sorted(mapping.currency_symbols, key=len, reverse=True)
    if symbols:
        s = pc.replace_substring_regex(s, "|".join(re.escape(x) for x in symbols), "")
    s = pc.replace_substring_regex(s, _SPACES, "")
    s = pc.replace_substring_regex(s, r"^\((.*)\)$", r"-\1")
    d = re.escape(mapping.decimal)
    exp = r"(?:[eE][+-]?\d+)?"
    if mapping.thousands and not mapping.thousands.isspace():
        t = re.escape(mapping.thousands)
        pattern = rf"^[+-]?(?:(?:\d+|\d{{1,3}}(?:{t}\d{{3}})+)(?:{d}\d*)?|{d}\d+){exp}$"
    else:
        pattern = rf"^[+-]?(?:\d+(?:{d}\d*)?|{d}\d+){exp}$"
    valid = pc.match_substring_regex(s, pattern)
    if mapping.thousands and not mapping.thousands.isspace():
        s = pc.replace_substring(s, mapping.thousands, "")
    if mapping.decimal != ".":
        s = pc.replace_substring(s, mapping.decimal, ".")
    s = pc.if_else(valid, s, pa.scalar(None, _STRING))
    values = pc.cast(s, pa.float64())
    finite = pc.is_finite(values)
    values = pc.if_else(finite, values, pa.scalar(None, pa.float64()))
    bad = pc.and_(pc.is_valid(text), pc.is_null(values))
    return values, bad


def _plain_decimals(text: pa.Array) -> bool:
    """Whether every cell is null or a plain decimal, ``^-?\\d{1,15}(?:\\.\\d+)?$``.

    Read from the bytes: only digits, '-' and '.'; a '-' only first in a cell and before
    a digit; at most one '.' per cell, between two digits; at most 15 digits before it.
    """
    if not pa.types.is_string(text.type):
        return bool(pc.all(pc.fill_null(pc.match_substring_regex(text, r"^-?\d{1,15}(?:\.\d+)?$"), True)).as_py())
    n = len(text)
    if n == 0:
        return True
    data, starts, lengths = _cells(text)
    valid = _valid(text)
    if (valid & (lengths == 0)).any():
        return False  # an empty text is not a number
    base, stop = int(starts[0]), int(starts[-1] + lengths[-1])
    cells = data[base:stop]
    starts = starts[valid] - base
    stops = starts + lengths[valid]
    digit = (cells >= ord("0")) & (cells <= ord("9"))
    minus, dot = cells == ord("-"), cells == ord(".")
    if not (digit | minus | dot).all():
        return False
    first = np.zeros(len(cells) + 1, dtype=bool)
    first[starts] = True
    last = np.zeros(len(cells) + 1, dtype=bool)
    last[stops - 1] = True
    digit = np.append(digit, False)
    signs, points = np.flatnonzero(minus), np.flatnonzero(dot)
    if not (first[signs].all() and digit[signs + 1].all() and not last[signs].any()):
        return False
    if first[points].any() or last[points].any() or not (digit[points - 1] & digit[points + 1]).all():
        return False
    # a cell holds at most one '.', with at most 15 digits before it (or in all, without one)
    cell_of_point = np.searchsorted(stops, points, side="right")
    if (np.diff(cell_of_point) == 0).any():  # ascending: two points of one cell are neighbours
        return False
    integer_end = stops.copy()
    integer_end[cell_of_point] = points
    signed = minus[starts] if len(cells) else np.zeros(len(starts), dtype=bool)
    return bool((integer_end - starts - signed <= 15).all())


def _parse_float(text: pa.Array, target: TargetPlan, mapping: ImportMapping) -> tuple[pa.Array, pa.Array | None, str]:
    values, bad = _number_text(text, mapping)
    sep = mapping.thousands or "none"
    return values, bad, (f"not a number (decimal separator {mapping.decimal!r}, thousands separator {sep!r})")


def _parse_int(text: pa.Array, target: TargetPlan, mapping: ImportMapping) -> tuple[pa.Array, pa.Array | None, str]:
    values, bad = _number_text(text, mapping)
    integral = pc.and_(pc.equal(pc.floor(values), values), pc.less_equal(pc.abs(values), 2.0**53))
    ints = pc.cast(pc.if_else(integral, values, pa.scalar(None, pa.float64())), pa.int64())
    bad = pc.and_(pc.is_valid(text), pc.is_null(ints))
    return ints, bad, "not a whole number"


def _parse_bool(text: pa.Array, target: TargetPlan, mapping: ImportMapping) -> tuple[pa.Array, pa.Array | None, str]:
    lowered = pc.utf8_lower(text)
    # "true" and "false" (what value maps produce) are understood whatever the words are
    is_true = pc.is_in(lowered, pa.array([*mapping.true_values, "true"], _STRING))
    is_false = pc.is_in(lowered, pa.array([*mapping.false_values, "false"], _STRING))
    values = pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
    bad = pc.and_(pc.is_valid(text), pc.is_null(values))
    return (
        values,
        bad,
        (f"not a yes/no value; expected one of: {', '.join(mapping.true_values + mapping.false_values)}"),
    )


def _format_text(target: TargetPlan) -> str:
    if target.date_formats:
        return "the format " + " or ".join(target.date_formats)
    return f"the forms {DATE_FORMS} (other forms need date_format in the mapping)"


def _parse_timestamp(
    text: pa.Array, target: TargetPlan, mapping: ImportMapping
) -> tuple[pa.Array, pa.Array | None, str]:
    formats = target.date_formats or DATE_FORMATS
    values = strptime_any(text, formats, target.timezone)
    bad = pc.and_(pc.is_valid(text), pc.is_null(values))
    return values, bad, f"not a date/time in {_format_text(target)}"


def _parse_date(text: pa.Array, target: TargetPlan, mapping: ImportMapping) -> tuple[pa.Array, pa.Array | None, str]:
    formats = target.date_formats or DATE_FORMATS
    values = strptime_any(text, formats, "UTC")
    dates = pc.cast(values, pa.date32())
    bad = pc.and_(pc.is_valid(text), pc.is_null(dates))
    return dates, bad, f"not a date in {_format_text(target)}"


_PARSERS: dict[str, Any] = {
    "string": _parse_string,
    "float64": _parse_float,
    "int64": _parse_int,
    "boolean": _parse_bool,
    "timestamp('UTC')": _parse_timestamp,
    "date": _parse_date,
}


# -- derived columns ------------------------------------------------------------------
def _derive(plan: ImportPlan, out: dict[str, pa.Array], n: int) -> None:
    for target in plan.targets:
        name = target.column.name
        if target.derived == "one":
            out[name] = pa.repeat(pa.scalar(1, pa.int64()), n)
        elif target.derived == "amount_minus_cost":
            out[name] = pc.subtract(out["amount"], out["cost"])
        elif target.derived is not None and target.derived.startswith("zone_of:"):
            ts = out[target.derived.split(":", 1)[1]]
            partner = next(t for t in plan.targets if t.column.name == target.derived.split(":", 1)[1])
            out[name] = pc.if_else(pc.is_valid(ts), pa.scalar(partner.timezone, _STRING), pa.scalar(None, _STRING))
    if plan.table.name == "transactions":
        negative = pc.fill_null(pc.less(out["amount"], 0.0), False)
        flag = out.get("return_flag")
        if flag is None or pc.all(pc.is_null(flag)).as_py():
            out["return_flag"] = negative
        else:
            out["return_flag"] = pc.or_(pc.fill_null(flag, False), negative)


def _raw_text(batch: pa.RecordBatch | pa.Table, target: TargetPlan, n: int) -> pa.Array:
    if target.source is not None:
        raw = batch.column(target.source)
        if isinstance(raw, pa.ChunkedArray):
            raw = raw.combine_chunks()
        return _as_text(raw, target.label)
    if target.constant is not None:
        return pa.repeat(pa.scalar(_constant_text(target.constant), _STRING), n)
    return pa.nulls(n, _STRING)


def _constant_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ConfigError(f"mapping: a constant must be a text, number or boolean; got {value!r}")
