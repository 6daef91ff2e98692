"""The fast path of ``strptime_any`` gives exactly what the date forms give.

``strptime_any`` reads values written in a plain shape of ``DATE_FORMATS`` from their bytes
(``coerce._plain_forms``) and hands every other value to the forms, each form trying only
the values no earlier form fitted. The reference here is the rule itself, as the parser
applied it before the fast path: every form over every value, in order, the first that
fits winning per value (``_every_form``). Generated texts mix every shape with fields in
and out of range, fractions of 0 to 11 digits, offsets, stray characters, blanks and nulls;
the results (instants and nulls) must be identical in several zones.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens.features import coerce
from custlens.features.coerce import DATE_FORMATS, strptime_any

ZONES = ("UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe")


def _every_form(text: pa.Array, zone: str) -> pa.Array:
    """The reference: each form parses the whole array, in order; the first fit per value wins."""
    fraction = pc.struct_field(pc.extract_regex(text, r"\d{2}:\d{2}:\d{2}[.,](?P<f>\d{1,9})"), "f")
    micros = pc.cast(pc.utf8_slice_codeunits(pc.utf8_rpad(fraction, 6, "0"), 0, 6), pa.int64())
    text = pc.replace_substring_regex(text, r"(\d{2}:\d{2}:\d{2})[.,]\d{1,9}", r"\1")
    result = pa.nulls(len(text), pa.timestamp("us", tz="UTC"))
    for fmt in DATE_FORMATS:
        result = pc.coalesce(result, coerce.to_utc(coerce._strptime_strict(text, fmt), zone))
    return pc.add(result, pc.cast(pc.fill_null(micros, 0), pa.duration("us")))


SHAPES = (
    "{Y}-{m}-{d}",
    "{Y}-{m}-{d} {H}:{M}",
    "{Y}-{m}-{d}T{H}:{M}",
    "{Y}-{m}-{d} {H}:{M}:{S}{f}{z}",
    "{Y}-{m}-{d}T{H}:{M}:{S}{f}{z}",
    "{Y}/{m}/{d}",
    "{Y}/{m}/{d} {H}:{M}",
    "{Y}/{m}/{d} {H}:{M}:{S}{f}{z}",
    "{Y}{m}{d}",
    "{Y}/{m}/{d}T{H}:{M}:{S}",
    "{Y}-{m}-{d} {H}:{M}{z}",
    "{Y}-{m}-{d}t{H}:{M}:{S}",
    "{Y}.{m}.{d}",
)
"""The plain shapes, and a few near them that no form (or only a slower one) reads."""
FRACTIONS = ("", ".5", ",25", ".123456", ".1234567", ".123456789", ".1234567891", ".", ",")
ZONE_MARKS = ("", "Z", "+08:00", "-05:00", "+0530", "-14", "+14:00", "+99:59", "+08:60", "+8:00", " +08:00", "z", "UTC")
BROKEN = {
    "Y": ("0999", "0000", "999", "12345", "9999", "1000"),
    "m": ("00", "13", "1", "99", "12"),
    "d": ("00", "29", "30", "31", "32", "1"),
    "H": ("24", "7", "99", "23"),
    "M": ("60", "5", "59"),
    "S": ("60", "61", "5", "59"),
}
"""Values at or beyond the ends of each field, or not two (four) digits."""
INSTANTS = st.datetimes(dt.datetime(1000, 1, 1), dt.datetime(2100, 12, 31, 23, 59, 59))


def _clock_fields(when: dt.datetime) -> dict[str, str]:
    """The zero-padded year, month, day, hour, minute and second of ``when`` by format letter."""
    return {
        "Y": f"{when.year:04d}",
        "m": f"{when.month:02d}",
        "d": f"{when.day:02d}",
        "H": f"{when.hour:02d}",
        "M": f"{when.minute:02d}",
        "S": f"{when.second:02d}",
    }


@st.composite
def date_texts(draw: st.DrawFn) -> str | None:
    """A real date-time in one of the shapes, often with one field broken, sometimes a stray character."""
    # Hypothesis favours the first choice of a list: a date, with nothing broken or added
    kind = draw(st.sampled_from(["date"] * 28 + ["null", "other"]))
    if kind == "null":
        return None
    if kind == "other":
        return draw(st.sampled_from(["", " ", "soon", "31/01/2024", "2024-01", "1/2/3", "２０２４-01-31"]))
    fields = {
        **_clock_fields(draw(INSTANTS)),
        "f": draw(st.sampled_from(FRACTIONS)),
        "z": draw(st.sampled_from(ZONE_MARKS)),
    }
    broken = draw(st.sampled_from([None, None, *BROKEN]))
    if broken is not None:
        fields[broken] = draw(st.sampled_from(BROKEN[broken]))
    text = draw(st.sampled_from(SHAPES)).format(**fields)
    text = draw(st.sampled_from([""] * 15 + [" ", "x", "年"])) + text
    return text + draw(st.sampled_from([""] * 15 + [" ", "x", "0", "年"]))


def _same(texts: list[str | None], zone: str) -> None:
    text = pa.array(texts, pa.string())
    got, want = strptime_any(text, DATE_FORMATS, zone), _every_form(text, zone)
    assert got.type == want.type
    bad = [i for i, (a, b) in enumerate(zip(got.cast(pa.int64()), want.cast(pa.int64()), strict=True)) if a != b]
    assert not bad, [(texts[i], got[i], want[i]) for i in bad[:5]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(date_texts(), min_size=20, max_size=80), st.sampled_from(ZONES))
def test_fast_path_gives_what_the_forms_give(texts: list[str | None], zone: str) -> None:
    _same(texts, zone)


@pytest.mark.parametrize("zone", ZONES)
def test_edges_of_the_plain_shapes(zone: str) -> None:
    texts = [
        "1000-01-01T00:30:00+01:00",  # the year 999 in UTC: refused, as the %z forms refuse it
        "1000-01-01 00:30:00",  # a local time: the local year counts
        "9999-12-31T23:59:59-14:00",
        "2024-02-29",
        "2023-02-29",
        "2100-02-29",
        "2000-02-29 12:00",
        "2024-04-31",
        "2024-12-31 23:59:59.999999999Z",
        "2024-12-31 23:59:59.9999999999",
        "2024-12-31 23:59:59.",
        "2024-12-31 23:59:60",
        "2024-12-31 24:00:00",
        "2024-01-31 10:00:00+08:60",
        "2024-01-31 10:00:00+99:59",
        "2024-01-31T10:00Z",
        "2024/01/31 10:00:00Z",
        "2024/01/31 10:00:00+08:00",
        "2024-01-31 10:00+08:00",
        "2024-01-31+08:00",
        "2024/01/31T10:00:00",
        "2024/01/31 10:00:00,5",
        "20240229",
        "20230229",
        "2024-03-10 02:30:00",  # a skipped hour in New York
        "2024-11-03 01:30:00",  # a repeated hour in New York
        "2024-10-06 02:15",  # Lord Howe moves by half an hour
        None,
        "",
    ]
    _same(texts, zone)


def test_sliced_and_long_arrays() -> None:
    """Array offsets (a slice of a batch) and arrays longer than one chunk of the fast path."""
    base = ["2024-10-24 07:07:44.049626Z", "2024-01-31", None, "bad", "2024/01/31 10:00", "20240131"]
    text = pa.array(base * 50)
    for piece in (text.slice(1), text.slice(7, 100), text.slice(len(text) - 1)):
        _same(piece.to_pylist(), "Asia/Shanghai")
    many = pa.array(base * (coerce._CHUNK // len(base) + 2))
    got = strptime_any(many, DATE_FORMATS, "Europe/Berlin")
    assert got.equals(_every_form(many, "Europe/Berlin"))
    large = strptime_any(pa.array(base, pa.large_string()))
    assert large.equals(strptime_any(pa.array(base)))


def test_other_formats_try_each_form_on_what_is_left() -> None:
    """A value that two formats fit gets the first one's reading (the rule is per value)."""
    text = pa.array(["01/02/2024", "13/02/2024", "2024-02-01", None, "x"])
    got = strptime_any(text, ("%m/%d/%Y", "%d/%m/%Y", "%Y-%m-%d")).to_pylist()
    utc = dt.UTC
    assert got == [
        dt.datetime(2024, 1, 2, tzinfo=utc),
        dt.datetime(2024, 2, 13, tzinfo=utc),
        dt.datetime(2024, 2, 1, tzinfo=utc),
        None,
        None,
    ]


