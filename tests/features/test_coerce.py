"""custlens.features.coerce: every accepted date form, impossible days, messages, typed columns.

The same forms go through the scalar parser (``to_date``), the vectorised Arrow parser
(``strptime_any`` / ``parse_dates``, used for files) and the in-engine Ibis conversion
(``as_dates``, run here on each backend; ``test_parity.py`` compares the engines).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from zoneinfo import ZoneInfo

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from custlens.errors import InputError
from custlens.features import coerce
from custlens.features.coerce import (
    DATE_FORMATS,
    as_dates,
    as_numbers,
    check_column,
    parse_amounts,
    parse_dates,
    parse_ids,
    strptime_any,
    to_date,
    typed,
)

from .conftest import put

D = dt.date
# text -> the UTC calendar day it denotes
FORMS = {
    "2024-01-31": D(2024, 1, 31),
    "2024-01-31 10:00:00": D(2024, 1, 31),
    "2024-01-31T10:00:00": D(2024, 1, 31),
    "2024-01-31 10:00": D(2024, 1, 31),
    "2024-01-31T10:00": D(2024, 1, 31),
    "2024-01-31T23:30:00+08:00": D(2024, 1, 31),  # 15:30 UTC
    "2024-02-01T01:00:00+08:00": D(2024, 1, 31),  # 17:00 UTC the day before
    "2024-01-31T20:00:00-05:00": D(2024, 2, 1),  # 01:00 UTC the day after
    "2024-01-31 22:00:00+0530": D(2024, 1, 31),
    "2024-01-31T23:59:59Z": D(2024, 1, 31),
    "2024-01-31 10:00:00.123456": D(2024, 1, 31),
    "2024-01-31T23:59:59.5+00:00": D(2024, 1, 31),
    "2024/01/31": D(2024, 1, 31),
    "2024/01/31 10:00:00": D(2024, 1, 31),
    "2024/01/31 10:00": D(2024, 1, 31),
    "20240131": D(2024, 1, 31),
    "2024-02-29": D(2024, 2, 29),  # a leap day is a day
}
IMPOSSIBLE = ["2024-02-30", "2023-02-29", "2024-04-31", "2024-13-01", "20240230", "2024/02/30", "2024-02-30 10:00:00"]
NOT_DATES = ["soon", "31.01.2024", "2024-01", "2024-01-31 10", "1/2/3"]


def test_every_format_is_tried() -> None:
    """Each listed strptime format parses at least one form above (none is dead)."""
    for fmt in DATE_FORMATS:
        parsed = strptime_any(pa.array(list(FORMS)), (fmt,))
        assert parsed.null_count < len(FORMS), fmt


@pytest.mark.parametrize(("text", "day"), FORMS.items())
def test_scalar_and_vectorised_parsers_accept_every_form(text: str, day: dt.date) -> None:
    assert to_date(text) == day
    assert to_date(f"  {text} ") == day
    parsed = strptime_any(pa.array([text]))
    assert parsed.type == pa.timestamp("us", tz="UTC")
    assert parsed[0].as_py().date() == day
    assert parse_dates(pa.array([text]), column="d")[0].as_py().date() == day


def test_fractions_of_a_second_are_kept() -> None:
    got = strptime_any(pa.array(["2024-01-31 10:00:00.123456", "2024-01-31T10:00:00,5Z"])).to_pylist()
    assert got[0] == dt.datetime(2024, 1, 31, 10, 0, 0, 123456, tzinfo=ZoneInfo("UTC"))
    assert got[1] == dt.datetime(2024, 1, 31, 10, 0, 0, 500000, tzinfo=ZoneInfo("UTC"))


def test_naive_values_are_read_in_the_given_zone() -> None:
    got = strptime_any(pa.array(["2024-01-31 01:00:00"]), zone="Asia/Shanghai")[0].as_py()
    assert got == dt.datetime(2024, 1, 30, 17, 0, tzinfo=ZoneInfo("UTC"))


def test_scalar_values_of_every_type() -> None:
    assert to_date(D(2024, 1, 31)) == D(2024, 1, 31)
    assert to_date(dt.datetime(2024, 1, 31, 23, 59)) == D(2024, 1, 31)  # naive: taken as UTC
    aware = dt.datetime(2024, 2, 1, 1, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert to_date(aware) == D(2024, 1, 31)  # converted to UTC first
    assert to_date(pd.Timestamp("2024-02-01 01:00", tz="Asia/Shanghai")) == D(2024, 1, 31)
    assert to_date(pd.Timestamp("2024-01-31 10:00")) == D(2024, 1, 31)
    assert to_date(np.datetime64("2024-01-31T10:00")) == D(2024, 1, 31)
    assert to_date(20240131) == D(2024, 1, 31)
    assert to_date(np.int64(20240131)) == D(2024, 1, 31)


@pytest.mark.parametrize("bad", [*IMPOSSIBLE, *NOT_DATES, True, 3.5, None, np.datetime64("NaT"), 20240230])
def test_scalar_parser_refuses_and_names_the_parameter(bad: object) -> None:
    with pytest.raises(InputError, match=r"^'calibration_end' must be a date \(ISO like 2024-01-31"):
        to_date(bad, "calibration_end")


def test_impossible_days_are_refused_not_rolled_over() -> None:
    assert strptime_any(pa.array(IMPOSSIBLE)).null_count == len(IMPOSSIBLE)
    assert strptime_any(pa.array(NOT_DATES)).null_count == len(NOT_DATES)
    assert strptime_any(pa.array(["30/02/2024"]), ("%d/%m/%Y",)).null_count == 1
    assert strptime_any(pa.array(["29/02/2024"]), ("%d/%m/%Y",))[0].as_py().date() == D(2024, 2, 29)


def test_file_column_message_names_source_column_count_row_and_value() -> None:
    values = pa.array(["2024-01-01", "", "2024-02-30", "2024-03-01", "soon"])
    with pytest.raises(InputError) as err:
        parse_dates(values, column="d", source="tx.csv", first_row=2)
    assert str(err.value) == (
        f"tx.csv: column 'd': 2 value(s) are not dates (expected {coerce.DATE_FORMS}; give 'date_format' "
        "for other forms) (first: row 4, value '2024-02-30')"
    )
    with pytest.raises(InputError, match=r"column 'a': 1 value\(s\) are not numbers .*first: row 3, value 'x1'"):
        parse_amounts(pa.array(["1.5", "x1", "", "-2e3"]), column="a", first_row=2)
    with pytest.raises(InputError, match=r"column 'c': 1 value\(s\) are not customer ids \(empty\) .*row 3"):
        parse_ids(pa.array(["007", " ", "9"]), column="c", first_row=2)
    with pytest.raises(InputError, match=r"whole YYYYMMDD numbers .*row 2, value 20240131.5"):
        parse_dates(pa.array([20240131.5]), column="d", first_row=2)


def test_file_columns_of_every_type() -> None:
    utc = pa.timestamp("us", tz="UTC")
    got = parse_dates(pa.array([20240131, None]), column="d")
    assert got.type == utc and got.to_pylist()[0].date() == D(2024, 1, 31) and got[1].as_py() is None
    assert parse_dates(pa.array([20240131.0]), column="d")[0].as_py().date() == D(2024, 1, 31)
    assert parse_dates(pa.array([D(2024, 1, 31)]), column="d").type == utc
    naive = pa.array([dt.datetime(2024, 1, 31, 23)], pa.timestamp("s"))
    assert parse_dates(naive, column="d")[0].as_py() == dt.datetime(2024, 1, 31, 23, tzinfo=ZoneInfo("UTC"))
    assert parse_amounts(pa.array(["1.5", " -2 ", ""]), column="a").to_pylist() == [1.5, -2.0, None]
    assert parse_ids(pa.array([7, 42]), column="c").to_pylist() == ["7", "42"]
    with pytest.raises(InputError, match="has type bool; expected dates"):
        parse_dates(pa.array([True]), column="d")


def test_date_format_is_checked_and_strict() -> None:
    got = parse_dates(pa.array(["31/01/2024", "29/02/2024"]), column="d", date_format="%d/%m/%Y")
    assert [v.date() for v in got.to_pylist()] == [D(2024, 1, 31), D(2024, 2, 29)]
    with pytest.raises(InputError, match=r"dates in the format '%d/%m/%Y' \(first: row 1, value '30/02/2024'\)"):
        parse_dates(pa.array(["30/02/2024"]), column="d", date_format="%d/%m/%Y")
    with pytest.raises(InputError, match=r"^'date_format' '%d/%Q/%Y' is not a valid strptime format"):
        parse_dates(pa.array(["x"]), column="d", date_format="%d/%Q/%Y")
    with pytest.raises(InputError, match="has no year"):
        coerce.check_date_format("%d/%m")


def test_check_column_names_the_parameter_and_suggests() -> None:
    with pytest.raises(InputError) as err:
        check_column(["customer", "d"], "custmer", "customer_col", "tx.csv")
    assert str(err.value) == (
        "tx.csv: no column 'custmer' (given as 'customer_col'); did you mean 'customer'? (columns: customer, d)"
    )
    check_column(["customer", "d"], "d", "date_col")


def _ibis_days(backend: object, texts: list) -> list:
    t = put(backend, pa.table({"i": list(range(len(texts))), "s": texts}))
    return t.select("i", day=as_dates(t.s, "s")).order_by("i").to_pyarrow()["day"].to_pylist()


def test_in_engine_dates_accept_the_portable_forms(backend: object) -> None:
    forms = {k: v for k, v in FORMS.items() if "+0530" not in k}  # Spark reads '+0530' too; kept simple
    assert _ibis_days(backend, list(forms)) == list(forms.values())
    t = put(backend, pa.table({"n": pa.array([20240131, 19970101], pa.int64())}))
    assert t.select(d=as_dates(t.n, "n")).to_pyarrow()["d"].to_pylist() == [D(2024, 1, 31), D(1997, 1, 1)]


def test_in_engine_dates_refuse_impossible_days_with_row_and_value(backend: object) -> None:
    t = put(backend, pa.table({"s": ["2024-01-01", "", None, "2024-02-30", "soon"]}))
    with pytest.raises(InputError) as err:
        as_dates(t.s, "s", what="orders")
    assert str(err.value) == (
        f"orders: column 's': 2 value(s) are not dates (expected {coerce.DATE_FORMS}) "
        "(first: data row 4, value '2024-02-30')"
    )
    t = put(backend, pa.table({"n": pa.array([20240131, 20240230], pa.int64())}))
    with pytest.raises(InputError, match=r"'n': 1 value\(s\) are not dates .*data row 2, value '20240230'"):
        as_dates(t.n, "n")


def test_in_engine_numbers(backend: object) -> None:
    t = put(backend, pa.table({"a": ["1", " 2.5 ", "", None, "-3e2"]}))
    assert t.select(x=as_numbers(t.a, "a")).to_pyarrow()["x"].to_pylist() == [1.0, 2.5, None, None, -300.0]
    t = put(backend, pa.table({"a": ["10", "12.5", "ten"]}))
    with pytest.raises(
        InputError, match=r"^transactions: column 'a': 1 value\(s\) are not numbers .*row 3, value 'ten'"
    ):
        as_numbers(t.a, "a")


def test_blank_and_missing_text_cells_are_missing_values_not_errors() -> None:
    t = ibis.memtable(pa.table({"d": ["2024-01-01", "", None, "2024-01-03"], "a": ["1", " ", None, "4"]}))
    out = typed(t, dates=["d"], numbers=["a"]).to_pyarrow().to_pylist()
    assert [r["d"] for r in out] == [D(2024, 1, 1), None, None, D(2024, 1, 3)]
    assert [r["a"] for r in out] == [1.0, None, None, 4.0]


def test_typed_columns_run_no_query(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("typed columns must not be checked")

    monkeypatch.setattr(coerce, "_check_converted", fail)
    t = ibis.memtable(
        pa.table({"d": pa.array([D(2024, 1, 1)]), "ts": pa.array([dt.datetime(2024, 1, 1)]), "x": [1], "y": [2.5]})
    )
    assert as_dates(t.d, "d").type().is_date() and as_dates(t.ts, "ts").type().is_date()
    assert as_numbers(t.x, "x").type().is_floating() and as_numbers(t.y, "y").type().is_floating()
    assert typed(t, dates=["d", "ts", None, "absent"], numbers=["x", "y"]) is t


def test_columns_that_cannot_hold_values_are_refused() -> None:
    t = ibis.memtable(pa.table({"flag": [True, False]}))
    with pytest.raises(InputError, match=r"^orders: column 'flag' must hold numbers; it has type boolean"):
        as_numbers(t.flag, "flag", what="orders")
    with pytest.raises(InputError, match=r"column 'flag' has type boolean; expected dates"):
        as_dates(t.flag, "flag")


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("custlens.features.coerce", ("ibis",)),
        ("custlens.features", ("ibis",)),
        ("custlens.ingest.readers", ("ibis", "pandas", "duckdb")),
        ("custlens.ingest.transactions", ("ibis", "pandas", "duckdb")),
    ],
)
def test_importing_stays_light(module: str, absent: tuple[str, ...]) -> None:
    """The importer and the command line import these; they must not load Ibis (or pandas)."""
    code = f"import sys, {module}; print(','.join(m for m in {absent!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {module} loads {out.stdout.strip()}"


def test_lazy_package_namespace() -> None:
    import custlens.features as features

    assert set(features.__all__) <= set(dir(features))
    assert features.value_indicators is features.indicators.value_indicators  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        features.nope  # type: ignore[attr-defined]  # noqa: B018
