"""CSV output (custlens._output.csv_bytes): the same bytes as Arrow's CSV writer, for tables with UTC times too."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.csv as pacsv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens._output import csv_bytes

UTC = dt.UTC
TEXT = st.text(alphabet=st.sampled_from(list("ab,\"\n\r \t'=é中")), max_size=6)
TIMES = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
COLUMNS = {
    "text": (TEXT, pa.string()),
    "int": (st.integers(-(2**63), 2**63 - 1), pa.int64()),
    "small": (st.integers(-100, 100), pa.int8()),
    "float": (st.floats(allow_nan=True, allow_infinity=True), pa.float64()),
    "bool": (st.booleans(), pa.bool_()),
    "date": (st.dates(), pa.date32()),
    "naive": (TIMES, pa.timestamp("us")),
    "utc_us": (TIMES.map(lambda t: t.replace(tzinfo=UTC)), pa.timestamp("us", tz="UTC")),
    "utc_s": (TIMES.map(lambda t: t.replace(tzinfo=UTC, microsecond=0)), pa.timestamp("s", tz="UTC")),
    "utc_ms": (TIMES.map(lambda t: t.replace(tzinfo=UTC, microsecond=t.microsecond // 1000 * 1000)), pa.timestamp("ms", tz="UTC")),
}  # fmt: skip


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    names = draw(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=5, unique=True))
    if not any(n.startswith("utc") for n in names):
        names.append("utc_us")
    rows = draw(st.integers(0, 8))
    columns = {}
    for name in names:
        values, kind = COLUMNS[name]
        column = draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows))
        columns[name + draw(st.sampled_from(["", ' "q"', ",x"]))] = pa.array(column, kind)
    table = pa.table(columns)
    if rows > 2 and draw(st.booleans()):  # several chunks, and a slice
        table = pa.concat_tables([table, table.slice(1)])
    return table


def _arrow(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return buf.getvalue()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_same_bytes_as_arrows_writer(table: pa.Table) -> None:
    assert csv_bytes(table) == _arrow(table)


def test_other_tables_go_to_arrows_writer() -> None:
    naive = pa.table({"at": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("us")), "n": [1]})
    assert csv_bytes(naive) == _arrow(naive)
    empty = pa.table({"at": pa.array([], pa.timestamp("us", tz="UTC"))})
    assert csv_bytes(empty) == _arrow(empty)


def test_more_rows_than_one_slice() -> None:
    n = 70_000
    at = pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=7 * i) for i in range(n)])
    table = pa.table({"id": [f"C{i:06d}" for i in range(n)], "at": at.cast(pa.timestamp("us", tz="UTC"))})
    table = pa.concat_tables([table.slice(0, 1000), table.slice(1000)])
    assert csv_bytes(table) == _arrow(table)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.integers(1, 5))
def test_pieces_of_batches_are_the_bytes_of_the_whole_defused_table(table: pa.Table, rows: int) -> None:
    """csv_pieces, batch by batch in threads, writes what csv_bytes(neutralise(table)) writes."""
    from custlens._output import csv_pieces, neutralise

    batches = table.to_batches(max_chunksize=rows)
    assert b"".join(csv_pieces(iter(batches), table.schema)) == csv_bytes(neutralise(table))


def test_pieces_cast_batches_to_the_schema() -> None:
    """An engine's narrower types (int32 for int64, string for large_string) are written as the schema's."""
    from custlens._output import csv_pieces

    at = pa.array([dt.datetime(2024, 5, 1, 12, tzinfo=UTC), None], pa.timestamp("us", tz="UTC"))
    want = pa.table({"n": pa.array([1, None], pa.int64()), "id": ["=1+1", "a"], "at": at})
    given_ = pa.table({"n": pa.array([1, None], pa.int32()), "id": ["=1+1", "a"], "at": at})
    from custlens._output import neutralise

    assert b"".join(csv_pieces(iter(given_.to_batches()), want.schema)) == csv_bytes(neutralise(want))
