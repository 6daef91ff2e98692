"""Input coercion, owned in one place: dates, amounts and identifiers.

Every path that turns what a user holds into typed values goes through this module:

* :func:`to_date` -- one date given as a parameter (``as_of``, ``calibration_end``, ...);
* :func:`strptime_any` -- the vectorised Arrow parser behind file imports (strict: an
  impossible day such as 2024-02-30 is refused, not rolled over to 1 March);
* :func:`parse_dates`, :func:`parse_amounts`, :func:`parse_ids` and :func:`check_column` --
  the column checks of a file read whole, each error naming the column, the rule, how many
  values break it and the first row and value;
* :func:`as_dates`, :func:`as_numbers` and :func:`typed` -- the same conversions as Ibis
  expressions, run by the engine (DuckDB or Spark) on tables already in the warehouse.

One list of accepted date forms, :data:`DATE_FORMATS`, serves all of them. Time units are
checked by :func:`custlens.schema.check_time_unit`.

This module does not import Ibis at import time (the importer and the command line import
it and must start fast); the Ibis functions import it when called.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custlens.errors import InputError, did_you_mean

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "DATE_FORMATS",
    "DATE_FORMS",
    "PLAIN_TIMESTAMP_ZONED",
    "PLAIN_TIMESTAMP_NAIVE",
    "to_date",
    "check_date_format",
    "strptime_any",
    "to_utc",
    "parse_dates",
    "parse_amounts",
    "parse_ids",
    "check_column",
    "as_dates",
    "as_numbers",
    "typed",
]

DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y%m%d",
)
"""The date forms custlens accepts without a ``date_format``, tried in this order.

ISO 8601 dates and date-times with ``T`` or a space, with or without seconds, with or
without a zone offset (``+08:00``, ``+0800`` or ``Z``; such values are converted to UTC),
the same with slashes (``2024/01/31``), and ``YYYYMMDD`` (``20240131``, as text or as a
whole number). Fractions of a second (``10:00:00.123``) are accepted after the seconds of
any form."""

DATE_FORMS = (
    "ISO like 2024-01-31, 2024-01-31 10:00:00 or 2024-01-31T10:00:00+08:00, 2024/01/31, or YYYYMMDD like 20240131"
)
"""The accepted date forms in words, for messages."""

PLAIN_TIMESTAMP_ZONED = (
    r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)"
)
"""The plain zoned timestamp (whole text, any zone of the mapping): a date, ``T`` or a
space, ``HH:MM:SS``, an optional fraction of one to six digits after ``.``, then ``Z`` or
an offset ``+HH:MM`` within +/-14:00. :func:`strptime_any` reads it (one of the
``%z`` forms of :data:`DATE_FORMATS`, fraction added back) as the instant SQL's
``CAST(text AS TIMESTAMPTZ)`` gives, when the day exists (the cast refuses the others
as the formats do). ``tests/ingest/test_plain_sql.py`` checks the agreement."""

PLAIN_TIMESTAMP_NAIVE = (
    r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
)
"""The plain timestamp without a zone (whole text): ``YYYY-MM-DD``, optionally followed by
``T`` or a space and ``HH:MM``, ``HH:MM:SS`` or ``HH:MM:SS.ffffff`` (one to six digits).
Read in UTC, :func:`strptime_any` gives the instant of SQL's ``CAST(text AS TIMESTAMP)``
taken as UTC, when the day exists."""

_FRACTION = r"(\d{2}:\d{2}:\d{2})[.,]\d{1,9}"
_DIRECTIVES = set("YymdebBhHIMSpzZjaAFTD%")
_UTC = pa.timestamp("us", tz="UTC")


# -- one value -------------------------------------------------------------------------------
def to_date(value: Any, parameter: str = "as_of") -> dt.date:
    """One calendar day from whatever a user gives for a date parameter.

    Accepts a ``date``; a ``datetime`` or pandas ``Timestamp`` (an aware one is converted
    to UTC first, a naive one is taken as UTC); a NumPy ``datetime64``; text in any form of
    :data:`DATE_FORMATS` (with optional fractions of a second); a ``YYYYMMDD`` integer.

    Raises
    ------
    InputError
        Naming ``parameter``, the accepted forms and the value received.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise InputError(f"{parameter!r} must be a date ({DATE_FORMS}); got NaT")
        return dt.date.fromisoformat(str(value.astype("datetime64[D]")))
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = str(int(value))
    if isinstance(value, str):
        text = re.sub(_FRACTION, r"\1", value.strip())
        for fmt in DATE_FORMATS:
            try:
                return to_date(dt.datetime.strptime(text, fmt), parameter)
            except ValueError:
                continue
    raise InputError(f"{parameter!r} must be a date ({DATE_FORMS}); got {value!r}")


