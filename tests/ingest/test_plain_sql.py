"""The one-pass import of plain files (``custlens.ingest.plain``) agrees with the Arrow rules.

Two levels:

* values: for every text a plain form accepts, the SQL conversion the one-pass insert
  runs (built by ``plain._convert``) equals what the Arrow rule of ``clean`` gives, bit for
  bit (Hypothesis: texts generated from each plain form's own regular expression, days
  that do not exist included; DuckDB must then refuse them as the formats do);
* files: a plain file is read, checked and inserted in one pass; a file with anything
  outside the plain forms (each kind below) takes the usual path; in both cases the rows
  (in order), the report, the ledger and the quarantine are those of the usual path.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import struct
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.errors import InputError, RejectedImportError
from custlens.features.coerce import PLAIN_TIMESTAMP_NAIVE, PLAIN_TIMESTAMP_ZONED
from custlens.ingest import import_file, importer, plain
from custlens.ingest.clean import _PARSERS, PLAIN_DECIMAL, PLAIN_INTEGER, plain_bool_words
from custlens.ingest.mapping import DEFAULT_FALSE_VALUES, DEFAULT_TRUE_VALUES, ImportMapping
from custlens.ingest.plan import ImportPlan, TargetPlan
from custlens.ingest.sources import SourceInfo, inspect_source, read_header
from custlens.schema import Column
from custlens.schema import table as schema_table
from custlens.warehouse import Workspace

MAPPING = ImportMapping()
PLAN = ImportPlan(table=schema_table("transactions"), targets=(), ignored=())


def _sql(kind: str, texts: list[str], zone: str = "UTC") -> tuple[list[Any], list[bool]]:
    """The one-pass conversion of ``texts`` as a column of ``kind``: (values, plain form)."""
    target = TargetPlan(Column("x", kind, ""), source="x", timezone=zone)
    value, form, _ = plain._convert(target, '"t"', '"x"', MAPPING, PLAN, tab=False)
    con = duckdb.connect()
    source = pa.table({"t": pa.array(texts, pa.string())})  # noqa: F841 - read by DuckDB by name
    if kind == "timestamp('UTC')":
        value = f"epoch_us({value})"  # microseconds since 1970 in UTC
    rows = con.execute(f"SELECT {value}, {form} FROM source").fetchall()
    return [r[0] for r in rows], [bool(r[1]) for r in rows]


def _arrow(kind: str, texts: list[str], zone: str = "UTC") -> tuple[pa.Array, list[bool]]:
    target = TargetPlan(Column("x", kind, ""), source="x", timezone=zone)
    values, bad, _ = _PARSERS[kind](pa.array(texts, pa.string()), target, MAPPING)
    return values, ([False] * len(texts) if bad is None else pc.fill_null(bad, False).to_pylist())


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


DECIMALS = st.from_regex(rf"\A{PLAIN_DECIMAL}\Z")
INTEGERS = st.from_regex(rf"\A{PLAIN_INTEGER}\Z")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(DECIMALS, st.sampled_from(["-0", "-0.0", "0.1", "9" * 15 + "." + "9" * 30])), max_size=40))
def test_plain_decimals_read_as_arrow_reads_them(texts: list[str]) -> None:
    values, form = _sql("float64", texts)
    expected, bad = _arrow("float64", texts)
    assert all(form) and not any(bad)
    assert [_bits(v) for v in values] == [_bits(v) for v in expected.to_pylist()]  # -0.0 too


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(INTEGERS, st.sampled_from(["-0", "007", "9" * 15, "-" + "9" * 15])), max_size=40))
def test_plain_integers_read_as_arrow_reads_them(texts: list[str]) -> None:
    values, form = _sql("int64", texts)
    expected, bad = _arrow("int64", texts)
    assert all(form) and not any(bad)
    assert values == expected.to_pylist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(plain_bool_words((*DEFAULT_TRUE_VALUES, *DEFAULT_FALSE_VALUES))), max_size=30))
def test_plain_yes_no_words_read_as_arrow_reads_them(texts: list[str]) -> None:
    values, form = _sql("boolean", texts)
    expected, bad = _arrow("boolean", texts)
    assert all(form) and not any(bad)
    assert values == expected.to_pylist()


def test_other_yes_no_texts_are_not_plain() -> None:
    _, form = _sql("boolean", ["tRUE", "oui", " true", "true ", "2", ""])
    assert not any(form)


ZONED = st.from_regex(rf"\A{PLAIN_TIMESTAMP_ZONED}\Z")
NAIVE = st.from_regex(rf"\A{PLAIN_TIMESTAMP_NAIVE}\Z")
REAL_DAYS = st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 30))


@st.composite
def _real_zoned(draw: st.DrawFn) -> str:
    """Zoned plain timestamps of days that exist (the regex alone mostly draws impossible days)."""
    when = draw(REAL_DAYS)
    text = when.strftime(draw(st.sampled_from(["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"])))
    digits = draw(st.integers(0, 6))
    if digits:
        text += "." + f"{when.microsecond:06d}"[:digits]
    zone = draw(st.sampled_from(["Z", "+08:00", "-05:30", "+14:00", "-14:00", "+00:00", "-00:00", "+13:59"]))
    return text + zone


@st.composite
def _real_naive(draw: st.DrawFn) -> str:
    when = draw(REAL_DAYS)
    form = draw(
        st.sampled_from(["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"])
    )
    text = when.strftime(form)
    digits = draw(st.integers(0, 6)) if form.endswith("%S") else 0
    return text + ("." + f"{when.microsecond:06d}"[:digits] if digits else "")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(ZONED, _real_zoned(), NAIVE, _real_naive()), max_size=30))
def test_plain_timestamps_read_as_the_formats_read_them(texts: list[str]) -> None:
    values, _ = _sql("timestamp('UTC')", texts)
    expected, bad = _arrow("timestamp('UTC')", texts)
    arrow = pc.cast(expected, pa.int64()).to_pylist()
    for text, got, want, refused in zip(texts, values, arrow, bad, strict=True):
        if got is None:  # not a real day: not plain (the file falls back); the formats agree
            assert want is None and refused, text
        else:
            assert got == want and not refused, text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(ZONED, _real_zoned(), NAIVE, _real_naive()), max_size=30))
def test_in_another_zone_only_zoned_timestamps_are_plain(texts: list[str]) -> None:
    values, _ = _sql("timestamp('UTC')", texts, zone="Asia/Shanghai")
    expected, _ = _arrow("timestamp('UTC')", texts, zone="Asia/Shanghai")
    arrow = pc.cast(expected, pa.int64()).to_pylist()
    for text, got, want in zip(texts, values, arrow, strict=True):
        if got is not None:
            assert text[-1] == "Z" or text[-6] in "+-"
            assert got == want, text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(NAIVE, _real_naive()), max_size=30))
def test_plain_dates_read_as_the_formats_read_them(texts: list[str]) -> None:
    values, _ = _sql("date", texts)
    expected, bad = _arrow("date", texts)
    for text, got, want, refused in zip(texts, values, expected.to_pylist(), bad, strict=True):
        if got is None:
            assert want is None and refused, text
        else:
            assert got == want and not refused, text


def test_texts_near_the_plain_forms_are_not_plain() -> None:
    near = ["1e5", "+1", ".5", "5.", "1,000", " 1", "1 ", "inf", "nan", "1" * 16, "0x10", "1_000", "(1)"]
    assert not any(_sql("float64", near)[1])
    assert not any(_sql("int64", ["1.0", "1" * 16, "+1", "1e3", " 1"])[1])
    stamps = [
        "2024-01-31 10:00:00+15:00",  # beyond 14 hours: rejected by the Arrow rules
        "2024-01-31 10:00:00.1234567Z",  # seven digits
        "2024-01-31 10:00:00,5Z",
        "2024-01-31 10:00Z",
        "2024-01-31 24:00:00",
        "0999-01-31",
        "2024-1-31",
        "2024/01/31",
        "20240131",
        "2024-01-31 10:00:00 Asia/Shanghai",
        "infinity",
        "2024-01-31 10:00:00+0800",
    ]
    assert _sql("timestamp('UTC')", stamps)[0] == [None] * len(stamps)


def _shapes() -> list[str]:
    """One zoned plain timestamp of each shape: both separators, 0 to 6 digits of a
    second, ``Z`` and offsets (the largest, +/-14:00, among them)."""
    return [
        f"2024-10-24{separator}07:07:44" + ("." + "049626"[:digits] if digits else "") + zone
        for separator in " T"
        for digits in range(7)
        for zone in ("Z", "+08:00", "-05:30", "+14:00", "-14:00", "+13:59")
    ]


_CONTROL = {*map(chr, range(0x20)), "\x7f"}
_NEAR = [chr(b) for b in range(0x80)] + ["é", "٣", "０", "\u00a0", "\u3000"]
_PAIRED = "0123456789 -+.:TZ/\t"
_EDGES = [
    "2024-10-24 24:00:00Z",
    "2024-10-24T24:00:00.000000+08:00",
    "2024-10-24 23:59:59.999999-14:00",
    "2024-10-24 23:59:60Z",
    "2024-10-24 00:00:00+14:01",
    "2024-10-24 00:00:00+15:00",
    "0999-10-24 07:07:44.049626Z",
    "1000-01-01 00:00:00.000000Z",
    "9999-12-31 23:59:59.999999Z",
    "+2024-10-24 07:07:44.049626Z",
    "2024-10-24 07:07:44.0496267Z",
    "2024-02-30 07:07:44.049626Z",
]


def _near(shape: str, *, pairs: bool) -> list[str]:
    """Texts one character away from ``shape`` (each position replaced by every ASCII
    character and some others, removed, or a digit or space added), and with ``pairs``
    two characters away (each pair of positions replaced by digits and the characters a
    timestamp is made of)."""
    texts = [shape, *_EDGES]
    for i in range(len(shape)):
        texts += [shape[:i] + c + shape[i + 1 :] for c in _NEAR]
        texts += [shape[:i] + shape[i + 1 :], shape[:i] + "0" + shape[i:], shape[:i] + " " + shape[i:]]
    if pairs:
        for i in range(len(shape)):
            for j in range(i + 1, len(shape)):
                texts += [shape[:i] + a + shape[i + 1 : j] + b + shape[j + 1 :] for a in _PAIRED for b in _PAIRED]
    return texts


def _gated_differently(shape: str, texts: list[str], *, tab: bool, zone: str = "UTC") -> list[str]:
    """The texts whose conversion differs with the gate of ``shape`` and without it."""
    target = TargetPlan(Column("x", "timestamp('UTC')", ""), source="x", timezone=zone)
    without, _, _ = plain._convert(target, '"t"', '"x"', MAPPING, PLAN, tab=tab)
    gated, _, _ = plain._convert(target, '"t"', '"x"', MAPPING, PLAN, tab=tab, sample=shape)
    assert gated != without  # every shape has its gate
    absent = _CONTROL - {"\t"} if tab else _CONTROL  # bytes a file taking one pass cannot hold
    source = pa.table({"t": [t for t in texts if not absent & set(t)]})  # noqa: F841 - read by DuckDB
    query = f"SELECT t FROM source WHERE ({gated}) IS DISTINCT FROM ({without}) LIMIT 5"
    return [row[0] for row in duckdb.connect().execute(query).fetchall()]


@pytest.mark.parametrize("shape", _shapes())
def test_the_gate_of_a_shape_reads_the_texts_near_it_as_the_regex_does(shape: str) -> None:
    """Files hold no control byte but tabs (checked when there are some): the insert
    never runs on the others (a quoted line feed: fewer rows than lines)."""
    texts = _near(shape, pairs=shape.endswith(("44Z", "44.049626Z", "44+08:00", "44.049-05:30")))
    assert _gated_differently(shape, texts, tab=False) == []
    assert _gated_differently(shape, texts, tab=True) == []
    assert _gated_differently(shape, texts[:5000], tab=False, zone="Asia/Shanghai") == []


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_shapes()), st.lists(st.tuples(st.integers(0, 31), st.sampled_from(_NEAR)), max_size=4))
def test_the_gate_reads_texts_changed_anywhere_as_the_regex_does(shape: str, changes: list[tuple[int, str]]) -> None:
    text = list(shape)
    for at, char in changes:
        text[at % len(text)] = char
    assert _gated_differently(shape, ["".join(text)], tab="\t" in text) == []


def test_a_sample_outside_the_zoned_form_gives_no_gate() -> None:
    for sample in [
        None,
        "",
        "2024-10-24 07:07:44",
        "2024-10-24 07:07:44+15:00",
        " 2024-10-24 07:07:44Z",
        "0999-01-01 00:00:00Z",
    ]:
        assert plain.zoned_gate('"t"', sample, tab=False) is None
    assert plain.zoned_gate('"t"', "2024-10-24 07:07:44Z", tab=False) is not None


# -- files ------------------------------------------------------------------------------------
HEADER = "order_id,line,customer_id,ordered_at,ordered_tz,amount,cost,quantity,product_id,channel,return_flag\n"


def _plain_lines(n: int = 300) -> list[str]:
    lines = []
    for i in range(n):
        stamp = f"2024-0{1 + i % 9}-1{i % 10} 0{i % 10}:1{i % 10}:2{i % 10}" + (".123456Z" if i % 3 else "")
        amount = f"{(i * 37) % 1000 - 100}.{i % 100:02d}"
        flag = ["false", "true", "", "FALSE", "是"][i % 5]
        product = ['"P, quoted"', "NA", "", "plain", '"中文"'][i % 5]
        lines.append(
            f'"SO{i:05d}",{1 + i % 3},C{i % 17},{stamp},Asia/Shanghai,{amount},{i % 50}.5,{i % 4},{product},web,{flag}\n'
        )
    return lines


PLAIN_FILE = HEADER + "".join(_plain_lines())


def _import(folder: Path, path: Path, *, usual: bool, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> dict:
    """Import ``path`` into a fresh workspace (``usual``: the one-pass path switched off)."""
    with monkeypatch.context() as patch:
        if usual:
            patch.setattr(importer, "_load_plain", lambda *args, **kw: None)
        with Workspace.init(folder) as ws:
            for earlier in kwargs.pop("before", []):
                import_file(ws, earlier, table="transactions", max_reject_rate=1.0)
            try:
                report = import_file(ws, path, table="transactions", max_reject_rate=kwargs.pop("rate", 0.5), **kwargs)
                outcome: dict[str, Any] = {
                    k: v for k, v in report.to_dict().items() if k not in ("seconds", "quarantine_path", "path")
                }
                quarantine = report.quarantine_path
            except (RejectedImportError, InputError) as exc:  # refused: the same error, nothing stored
                outcome, quarantine = {"error": type(exc).__name__}, None
            outcome["rows"] = ws.raw.sql("SELECT * FROM transactions ORDER BY rowid").to_arrow_table().to_pylist()
            outcome["ledger"] = ws.raw.sql(
                "SELECT * EXCLUDE (imported_at, quarantine_path, source_path) FROM _import_ledger ORDER BY import_id"
            ).fetchall()
            files = sorted((folder / "quarantine").glob("*.csv"))
            outcome["quarantine"] = [f.read_text().replace(str(f), "") for f in files]
            outcome["has_quarantine"] = quarantine is not None
    return outcome


def _one_pass(caplog: pytest.LogCaptureFixture, path: Path) -> bool:
    """Whether an import of ``path`` was read, checked and inserted in one pass."""
    return any("one pass" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)


def _same_both_ways(tmp_path: Path, path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> dict:
    usual = _import(tmp_path / "usual", path, usual=True, monkeypatch=monkeypatch, **dict(kwargs))
    fast = _import(tmp_path / "fast", path, usual=False, monkeypatch=monkeypatch, **dict(kwargs))
    assert fast == usual
    return fast


def test_a_plain_file_is_imported_in_one_pass_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "plain.csv"
    path.write_text(PLAIN_FILE)
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        outcome = _same_both_ways(tmp_path, path, monkeypatch)
    assert _one_pass(caplog, path)
    assert outcome["rows_loaded"] == 300 and not outcome["has_quarantine"]
    assert [r["order_id"] for r in outcome["rows"]] == [f"SO{i:05d}" for i in range(300)]  # the file's order
    assert any(r["product_id"] is None for r in outcome["rows"])


def test_a_plain_file_without_a_last_line_feed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "plain.csv"
    path.write_text(PLAIN_FILE.rstrip("\n"))
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        _same_both_ways(tmp_path, path, monkeypatch)
    assert _one_pass(caplog, path)


def _replace_line(k: int, text: str) -> str:
    lines = PLAIN_FILE.splitlines(keepends=True)
    lines[k] = text
    return "".join(lines)


NOT_PLAIN = {
    "bad date": _replace_line(150, '"SO00149",1,C1,2024-02-30 10:00:00,UTC,1.5,1,1,p,web,false\n'),
    "date out of the window": _replace_line(290, '"SO00289",1,C1,1850-01-01,UTC,1.5,1,1,p,web,false\n'),
    "offset beyond 14 hours": _replace_line(5, '"SO00004",1,C1,2024-01-01 10:00:00+15:00,UTC,1.5,1,1,p,web,false\n'),
    "naive time of another form": _replace_line(7, '"SO00006",1,C1,2024/01/01 10:00,UTC,1.5,1,1,p,web,false\n'),
    "bad number": _replace_line(200, '"SO00199",1,C1,2024-01-01,UTC,abc,1,1,p,web,false\n'),
    "comma decimal": _replace_line(201, '"SO00200",1,C1,2024-01-01,UTC,"1,5",1,1,p,web,false\n'),
    "thousands": _replace_line(202, '"SO00201",1,C1,2024-01-01,UTC,"1,500.25",1,1,p,web,false\n'),
    "underscore between digits": _replace_line(203, '"SO00202",1,C1,2024-01-01,UTC,1_000,1,1,p,web,false\n'),
    "plus before minus": _replace_line(203, '"SO00202",1,C1,2024-01-01,UTC,+-1,1,1,p,web,false\n'),
    "infinite number": _replace_line(203, '"SO00202",1,C1,2024-01-01,UTC,1,-inf,1,p,web,false\n'),
    "number beyond a double": _replace_line(203, '"SO00202",1,C1,2024-01-01,UTC,1,1,1e400,p,web,false\n'),
    "whole number beyond 2^53": _replace_line(208, '"SO00207",1e16,C1,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "currency mark": _replace_line(204, '"SO00203",1,C1,2024-01-01,UTC,¥12.5,1,1,p,web,false\n'),
    "huge amount": _replace_line(205, '"SO00204",1,C1,2024-01-01,UTC,9999999999999999,1,1,p,web,false\n'),
    "missing required": _replace_line(206, '"SO00205",1,,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "negative line": _replace_line(207, '"SO00206",-1,C1,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "fractional line": _replace_line(208, '"SO00207",1.5,C1,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "yes/no word in odd case": _replace_line(209, '"SO00208",1,C1,2024-01-01,UTC,1,1,1,p,web,tRUE\n'),
    "not a yes/no word": _replace_line(210, '"SO00209",1,C1,2024-01-01,UTC,1,1,1,p,web,maybe\n'),
    "leading space": _replace_line(211, '"SO00210",1, C1,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "trailing space in quotes": _replace_line(212, '"SO00211",1,"C1 ",2024-01-01,UTC,1,1,1,p,web,false\n'),
    "doubled quote": _replace_line(213, '"SO00212",1,"C""1",2024-01-01,UTC,1,1,1,p,web,false\n'),
    "stray quote": _replace_line(214, 'SO00213,1,C"1,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "text after a closing quote": _replace_line(215, '"SO00214"x,1,C1,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "quoted line feed": _replace_line(216, '"SO00215",1,"C\n1",2024-01-01,UTC,1,1,1,p,web,false\n'),
    "control character": _replace_line(217, '"SO00216",1,C\x011,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "tab in a cell": _replace_line(218, '"SO00217",1,C1\t,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "no-break space": _replace_line(219, '"SO00218",1,C1\u00a0,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "ideographic space": _replace_line(220, '"SO00219",1,\u3000C1,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "too many fields": _replace_line(221, '"SO00220",1,C1,2024-01-01,UTC,1,1,1,p,web,false,extra\n'),
    "too few fields": _replace_line(222, '"SO00221",1,C1,2024-01-01,UTC,1,1,1,p,web\n'),
    "empty line": _replace_line(223, "\n"),
    "exact duplicate": _replace_line(224, _plain_lines()[10]),
    "key conflict": _replace_line(225, '"SO00010",2,C99,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "space before a quoted cell": _replace_line(226, '"SO00225",1, "C1",2024-01-01,UTC,1,1,1,p,web,false\n'),
    "space before a quoted number": _replace_line(228, '"SO00227",1,C1,2024-01-01,UTC, "1.5",1,1,p,web,false\n'),
    "space before empty quotes": _replace_line(229, '"SO00228",1,C1,2024-01-01,UTC,1,1,1, "",web,false\n'),
    "space before a quoted null word": _replace_line(230, '"SO00229",1,C1,2024-01-01,UTC,1,1,1, "NA",web,false\n'),
    "byte-order mark": "\ufeff" + PLAIN_FILE,
    "carriage returns": PLAIN_FILE.replace("\n", "\r\n"),
    "too many rejected": _replace_line(1, '"SO00000",1,C1,bad,UTC,1,1,1,p,web,false\n').replace(",web,", ",web ,"),
}


@pytest.mark.parametrize("kind", sorted(NOT_PLAIN))
def test_a_file_with_anything_not_plain_takes_the_usual_path_with_the_same_result(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "messy.csv"
    path.write_bytes(NOT_PLAIN[kind].encode())
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        _same_both_ways(tmp_path, path, monkeypatch)
    assert not _one_pass(caplog, path)


ASCII_FILE = PLAIN_FILE.replace("是", "Y").replace("中文", "zh")
"""The plain file in ASCII: its yes/no column is read as ``BOOLEAN`` by the reader."""

READ_ALIKE = {
    "exponent": _replace_line(203, '"SO00202",1,C1,2024-01-01,UTC,1e3,1,1,p,web,false\n'),
    "whole line written with a fraction": _replace_line(208, '"SO00207",1.0,C1,2024-01-01,UTC,1,1,1,p,web,false\n'),
    "signs and points": _replace_line(209, '"SO00208",+2,C1,2024-01-01,UTC,+1.5,.5,5.,p,web,false\n'),
    "spaces around numbers": _replace_line(210, '"SO00209", 1,C1,2024-01-01,UTC,1.5 ,-.5 , 7 ,p,web,false\n'),
    "digits beyond 15": _replace_line(211, '"SO00210",1,C1,2024-01-01,UTC,1,1,1234567890123456789.5,p,web,false\n'),
    "quoted numbers": _replace_line(212, '"SO00211","1","C1",2024-01-01,UTC,"-1.5","0.5","3",p,web,false\n'),
    "underscore after a letter": _replace_line(213, '"SO00212",1,C_1,2024-01-01,UTC,1,1,1,p_1,web,false\n'),
    "a plus in an offset": _replace_line(214, '"SO00213",1,C1,2024-01-01 10:00:00+08:00,UTC,1,1,1,p,web,false\n'),
}
"""Files the one-pass path now reads with the reader's own numbers, with the usual result."""