def test_plain_values_never_reach_the_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo company's timestamps and the plain ISO forms are read by the fast path alone."""
    tried: list[int] = []
    original = coerce._forms_in_order

    def counting(text: pa.Array, formats: object, zone: str) -> pa.Array:
        tried.append(len(text))
        return original(text, formats, zone)  # type: ignore[arg-type]

    monkeypatch.setattr(coerce, "_forms_in_order", counting)
    plain = ["2024-10-24 07:07:44.049626Z", "2024-01-31", "2024-01-31T10:00:00+08:00", "2024/01/31 10:00", "20240131"]
    assert strptime_any(pa.array(plain)).null_count == 0
    assert tried == []
    strptime_any(pa.array([*plain, "2024-1-31"]))
    assert tried == [1]
    assert np.all(np.array(tried) == 1)


@st.composite
def one_shape_texts(draw: st.DrawFn) -> list[str]:
    """Values all written in one shape (same fraction length and zone mark), fields often out of range."""
    shape = draw(st.sampled_from(SHAPES))
    fraction, mark = draw(st.sampled_from(FRACTIONS)), draw(st.sampled_from(ZONE_MARKS))
    broken = draw(st.sampled_from([None, *BROKEN]))
    texts = []
    for _ in range(draw(st.integers(2, 40))):
        fields = {
            **_clock_fields(draw(INSTANTS)),
            "f": fraction[:1] + "".join(draw(st.sampled_from("0123456789")) for _ in fraction[1:]),
            "z": mark,
        }
        if broken is not None and draw(st.booleans()):
            width = len(fields[broken])
            fields[broken] = draw(st.sampled_from([v for v in BROKEN[broken] if len(v) == width] or [fields[broken]]))
        texts.append(shape.format(**fields))
    return texts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_shape_texts(), st.sampled_from(ZONES))