def check_date_format(fmt: str, parameter: str = "date_format") -> str:
    """Check a ``strptime`` format: known directives only, and a year among them.

    Arrow's strptime turns an unknown directive into "nothing parses", so a typo would
    otherwise reject every value without saying why.

    Raises
    ------
    InputError
        Naming ``parameter``, the format and the problem.
    """
    found = re.findall(r"%(.)", fmt.replace("%%", ""))
    unknown = [f"%{d}" for d in found if d not in _DIRECTIVES]
    if unknown:
        raise InputError(
            f"{parameter!r} {fmt!r} is not a valid strptime format: unknown directive {unknown[0]!r} "
            "(e.g. '%d/%m/%Y' or '%Y-%m-%d %H:%M')"
        )
    if not {"Y", "y", "F", "D"} & set(found):
        raise InputError(f"{parameter!r} {fmt!r} has no year (%Y or %y); expected a date format like '%d/%m/%Y'")
    return fmt


# -- Arrow arrays ----------------------------------------------------------------------------
def strptime_any(text: pa.Array, formats: Sequence[str] = DATE_FORMATS, zone: str = "UTC") -> pa.Array:
    """Parse text with each format in turn; UTC timestamps out, null where nothing fits.

    Per value, the first format that fits wins. Naive values are read in ``zone`` (an
    IANA zone name); values with an offset are converted to UTC. Fractions of a second
    (which ``strptime`` has no directive for) are cut out before parsing and added back.
    Impossible days are refused (see :func:`_strptime_strict`).

    With the default :data:`DATE_FORMATS`, values written exactly in one of their plain
    shapes (``2024-01-31``, ``2024-01-31 10:00:00.123Z``, ``2024/01/31 10:00``,
    ``20240131``, ...; see :func:`_plain_forms`, and :func:`_one_shape` for a column written
    in one shape throughout) are read by a vectorised fast path that gives what the formats
    give; the other values, and every value of other formats, go through the formats in
    order, each format reading only the values still unparsed.
    """
    text = pc.cast(text, pa.string()) if pa.types.is_large_string(text.type) else text
    if tuple(formats) != DATE_FORMATS:
        return _forms_in_order(text, formats, zone)
    if len(text) > _CHUNK:  # the fast path's work arrays stay small
        parts = [strptime_any(text.slice(i, _CHUNK), formats, zone) for i in range(0, len(text), _CHUNK)]
        return pa.concat_arrays(parts)
    micros, parsed = _one_shape(text, zone) or _plain_forms(text, zone)
    rest = np.flatnonzero(~parsed & _valid(text))
    if len(rest):
        slow = _forms_in_order(pc.take(text, pa.array(rest)), formats, zone)
        micros[rest] = pc.fill_null(pc.cast(slow, pa.int64()), 0).to_numpy()
        parsed[rest] = _valid(slow)
    if parsed.all():
        return pa.Array.from_buffers(_UTC, len(micros), [None, pa.py_buffer(micros)])
    return pa.array(micros, _UTC, mask=~parsed)


def _forms_in_order(text: pa.Array, formats: Sequence[str], zone: str) -> pa.Array:
    """The formats tried in order, each on the values no earlier format fitted."""
    fraction = pc.struct_field(pc.extract_regex(text, r"\d{2}:\d{2}:\d{2}[.,](?P<f>\d{1,9})"), "f")
    micros = pc.cast(pc.utf8_slice_codeunits(pc.utf8_rpad(fraction, 6, "0"), 0, 6), pa.int64())
    text = pc.replace_substring_regex(text, _FRACTION, r"\1")
    values = np.zeros(len(text), dtype=np.int64)
    parsed = np.zeros(len(text), dtype=bool)
    todo = np.flatnonzero(_valid(text))
    for fmt in formats:
        if not len(todo):
            break
        got = to_utc(_strptime_strict(pc.take(text, pa.array(todo)), fmt), zone)
        fits = _valid(got)
        values[todo[fits]] = pc.fill_null(pc.cast(got, pa.int64()), 0).to_numpy()[fits]
        parsed[todo[fits]] = True
        todo = todo[~fits]
    values += pc.fill_null(micros, 0).to_numpy(zero_copy_only=False)
    return pa.array(values, _UTC, mask=~parsed)