@pytest.mark.parametrize("kind", sorted(READ_ALIKE))
def test_numbers_the_reader_reads_as_the_rules_do_take_one_pass(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "alike.csv"
    path.write_bytes(READ_ALIKE[kind].encode())
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        outcome = _same_both_ways(tmp_path, path, monkeypatch)
    assert _one_pass(caplog, path)
    assert outcome["rows_loaded"] == 300 and not outcome["has_quarantine"]


ASCII_CASES = {
    "yes/no words of any case": ASCII_FILE.replace(",false\n", ",fALSE\n", 7).replace(",true\n", ",YES\n", 5),
    "yes/no digits and letters": ASCII_FILE.replace(",false\n", ",0\n", 3).replace(",true\n", ",t\n", 3),
}
ASCII_NOT_PLAIN = {
    "a yes/no word the reader refuses": ASCII_FILE.replace(",false\n", ",oui\n", 1),
    "a yes/no word with a space": ASCII_FILE.replace(",false\n", ", false\n", 1),
    "a number for a yes/no": ASCII_FILE.replace(",false\n", ",2\n", 1),
}


@pytest.mark.parametrize("kind", [*sorted(ASCII_CASES), *sorted(ASCII_NOT_PLAIN)])
def test_yes_no_values_read_by_the_reader_in_an_ascii_file(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ascii.csv"
    path.write_bytes({**ASCII_CASES, **ASCII_NOT_PLAIN}[kind].encode())
    info = inspect_source(path, MAPPING)
    names, delimiter = read_header(info, MAPPING)
    assert info.text is not None and not info.text.non_ascii
    assert "BOOLEAN" in plain.reader_types(info.text, MAPPING, _plan(names), names)
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        outcome = _same_both_ways(tmp_path, path, monkeypatch, rate=1.0)
    assert _one_pass(caplog, path) == (kind in ASCII_CASES)
    if kind in ASCII_CASES:
        assert sum(r["return_flag"] for r in outcome["rows"]) > 0


def _plan(names: list[str], mapping: ImportMapping = MAPPING) -> ImportPlan:
    from custlens.ingest.plan import build_plan, limits_of
    from custlens.warehouse import WorkspaceSettings

    return build_plan(schema_table("transactions"), mapping, names, origin="x", limits=limits_of(WorkspaceSettings()))


def test_a_currency_mark_inside_a_number_is_stripped_as_the_rules_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "marks.csv"
    path.write_text(_replace_line(203, '"SO00202",1,C1,2024-01-01,UTC,1E5,1,1,p,web,false\n'))
    mapping = tmp_path / "m.toml"
    mapping.write_text('[source]\ncurrency_symbols = ["E"]\n')
    outcome = _same_both_ways(tmp_path, path, monkeypatch, mapping=mapping)
    assert outcome["rows"][202]["amount"] == 15.0  # '1E5' without its mark


def test_a_thousands_separator_inside_a_number_is_deleted_as_the_rules_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sep.csv"
    lines = PLAIN_FILE.splitlines(keepends=True)
    lines[203] = '"SO00202",1,C1,2024-01-01,UTC,1,-1,1,p,web,false\n'
    lines[204] = '"SO00203",1,C1,2024-01-01,UTC,1,1e3,1,p,web,false\n'  # the column is not all plain decimals
    path.write_text("".join(lines))
    mapping = tmp_path / "m.toml"
    mapping.write_text('[source]\nthousands = "-"\n')
    outcome = _same_both_ways(tmp_path, path, monkeypatch, mapping=mapping)
    assert outcome["rows"][202]["cost"] == 1.0  # '-1' without its '-', as the rule reads it


def test_a_null_word_with_spaces_around_it_is_null_as_the_rules_make_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "nulls.csv"
    path.write_text(_replace_line(203, '"SO00202",1,C1,2024-01-01,UTC,1, -1,1,p,web,false\n'))
    mapping = tmp_path / "m.toml"
    mapping.write_text('[source]\nnull_values = ["", "-1"]\n')
    outcome = _same_both_ways(tmp_path, path, monkeypatch, mapping=mapping)
    assert outcome["rows"][202]["cost"] is None  # ' -1' trimmed is the null word


def test_the_reader_types_only_what_it_reads_as_the_rules_do(tmp_path: Path) -> None:
    def types(text: str, mapping: ImportMapping = MAPPING) -> dict[str, str]:
        path = tmp_path / "t.csv"
        path.write_text(text)
        info = inspect_source(path, mapping)
        names, _ = read_header(info, mapping)
        assert info.text is not None
        return dict(zip(names, plain.reader_types(info.text, mapping, _plan(names, mapping), names), strict=True))

    ascii_types = types(ASCII_FILE)
    assert ascii_types["amount"] == ascii_types["line"] == "DOUBLE" and ascii_types["return_flag"] == "BOOLEAN"
    assert ascii_types["order_id"] == ascii_types["ordered_at"] == "VARCHAR"
    assert types(PLAIN_FILE)["return_flag"] == "VARCHAR"  # '是' would be refused by the reader
    assert types(PLAIN_FILE)["amount"] == "DOUBLE"
    for text in (NOT_PLAIN["underscore between digits"], NOT_PLAIN["plus before minus"]):
        assert types(text)["amount"] == types(text)["line"] == "VARCHAR"
    assert types(ASCII_FILE, ImportMapping(null_values=("NA",)))["amount"] == "VARCHAR"  # '' is not null
    # the Arrow rule strips a mark 'E' from '1E5' (15); a mark with another letter cannot sit in a number
    assert types(ASCII_FILE, ImportMapping(currency_symbols=("E",)))["amount"] == "VARCHAR"
    assert types(ASCII_FILE, ImportMapping(currency_symbols=(" +",)))["amount"] == "VARCHAR"
    assert types(ASCII_FILE, ImportMapping(currency_symbols=("EUR", "kr")))["amount"] == "DOUBLE"
    for thousands in ("-", "e", "+"):  # deleted by the rule: '-1' would read as 1
        assert types(ASCII_FILE, ImportMapping(thousands=thousands))["amount"] == "VARCHAR"
    assert types(ASCII_FILE, ImportMapping(thousands="'"))["amount"] == "DOUBLE"
    assert (
        types(ASCII_FILE, ImportMapping(true_values=("true", "t", "yes", "y", "1", "oui")))["return_flag"] == "VARCHAR"
    )
    assert types(ASCII_FILE, ImportMapping(true_values=("true", "yes")))["return_flag"] == "VARCHAR"
    # a word of both lists is true to the Arrow rule, as '1' is to the reader: no difference
    assert (
        types(ASCII_FILE, ImportMapping(false_values=("false", "f", "no", "n", "0", "1")))["return_flag"] == "BOOLEAN"
    )
    assert types(ASCII_FILE, ImportMapping(true_values=("true", "t", "yes", "y", "1", "0")))["return_flag"] == "VARCHAR"
    assert (
        types(ASCII_FILE, ImportMapping(true_values=("true", "t", "yes", "y", "1", "是")))["return_flag"] == "BOOLEAN"
    )


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_the_bytes_beside_plus_and_underscore_are_found_across_chunks(draw: st.DataObject) -> None:
    from custlens.ingest.sources import _Scanner

    data = draw.draw(st.binary(min_size=1, max_size=40).map(lambda b: bytes(b"+-_1a\n"[x % 6] for x in b)))
    cuts = sorted(draw.draw(st.lists(st.integers(1, len(data)), max_size=4, unique=True)))
    scanner = _Scanner()
    for start, stop in zip([0, *cuts], [*cuts, len(data)], strict=True):
        if start < stop:
            scanner.update(data[start:stop])
    scan = scanner.result()
    assert scan.plus_minus == (b"+-" in data)
    assert scan.digit_underscore == (b"1_" in data)
    assert not scan.non_ascii


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_the_bytes_found_nowhere_are_found_across_chunks(draw: st.DataObject) -> None:
    from custlens.ingest.sources import _Scanner

    data = draw.draw(st.binary(min_size=1, max_size=40).map(lambda b: bytes(b"NA/n#a\n"[x % 7] for x in b)))
    look_for = draw.draw(st.binary(max_size=6).map(lambda b: bytes(b"NA/n#x\xc3"[x % 7] for x in b)))
    cuts = sorted(draw.draw(st.lists(st.integers(1, len(data)), max_size=4, unique=True)))
    scanner = _Scanner(look_for)
    for start, stop in zip([0, *cuts], [*cuts, len(data)], strict=True):
        if start < stop:
            scanner.update(data[start:stop])
    assert scanner.result().unseen == set(look_for) - set(data)


@pytest.mark.parametrize("at", [0, 5, 63, 64, 65, 199])
def test_plus_minus_and_a_digit_before_an_underscore_are_found_among_many(at: int) -> None:
    """Past 64 of a byte in a chunk the rest are looked at with NumPy: both ways find the pair."""
    from custlens.ingest.sources import _Scanner

    for plain_pair, pair, flag in ((b"+1", b"+-", "plus_minus"), (b"a_", b"1_", "digit_underscore")):
        pieces = [plain_pair] * 200
        pieces[at] = pair
        scanner = _Scanner()
        scanner.update(b"x" + b",".join(pieces))
        assert getattr(scanner.result(), flag)
        scanner = _Scanner()
        scanner.update(b"x" + b",".join([plain_pair] * 200))
        assert not getattr(scanner.result(), flag)


def _reader(kind: str, texts: list[str], tmp_path: Path) -> dict[int, Any]:
    """What DuckDB's reader gives for each text (quoted or not) as ``kind``: index -> value,
    for the texts it accepts (the plain path's reader options, errors skipped)."""
    path = tmp_path / "r.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("i,x\n")
        for i, text in enumerate(texts):
            fh.write(f'{i},"{text}"\n' if i % 2 else f"{i},{text}\n")
    source = plain._read_csv(
        SourceInfo(path=path, format="csv", size=0, sha256="", encoding="utf-8"),
        ["BIGINT", kind],
        ",",
        MAPPING.null_values,
    ).replace("ignore_errors=false", "ignore_errors=true")
    return {int(i): x for i, x in duckdb.connect().execute(f"SELECT c0, c1 FROM {source}").fetchall() if x is not None}


def _rules(kind: str, texts: list[str]) -> tuple[list[Any], list[bool]]:
    """The Arrow rule of each text as ``clean_batch`` applies it (trimmed, null words, parsed)."""
    from custlens.ingest.clean import _normalise_text

    target = TargetPlan(Column("x", kind, ""), source="x")
    text = _normalise_text(pa.array(texts, pa.string()), MAPPING)
    values, bad, _ = _PARSERS[kind](text, target, MAPPING)
    ok = [v and not b for v, b in zip(pc.is_valid(text).to_pylist(), pc.fill_null(bad, False).to_pylist(), strict=True)]
    return values.to_pylist(), ok


NUMBER_TEXTS = st.text(st.sampled_from("0123456789" * 3 + ".-+eE_ infaINFAxX"), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(
        NUMBER_TEXTS | st.from_regex(r"\A[+-]?[0-9]{1,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,3})?\Z"), max_size=30
    )
)
def test_numbers_the_reader_takes_are_the_rules_numbers(
    texts: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every finite number the reader reads from a text without ``+-`` or a digit before
    ``_`` is the number the Arrow rule reads, bit for bit; a whole number the same when
    integral and within 2^53."""
    import math
    import re as regex

    got = _reader("DOUBLE", texts, tmp_path_factory.mktemp("n"))
    floats, float_ok = _rules("float64", texts)
    ints, int_ok = _rules("int64", texts)
    for i, value in got.items():
        text = texts[i]
        if "+-" in text or regex.search(r"[0-9]_", text) or not math.isfinite(value):
            continue  # the file takes the usual path (plus_minus, digit_underscore) or the insert refuses it
        assert float_ok[i] and _bits(floats[i]) == _bits(value), text
        whole = value == math.trunc(value) and abs(value) <= 2.0**53
        assert int_ok[i] == whole, text
        if whole:
            assert ints[i] == int(value), text


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(st.sampled_from("tTrRuUeEfFaAlLsSyYnNoO01 是"), min_size=1, max_size=6), max_size=30))
def test_yes_no_values_the_reader_takes_are_the_rules_values(
    texts: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    got = _reader("BOOLEAN", texts, tmp_path_factory.mktemp("b"))
    values, ok = _rules("boolean", texts)
    for i, value in got.items():
        assert texts[i].lower() in (*plain.READER_TRUE, *plain.READER_FALSE), texts[i]
        assert ok[i] and values[i] == value, texts[i]


def test_spaces_after_closing_quotes_are_read_alike_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """DuckDB drops a space after a closing quote, Arrow keeps it and the rules trim it."""
    path = tmp_path / "after.csv"
    text = _replace_line(227, '"SO00226",1,"C1" ,2024-01-01,UTC,"1.5" ,1,1,"" ,web,"true" \n')
    path.write_text(text)
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        outcome = _same_both_ways(tmp_path, path, monkeypatch)
    assert _one_pass(caplog, path)
    assert outcome["rows"][226]["customer_id"] == "C1" and outcome["rows"][226]["amount"] == 1.5


@pytest.mark.parametrize("words", ['["NA"]', "[]", '["", "-"]'])
def test_other_null_words_are_read_alike_in_one_pass(
    words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The reader makes the null words null (quoted or not); without '' an empty cell is text."""
    path = tmp_path / "nulls.csv"
    path.write_text(PLAIN_FILE + '"SO99999",1,C1,2024-01-01,UTC,1,"",1,"-",web,\n')
    mapping = tmp_path / "m.toml"
    mapping.write_text(f"[source]\nnull_values = {words}\n")
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        outcome = _same_both_ways(tmp_path, path, monkeypatch, mapping=mapping, rate=1.0)
    assert outcome["rows_read"] == 301
    assert _one_pass(caplog, path) == (words == '["", "-"]')  # else '' is not a number: the usual path


@pytest.mark.parametrize("words", [None, '["NA"]', '["", "NA", "-"]'])
def test_null_words_the_file_cannot_hold_are_left_to_the_rules(
    words: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A file without ``N`` or ``#``: the reader is given the other null words only (all
    of them when none is left), with the usual path's result."""
    path = tmp_path / "no_n.csv"
    path.write_text(PLAIN_FILE.replace(",NA,", ",n/a,"))
    kwargs: dict[str, Any] = {"rate": 1.0}
    if words is not None:
        kwargs["mapping"] = tmp_path / "m.toml"
        kwargs["mapping"].write_text(f"[source]\nnull_values = {words}\n")
    mapping = ImportMapping() if words is None else ImportMapping(null_values=tuple(json.loads(words)))
    info = inspect_source(path, mapping)
    assert info.text is not None and ord("N") in info.text.unseen
    read = plain.null_words(info.text, mapping)
    assert read == {None: ["", "n/a", "null", "nan"], '["NA"]': ["NA"], '["", "NA", "-"]': ["", "-"]}[words]
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        outcome = _same_both_ways(tmp_path, path, monkeypatch, **kwargs)
    assert _one_pass(caplog, path) == (words != '["NA"]')  # without '' an empty cell is no number
    assert outcome["rows_read"] == 300


def test_edges_of_cells_are_checked_only_when_a_space_is_beside_a_delimiter_quote_or_line_feed(
    tmp_path: Path,
) -> None:
    from custlens.ingest.mapping import ImportMapping as Mapping
    from custlens.ingest.plan import build_plan, limits_of
    from custlens.ingest.sources import inspect_source, read_header
    from custlens.warehouse import WorkspaceSettings

    def insert(text: str) -> str:
        path = tmp_path / "x.csv"
        path.write_text(text)
        info = inspect_source(path, Mapping())
        names, delimiter = read_header(info, Mapping())
        plan = build_plan(
            schema_table("transactions"), Mapping(), names, origin="x", limits=limits_of(WorkspaceSettings())
        )
        return plain.plain_insert(info, Mapping(), plan, names, delimiter).insert

    assert "starts_with" not in insert(PLAIN_FILE.replace("P, quoted", "P; quoted"))  # spaces inside cells only
    for kind in ("leading space", "trailing space in quotes"):
        assert "starts_with" in insert(NOT_PLAIN[kind])
    assert "starts_with" in insert(PLAIN_FILE + '"SO99999",1,C1,2024-01-01,UTC,1,1,1,p,web ')  # the file's end
    # quotes are looked for in cells only when the file holds some
    assert 'contains("t_order_id", \'"\')' in insert(PLAIN_FILE)
    assert 'contains("t_' not in insert(PLAIN_FILE.replace('"', ""))


def test_a_file_without_quotes_is_imported_in_one_pass_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "unquoted.csv"
    path.write_text(PLAIN_FILE.replace('"P, quoted"', "P; quoted").replace('"', ""))
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        outcome = _same_both_ways(tmp_path, path, monkeypatch)
    assert _one_pass(caplog, path)
    assert outcome["rows_loaded"] == 300


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=60).map(lambda b: bytes(b' ,"\nab'[x % 6] for x in b)), st.data())
def test_the_bytes_beside_spaces_are_found_across_chunks(data: bytes, draw: st.DataObject) -> None:
    from custlens.ingest.sources import _Scanner

    cuts = sorted(draw.draw(st.lists(st.integers(1, len(data)), max_size=4, unique=True)))
    scanner = _Scanner()
    for start, stop in zip([0, *cuts], [*cuts, len(data)], strict=True):
        if start < stop:
            scanner.update(data[start:stop])
    scan = scanner.result()
    framed = b"\n" + data + b"\n"  # the start and the end count as line feeds
    spaces = [i for i in range(1, len(framed) - 1) if framed[i] == 0x20]
    assert scan.before_space == {framed[i - 1] for i in spaces}
    assert scan.after_space == {framed[i + 1] for i in spaces}


UTF8_BYTES = st.binary(max_size=40) | st.lists(
    st.sampled_from(
        [
            b"a",
            b"\xc3\xa9",
            b"\xe4\xb8\xad",
            b"\xf0\x9f\x98\x80",
            b"\xed\xa0\x80",
            b"\xc0\xaf",
            b"\xf4\x90\x80\x80",
            b"\x80",
            b"\xe4\xb8",
            b"\xff",
            b"\n",
        ]
    ),
    max_size=30,
).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(UTF8_BYTES, st.data())
def test_the_utf8_check_agrees_with_python_across_chunks(data: bytes, draw: st.DataObject) -> None:
    """Valid or not, and the first invalid byte, as Python's strict decoder finds them
    (surrogates, overlong forms, code points beyond U+10FFFF, characters cut by a chunk)."""
    from custlens.ingest.sources import _Utf8Check

    cuts = sorted(draw.draw(st.lists(st.integers(1, max(1, len(data))), max_size=4, unique=True)))
    check = _Utf8Check()
    for start, stop in zip([0, *cuts], [*cuts, len(data)], strict=True):
        if start < stop:
            check.update(data[start:stop])
    check.finish()
    try:
        data.decode("utf-8")
        expected = None
    except UnicodeDecodeError as exc:
        expected = exc.start
    assert check.error == expected


def test_keys_already_stored_take_the_usual_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first = tmp_path / "first.csv"
    first.write_text(HEADER + "".join(_plain_lines()[:40]))
    again = tmp_path / "again.csv"
    again.write_text(HEADER + "".join(_plain_lines()[20:]))  # 20 rows already stored
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        outcome = _same_both_ways(tmp_path, again, monkeypatch, before=[first])
    assert not _one_pass(caplog, again)
    assert outcome["rows_duplicate"] == 20


def test_new_keys_after_stored_rows_are_imported_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first = tmp_path / "first.csv"
    first.write_text(HEADER + "".join(_plain_lines()[:40]))
    rest = tmp_path / "rest.csv"
    rest.write_text(HEADER + "".join(_plain_lines()[40:]))
    with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
        outcome = _same_both_ways(tmp_path, rest, monkeypatch, before=[first])
    assert _one_pass(caplog, rest)
    assert len(outcome["rows"]) == 300


def _held_twice(keys: list[tuple[str | None, int]]) -> int:
    """``plain.duplicate_keys`` run over a table of ``keys`` (0 or 1)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE transactions (order_id VARCHAR, line BIGINT)")
    if keys:
        con.executemany("INSERT INTO transactions VALUES (?, ?)", [list(k) for k in keys])
    return int(con.execute(plain.duplicate_keys(schema_table("transactions"))).fetchall()[0][0])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.text("ab", max_size=2)), st.integers(-1, 2)), max_size=30))
def test_the_key_check_finds_a_key_held_twice_as_grouping_does(keys: list[tuple[str | None, int]]) -> None:
    assert _held_twice(keys) == (len(set(keys)) < len(keys))


def test_the_key_check_tells_keys_apart_when_their_hashes_are_equal() -> None:
    """Two keys of the benchmark file whose DuckDB hashes are equal: the hash only picks
    the rows whose keys are then grouped."""
    one, other = ("SO00009455-0045", 2), ("SO00095555-0018", 2)
    hashes = duckdb.connect().execute("SELECT hash(?, ?::BIGINT), hash(?, ?::BIGINT)", [*one, *other]).fetchall()[0]
    assert hashes[0] == hashes[1], "DuckDB's hash changed: find two other keys with equal hashes"
    assert _held_twice([one, other, ("SO1", 1)]) == 0
    assert _held_twice([one, other, one]) == 1


def test_mappings_with_formats_maps_or_other_separators_take_the_usual_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "plain.csv"
    path.write_text(PLAIN_FILE)
    for i, text in enumerate(
        [
            '[source]\ndate_format = "%Y-%m-%d %H:%M:%S"\n',
            '[source]\ndecimal = ","\nthousands = "."\n',
            '[source]\nnull_values = ["", " NA"]\n',
            '[values.channel]\n"web" = "online"\n',
            "[constants]\nchannel = 'store'\n[columns]\norder_id = 'order_id'\n",
        ]
    ):
        mapping = tmp_path / f"m{i}.toml"
        mapping.write_text(text)
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="custlens.ingest.importer"):
            _same_both_ways(tmp_path / str(i), path, monkeypatch, mapping=mapping)
        assert not _one_pass(caplog, path)


def test_a_refused_one_pass_leaves_no_trace(tmp_path: Path) -> None:
    """A key conflict found after the insert rolls the insert back: the usual path then
    stores each row once."""
    path = tmp_path / "dup.csv"
    path.write_bytes(NOT_PLAIN["key conflict"].encode())
    with Workspace.init(tmp_path / "ws") as ws:
        report = import_file(ws, path, table="transactions", max_reject_rate=0.5)
        stored = ws.raw.execute("SELECT count(*), count(DISTINCT (order_id, line)) FROM transactions").fetchall()[0]
        assert stored == (report.rows_loaded, report.rows_loaded)
        assert ws.raw.execute("SELECT count(*) FROM _import_ledger").fetchall()[0][0] == 1


def test_plain_bool_words_fold_back_to_the_words() -> None:
    words = plain_bool_words(("yes", "是", "t", "Oui", "SÍ"))
    assert words == ("yes", "YES", "Yes", "是", "t", "T")  # 'Oui' and 'SÍ' never match a lower-cased text
    assert all(pc.utf8_lower(pa.array([w])).to_pylist()[0] in ("yes", "是", "t") for w in words)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(st.sampled_from("yYeEsSnNoOtTíÍ是"), min_size=1, max_size=4), min_size=1, max_size=4),
    st.lists(st.text(st.sampled_from("yYeEsSnNoOtTíÍ是"), min_size=1, max_size=4), max_size=20),
)
def test_plain_yes_no_words_of_a_mapping_read_as_arrow_reads_them(words: list[str], texts: list[str]) -> None:
    """Words of any case in the mapping: a plain text is read as the Arrow rule reads it."""
    mapping = ImportMapping(true_values=tuple(words), false_values=("no",))
    target = TargetPlan(Column("x", "boolean", ""), source="x")
    value, form, _ = plain._convert(target, '"t"', '"x"', mapping, PLAN, tab=False)
    source = pa.table({"t": pa.array(texts, pa.string())})  # noqa: F841 - read by DuckDB by name
    rows = duckdb.connect().execute(f"SELECT {value}, {form} FROM source").fetchall()
    expected, bad, _ = _PARSERS["boolean"](pa.array(texts, pa.string()), target, mapping)
    for text, (got, plain_form), want, refused in zip(
        texts, rows, expected.to_pylist(), pc.fill_null(bad, False).to_pylist(), strict=True
    ):
        if plain_form:
            assert got == want and not refused, text