def test_one_shape_gives_what_the_forms_give(texts: list[str], zone: str) -> None:
    """A column written in one shape (the usual export) is read from its byte matrix
    (``coerce._one_shape``); fields out of range still go to the forms."""
    text = pa.array(texts, pa.string())
    one = coerce._one_shape(text, zone)
    plain = coerce._plain_forms(text, zone)
    if one is not None:
        assert np.array_equal(one[0], plain[0]) and np.array_equal(one[1], plain[1])
    _same(texts, zone)
    _same(texts[1:], zone)  # an array with an offset


def test_one_shape_is_taken_only_for_one_shape() -> None:
    same = pa.array(["2024-10-24 07:07:44.049626Z", "2023-01-02 03:04:05.000001Z"])
    assert coerce._one_shape(same, "UTC") is not None
    for other in (
        ["2024-10-24 07:07:44.049626Z", "2023-01-02 03:04:05,000001Z"],  # another literal byte
        ["2024-10-24 07:07:44.049626Z", "2023-01-02 03:04:05.00000xZ"],  # a letter for a digit
        ["2024-10-24 07:07:44.049626Z", "2023-01-02 03:04:05.00001Z"],  # another length
        ["2024-10-24 07:07:44.049626Z", None],
        ["31/01/2024 10:00", "28/02/2024 11:00"],  # one shape, but not a plain one
    ):
        assert coerce._one_shape(pa.array(other, pa.string()), "UTC") is None