def _valid(arr: pa.Array) -> np.ndarray:
    """Where ``arr`` holds a value, as a NumPy mask."""
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    bits = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little", count=arr.offset + len(arr))[arr.offset :].astype(bool)


_CHUNK = 1 << 18
"""Values read at once by the fast path of :func:`strptime_any`."""
_PLAIN_WIDTH = 35
"""Longest plain value: ``2024-01-31 10:00:00`` with nine digits of fraction and ``+08:00``."""
_YEAR_1000 = -30_610_224_000
"""1000-01-01T00:00:00 in seconds since 1970."""
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _plain_forms(text: pa.Array, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC microseconds and a parsed mask of the values in a plain shape of :data:`DATE_FORMATS`.

    The plain shapes, read from the bytes with NumPy (no Arrow kernel per format):

    * ``YYYY-MM-DD`` or ``YYYY/MM/DD``, then optionally ``[ T]HH:MM`` (``T`` only after
      dashes), then optionally ``:SS``, then optionally a fraction (``.`` or ``,`` and 1
      to 9 digits), then (after dashes and seconds only) ``Z``, ``+HH``, ``+HHMM`` or
      ``+HH:MM`` (or ``-``);
    * ``YYYYMMDD``.

    Each shape is exactly one form of :data:`DATE_FORMATS` with two-digit fields, which no
    earlier form fits (a form must consume the whole text, and each earlier form differs
    in a literal character or ends before it), so the value is that form's: when the year
    is 1000 or later, the day exists, hours are below 24, minutes and seconds below 60 and
    offset minutes below 60. A value breaking any of these is left to the formats
    (``parsed`` False), as is every value of another shape; the result is always the
    formats'. ``tests/features/test_strptime_fast.py`` checks this against the formats.
    """
    n = len(text)
    micros = np.zeros(n, dtype=np.int64)
    parsed = np.zeros(n, dtype=bool)
    data_buffer = text.buffers()[2]
    if n == 0 or data_buffer is None:
        return micros, parsed
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=text.offset + n + 1)[text.offset :]
    lengths = np.diff(offsets)
    rows = np.flatnonzero(_valid(text) & (lengths >= 8) & (lengths <= _PLAIN_WIDTH))
    if not len(rows):
        return micros, parsed
    # the first _PLAIN_WIDTH bytes of each value (then the next values'): one row per value;
    # every test below looks only at bytes before the value's end
    base = int(offsets[0])
    data = np.frombuffer(data_buffer, dtype=np.uint8)[base : int(offsets[-1])]
    padded = np.concatenate([data, np.zeros(_PLAIN_WIDTH, dtype=np.uint8)])
    size = lengths[rows].astype(np.int64)
    chars = np.lib.stride_tricks.sliding_window_view(padded, _PLAIN_WIDTH)[offsets[rows] - base]
    micros[rows], parsed[rows] = _plain_instants(_plain_shape(chars, size), zone)
    return micros, parsed


def _plain_shape(chars: np.ndarray, size: np.ndarray) -> dict[str, np.ndarray]:
    """The shape of each value (which plain form it is written in) and its fields.

    ``chars`` holds the first :data:`_PLAIN_WIDTH` bytes of each value (one row per
    value), ``size`` the value's length; every test looks only at bytes before the value's
    end. The shape flags (``date_only``, ``compact``, ``minutes_only``, ``with_time``,
    ``has_fraction``, ``zoned``, ``in_utc``, and ``digits``, ``end``, ``colon``,
    ``long_zone``, ``sign``) depend only on the length, on which bytes are digits and on
    the other bytes, never on the digits' values.
    """
    n = len(chars)
    is_digit = (chars >= ord("0")) & (chars <= ord("9"))

    def digit(at: int) -> np.ndarray:
        return chars[:, at].astype(np.int64) - ord("0")

    def number(at: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """The number written at ``at`` in ``width`` digits, and whether all are digits."""
        value = digit(at)
        for k in range(at + 1, at + width):
            value = value * 10 + digit(k)
        return value, np.logical_and.reduce(is_digit[:, at : at + width], axis=1)

    def char_at(at: np.ndarray) -> np.ndarray:
        return np.take_along_axis(chars, np.minimum(at, _PLAIN_WIDTH - 1)[:, None], axis=1)[:, 0]

    def number_at(at: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        value, ok = np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)
        for k in range(width):
            d = char_at(at + k).astype(np.int64) - ord("0")
            value, ok = value * 10 + d, ok & (d >= 0) & (d <= 9)
        return value, ok

    year, year_ok = number(0, 4)
    compact = (size == 8) & year_ok & number(4, 4)[1]
    dash = (chars[:, 4] == ord("-")) & (chars[:, 7] == ord("-"))
    slash = (chars[:, 4] == ord("/")) & (chars[:, 7] == ord("/"))
    month, month_ok = number(5, 2)
    day, day_ok = number(8, 2)
    ok = year_ok & (dash | slash) & month_ok & day_ok
    month = np.where(compact, number(4, 2)[0], month)
    day = np.where(compact, number(6, 2)[0], day)
    date_only = ok & (size == 10)
    # then [ T]HH:MM
    mark = chars[:, 10]
    hour, hour_ok = number(11, 2)
    minute, minute_ok = number(14, 2)
    ok &= (size >= 16) & ((mark == ord(" ")) | ((mark == ord("T")) & dash)) & hour_ok & minute_ok
    ok &= chars[:, 13] == ord(":")
    minutes_only = ok & (size == 16)
    # then :SS and a fraction of 1 to 9 digits (its first six, padded, are the microseconds)
    second, second_ok = number(17, 2)
    ok &= (size >= 19) & (chars[:, 16] == ord(":")) & second_ok
    has_fraction = ok & (size > 19) & ((chars[:, 19] == ord(".")) | (chars[:, 19] == ord(",")))
    run = np.cumprod(is_digit[:, 20:30], axis=1, dtype=np.int8).sum(axis=1, dtype=np.int64)
    digits = np.where(has_fraction, np.minimum(run, size - 20), 0)
    fraction = np.zeros(n, dtype=np.int64)
    for k in range(6):
        fraction = fraction * 10 + np.where(k < digits, digit(20 + k), 0)
    ok &= ~has_fraction | ((digits >= 1) & (digits <= 9))
    end = np.where(has_fraction, 20 + digits, 19)
    # then the zone: nothing, Z, +HH, +HHMM or +HH:MM
    tail = size - end
    sign = char_at(end)
    zone_hours, zone_hours_ok = number_at(end + 1, 2)
    colon = char_at(end + 3) == ord(":")
    zone_minutes, zone_minutes_ok = number_at(np.where(colon, end + 4, end + 3), 2)
    long_zone = ((tail == 5) & ~colon) | ((tail == 6) & colon)
    zoned = ((sign == ord("+")) | (sign == ord("-"))) & dash & zone_hours_ok
    zoned &= (tail == 3) | (long_zone & zone_minutes_ok)
    zone_minutes = np.where(zoned & long_zone, zone_minutes, 0)
    in_utc = (tail == 1) & (sign == ord("Z")) & dash
    with_time = ok & ((tail == 0) | in_utc | zoned)
    return {
        "year": year,
        "month": month,
        "day": day,
        "hour": hour,
        "minute": minute,
        "second": second,
        "fraction": fraction,
        "digits": digits,
        "end": end,
        "colon": colon,
        "long_zone": long_zone,
        "sign": sign,
        "zone_hours": zone_hours,
        "zone_minutes": zone_minutes,
        "date_only": date_only,
        "compact": compact,
        "minutes_only": minutes_only,
        "with_time": with_time,
        "has_fraction": has_fraction,
        "zoned": zoned,
        "in_utc": in_utc,
    }


def _plain_instants(shape: dict[str, Any], zone: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC microseconds (0 where not parsed) and the parsed mask, from :func:`_plain_shape`'s
    flags and fields (a flag may be one value for all rows)."""
    year, month, day = shape["year"], shape["month"], shape["day"]
    date_only, compact, with_time = shape["date_only"], shape["compact"], shape["with_time"]
    zoned, in_utc, sign = shape["zoned"], shape["in_utc"], shape["sign"]
    zone_hours, zone_minutes = shape["zone_hours"], shape["zone_minutes"]
    hour = np.where(date_only | compact, 0, shape["hour"])
    minute = np.where(date_only | compact, 0, shape["minute"])
    second = np.where(with_time, shape["second"], 0)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + ((month == 2) & leap)
    seconds = _days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
    offset = np.where(zoned, (zone_hours * 3_600 + zone_minutes * 60) * np.where(sign == ord("-"), -1, 1), 0)
    good = (date_only | compact | shape["minutes_only"] | with_time) & (year >= 1000) & (month >= 1) & (month <= 12)
    good &= (day >= 1) & (day <= month_days) & (hour <= 23) & (minute <= 59) & (second <= 59) & (zone_minutes <= 59)
    # a value with an offset is refused before the year 1000 in UTC, as the formats do
    good &= ~zoned | (seconds - offset >= _YEAR_1000)
    utc = np.where(good, seconds - offset, 0) * 1_000_000  # other rows may hold any bytes
    naive = np.flatnonzero(good & ~zoned & ~in_utc)
    if len(naive) and zone != "UTC":
        local = pa.array(utc[naive], pa.timestamp("us"))
        utc[naive] = pc.cast(to_utc(local, zone), pa.int64()).to_numpy()
    return np.where(good, utc + np.where(shape["has_fraction"], shape["fraction"], 0), 0), good


_SHAPE_FLAGS = (
    "digits end colon long_zone sign date_only compact minutes_only with_time has_fraction zoned in_utc".split()
)
"""The entries of :func:`_plain_shape` that depend only on a value's shape."""


def _one_shape(text: pa.Array, zone: str) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_plain_forms` for an array whose values are all written in one plain shape, else None.

    When every value is present, has the same length, digits at the same places and the
    same other bytes as the first, every shape flag of :func:`_plain_shape` is the first
    value's (the flags depend on nothing else). The bytes are then one matrix (a row per
    value) and the fields are read from its columns at the places the shape gives, with
    no per-value look-ups; :func:`_plain_instants` checks the ranges as for any value.
    A machine-written column (an export, a log) is usually like this.
    """
    n = len(text)
    data_buffer = text.buffers()[2]
    if n < 2 or text.null_count or data_buffer is None:
        return None
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=text.offset + n + 1)[text.offset :]
    width = int(offsets[1] - offsets[0])
    if not 8 <= width <= _PLAIN_WIDTH or not (np.diff(offsets) == width).all():
        return None
    base = int(offsets[0])
    cells = np.frombuffer(data_buffer, dtype=np.uint8)[base : base + n * width].reshape(n, width)
    is_digit = (cells - np.uint8(ord("0"))) < 10  # bytes below '0' wrap round to large values
    digit_at = is_digit[0]
    if not (is_digit == digit_at).all() or not (cells[:, ~digit_at] == cells[0, ~digit_at]).all():
        return None
    first = np.zeros((1, _PLAIN_WIDTH), dtype=np.uint8)
    first[0, :width] = cells[0]
    shape = {name: value[0] for name, value in _plain_shape(first, np.array([width])).items() if name in _SHAPE_FLAGS}
    timed = bool(shape["minutes_only"] | shape["with_time"])
    if not (timed or shape["date_only"] or shape["compact"]):
        return None  # no value is in a plain shape

    def number(at: int, digits: int) -> np.ndarray:
        value = np.zeros(n, dtype=np.int64)
        for k in range(at, at + digits):
            value = value * 10 + cells[:, k] - ord("0")
        return value

    zero = np.zeros(n, dtype=np.int64)
    compact, zoned = bool(shape["compact"]), bool(shape["zoned"])
    shape["year"] = number(0, 4)
    shape["month"] = number(4, 2) if compact else number(5, 2)
    shape["day"] = number(6, 2) if compact else number(8, 2)
    shape["hour"] = number(11, 2) if timed else zero
    shape["minute"] = number(14, 2) if timed else zero
    shape["second"] = number(17, 2) if shape["with_time"] else zero
    kept = min(int(shape["digits"]), 6) if shape["has_fraction"] else 0  # the microseconds, padded
    shape["fraction"] = number(20, kept) * 10 ** (6 - kept)
    end = int(shape["end"])
    shape["zone_hours"] = number(end + 1, 2) if zoned else zero
    long_zone = zoned and bool(shape["long_zone"])
    shape["zone_minutes"] = number(end + 4 if shape["colon"] else end + 3, 2) if long_zone else zero
    return _plain_instants(shape, zone)


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant, "chrono-compatible
    low-level date algorithms", days_from_civil); years from 0 on."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _strptime_strict(text: pa.Array, fmt: str) -> pa.Array:
    """strptime that refuses impossible days (Arrow rolls 2024-02-30 over to 1 March) and short years.

    Only a parse landing on day 1-3 can be a roll-over; those rows are formatted back
    and compared with the text (leading zeros and letter case ignored).
    """
    parsed = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
    raw = parsed
    if "%Y" in fmt:  # Arrow reads '1/2/3' as year 1: a year has four digits
        parsed = pc.if_else(pc.fill_null(pc.greater_equal(pc.year(parsed), 1000), True), parsed, None)
    if "%d" not in fmt and "%e" not in fmt:
        return parsed
    local_fmt, local_text = fmt, text
    if "%z" in fmt:
        local_fmt = fmt.replace("%z", "")
        local_text = pc.replace_substring_regex(text, r"(?:[Zz]|[+-]\d{2}:?\d{2})$", "")
        local = pc.strptime(local_text, format=local_fmt, unit="us", error_is_null=True)
    else:
        local = raw  # without a zone the wall-clock parse is the parse itself: not parsed twice
    candidates = pc.fill_null(pc.less_equal(pc.day(local), 3), False)
    if not pc.any(candidates).as_py():
        return parsed
    index = pc.indices_nonzero(candidates)
    seconds = pc.cast(pc.take(local, index), pa.timestamp("s"), safe=False)  # %S has no fraction
    back = pc.strftime(seconds, format=local_fmt)
    same = pc.equal(_fold(back), _fold(pc.take(local_text, index)))
    bad = pc.filter(index, pc.invert(same)).to_numpy()
    if len(bad) == 0:
        return parsed
    mask = np.zeros(len(text), dtype=bool)
    mask[bad] = True
    return pc.if_else(pa.array(mask), pa.scalar(None, parsed.type), parsed)


def _fold(text: pa.Array) -> pa.Array:
    return pc.utf8_lower(pc.replace_substring_regex(text, r"(^|\D)0+(\d)", r"\1\2"))


def to_utc(ts: pa.Array, zone: str = "UTC") -> pa.Array:
    """Timestamps in UTC: naive values are read as wall-clock times in ``zone`` (an IANA name)."""
    if ts.type.tz is None:
        ts = pc.assume_timezone(ts, timezone=zone, ambiguous="earliest", nonexistent="earliest")
    return pc.cast(ts, _UTC)


def _combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _blank_is_null(arr: pa.Array) -> pa.Array:
    text = pc.utf8_trim_whitespace(pc.cast(arr, pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _first_bad(source: str, column: str, values: pa.Array, bad: pa.Array, rule: str, first_row: int) -> InputError:
    positions = pc.indices_nonzero(bad).to_pylist()
    first = positions[0]
    where = f"{source}: " if source else ""
    return InputError(
        f"{where}column {column!r}: {len(positions)} value(s) are not {rule} "
        f"(first: row {first + first_row}, value {values[first].as_py()!r})"
    )


def parse_dates(
    values: pa.Array | pa.ChunkedArray,
    *,
    column: str,
    source: str = "",
    date_format: str | None = None,
    first_row: int = 1,
) -> pa.Array:
    """A column of dates as UTC timestamps (naive values are taken as UTC); nulls stay null.

    Accepts timestamps, dates, whole ``YYYYMMDD`` numbers, and text in any form of
    :data:`DATE_FORMATS`, or in ``date_format`` (a ``strptime`` format) when given. Blank
    text is null.

    Parameters
    ----------
    first_row
        The row number to report for ``values[0]`` (2 for a file with a header line).

    Raises
    ------
    InputError
        Naming ``source``, the column, how many values fail, the first failing row and value.
    """
    arr = _combined(values)
    kind = arr.type
    if pa.types.is_timestamp(kind):
        return pc.cast(arr, _UTC) if kind.tz is not None else pc.cast(arr, pa.timestamp("us")).cast(_UTC)
    if pa.types.is_date(kind):
        return pc.cast(pc.cast(arr, pa.timestamp("us")), _UTC)
    if pa.types.is_floating(kind):
        bad = pc.invert(pc.fill_null(pc.equal(pc.floor(arr), arr), True))
        if pc.any(bad).as_py():
            raise _first_bad(source, column, arr, bad, "whole YYYYMMDD numbers", first_row)
        arr = pc.cast(arr, pa.int64())
        kind = arr.type
    if not (pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        where = f"{source}: " if source else ""
        raise InputError(f"{where}column {column!r} has type {kind}; expected dates ({DATE_FORMS})")
    text = _blank_is_null(arr)
    formats = (check_date_format(date_format),) if date_format else DATE_FORMATS
    parsed = strptime_any(text, formats)
    bad = pc.and_(pc.is_valid(text), pc.is_null(parsed))
    if pc.any(bad).as_py():
        rule = (
            f"dates in the format {date_format!r}"
            if date_format
            else f"dates (expected {DATE_FORMS}; give 'date_format' for other forms)"
        )
        raise _first_bad(source, column, text, bad, rule, first_row)
    return parsed


def parse_amounts(values: pa.Array | pa.ChunkedArray, *, column: str, source: str = "", first_row: int = 1) -> pa.Array:
    """A column of amounts as float64: numbers pass, text must hold plain decimal numbers.

    Raises
    ------
    InputError
        Naming ``source``, the column, how many values fail, the first failing row and value.
    """
    arr = _combined(values)
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type):
        return pc.cast(arr, pa.float64())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        where = f"{source}: " if source else ""
        raise InputError(f"{where}column {column!r} has type {arr.type}; expected amounts (numbers)")
    text = _blank_is_null(arr)
    number = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
    bad = pc.and_(pc.is_valid(text), pc.invert(pc.match_substring_regex(text, number)))
    if pc.any(bad).as_py():
        raise _first_bad(source, column, text, bad, "numbers (like 12.5 or -3)", first_row)
    return pc.cast(text, pa.float64())


def parse_ids(values: pa.Array | pa.ChunkedArray, *, column: str, source: str = "", first_row: int = 1) -> pa.Array:
    """A column of customer ids as text, as written (leading zeros kept); none may be empty.

    Raises
    ------
    InputError
        When an id is missing or blank, naming the column and the first such row.
    """
    arr = _combined(values)
    text = pc.cast(arr, pa.string())
    missing = pc.is_null(_blank_is_null(text))
    if pc.any(missing).as_py():
        raise _first_bad(source, column, text, missing, "customer ids (empty)", first_row)
    return text


def check_column(columns: Iterable[str], name: str, parameter: str, source: str = "") -> None:
    """Refuse a column name that is not among ``columns``.

    Raises
    ------
    InputError
        ``tx.csv: no column 'custmer' (given as 'customer_col'); did you mean 'customer'?
        (columns: customer, d)``.
    """
    present = list(columns)
    if name not in present:
        where = f"{source}: " if source else ""
        raise InputError(
            f"{where}no column {name!r} (given as {parameter!r}){did_you_mean(name, present)} "
            f"(columns: {', '.join(present)})"
        )


# -- Ibis expressions ------------------------------------------------------------------------
def _check_converted(
    col: ir.Value, converted: ir.Value, name: str, *, rule: str, what: str, first_row: int | None = None
) -> None:
    """Raise when a non-blank value of ``col`` is null in ``converted`` (one aggregate query).

    ``data row`` in the message is the 1-based position among the table's rows (data row 1
    is the first row under a file's header line); with ``first_row`` (the number of the
    file's first data row: 2 under a header line) the message gives the file's ``row``.
    """
    import ibis

    from custlens.warehouse.compat import column_table

    t = column_table(col)
    blank = col.cast("string").strip() == ""
    rows = t.select(_v=col, _bad=col.notnull() & ~blank.fill_null(True) & converted.isnull(), _r=ibis.row_number() + 1)
    res = rows.aggregate(
        n=rows._bad.sum(),
        first=rows._r.min(where=rows._bad),
        value=rows._v.cast("string").argmin(rows._r, where=rows._bad),
    ).to_pyarrow()
    n = res["n"][0].as_py() or 0
    if n:
        first = res["first"][0].as_py()
        where = f"data row {first}" if first_row is None else f"row {first - 1 + first_row}"
        raise InputError(
            f"{what}: column {name!r}: {n} value(s) are not {rule} (first: {where}, value {res['value'][0].as_py()!r})"
        )


def _text_timestamps(text: ir.StringValue) -> ir.TimestampValue:
    """UTC timestamps from text in the portable forms: ISO (zone offsets converted), slashes, YYYYMMDD.

    Both engines cast ISO text to a timestamp in their session zone (UTC: DuckDB through
    Ibis, Spark as custlens requires), converting offsets; impossible days become null.
    """
    import ibis

    s = text.strip()
    compact = s.substr(0, 4) + "-" + s.substr(4, 2) + "-" + s.substr(6, 2)
    iso = ibis.ifelse(s.re_search(r"^\d{8}$"), compact, s.replace("/", "-"))
    return iso.try_cast("timestamp('UTC')")


def as_dates(col: ir.Value, name: str, *, what: str = "transactions", first_row: int | None = None) -> ir.DateValue:
    """A date column (UTC days) from dates, timestamps, text or ``YYYYMMDD`` integers, in the engine.

    Date and timestamp columns are used as they are, at no cost. Text (ISO dates and
    date-times, with ``T`` or a space, fractions of a second and zone offsets, which are
    converted to UTC; ``2024/01/31``; ``20240131``) and whole ``YYYYMMDD`` numbers are
    converted by the engine, then checked in one query (blank text is null).

    ``first_row`` (the number of a file's first data row, 2 under a header line) makes
    messages name the file's row instead of the data row.

    Raises
    ------
    InputError
        When a value is not a date: names ``what``, the column, how many fail, the first
        row and its value; or when the column's type cannot hold dates.
    """
    typ = col.type()
    if typ.is_null():  # a column without values (a header-only file): nothing to convert or check
        return col.cast("date")
    if typ.is_date():
        return col
    if typ.is_timestamp():
        return col.date()
    if not (typ.is_string() or typ.is_integer()):
        raise InputError(f"{what}: column {name!r} has type {typ}; expected dates ({DATE_FORMS})")
    day = _text_timestamps(col.cast("string")).date()
    _check_converted(col, day, name, rule=f"dates (expected {DATE_FORMS})", what=what, first_row=first_row)
    return day


def as_numbers(
    col: ir.Value, name: str, *, what: str = "transactions", first_row: int | None = None
) -> ir.FloatingValue:
    """A float64 column from a numeric column, or from text holding numbers, in the engine.

    Numeric columns are only cast, at no cost; text is converted and checked in one query
    (blank text is null).

    ``first_row`` (the number of a file's first data row, 2 under a header line) makes
    messages name the file's row instead of the data row.

    Raises
    ------
    InputError
        When a value is not a number (names ``what``, the column, the first row and value),
        or when the column's type cannot hold numbers.
    """
    typ = col.type()
    if typ.is_null():  # a column without values (a header-only file): nothing to convert or check
        return col.cast("float64")
    if typ.is_numeric() and not typ.is_boolean():
        return col.cast("float64")
    if not typ.is_string():
        raise InputError(f"{what}: column {name!r} must hold numbers; it has type {typ}")
    num = col.try_cast("float64")
    _check_converted(col, num, name, rule="numbers (like 12.5 or -3)", what=what, first_row=first_row)
    return num


def typed(
    table: ir.Table, *, dates: Iterable[str | None] = (), numbers: Iterable[str | None] = (), what: str = "transactions"
) -> ir.Table:
    """``table`` with the named columns converted to dates / float64 where they are not typed yet.

    Columns already of a date, timestamp or numeric type are left as they are (no query
    runs); ``None`` and names the table lacks are skipped (the callers check required
    columns with their own messages).
    """
    changes: dict[str, ir.Value] = {}
    for name in dates:
        if name and name in table.columns and not (table[name].type().is_date() or table[name].type().is_timestamp()):
            changes[name] = as_dates(table[name], name, what=what)
    for name in numbers:
        if name and name in table.columns:
            typ = table[name].type()
            if not typ.is_numeric() or typ.is_boolean():
                changes[name] = as_numbers(table[name], name, what=what)
    return table.mutate(**changes) if changes else table
