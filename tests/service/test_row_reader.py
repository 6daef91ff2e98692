"""RowReader reads the rows pyarrow's own ``to_pylist`` gives, column by column."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from custlens.service._lookup import RowReader

_values = st.fixed_dictionaries(
    {
        "customer_id": st.text(min_size=1, max_size=8),
        "order_count": st.one_of(st.none(), st.integers(-(2**40), 2**40)),
        "revenue": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        "region": st.one_of(st.none(), st.sampled_from(["east", "west", "华东"])),
        "at": st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
        "day": st.one_of(st.none(), st.dates()),
        "flag": st.one_of(st.none(), st.booleans()),
    }
)
_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("order_count", pa.int64()),
        ("revenue", pa.float64()),
        ("region", pa.string()),
        ("at", pa.timestamp("us", tz="UTC")),
        ("day", pa.date32()),
        ("flag", pa.bool_()),
    ]
)


def _same(a: object, b: object) -> bool:
    return a == b or (a != a and b != b)  # NaN equals NaN here


@given(st.lists(_values, min_size=1, max_size=30), st.integers(1, 4), st.data())
def test_rows_equal_to_pylist(rows: list[dict[str, object]], pieces: int, data: st.DataObject) -> None:
    whole = pa.Table.from_pylist(rows, schema=_SCHEMA)
    size = -(-len(rows) // pieces)
    chunked = pa.concat_tables([whole.slice(i, size) for i in range(0, len(rows), size)])
    reader = RowReader.of(chunked)
    expected = whole.to_pylist()
    for at in range(len(rows)):
        got = reader.row(at)
        assert list(got) == list(expected[at])
        assert all(_same(got[k], expected[at][k]) for k in got)
    if len(rows) > 1:  # one chunk that starts inside its buffers (an Arrow offset)
        tail = RowReader.of(whole.slice(1))
        for at in range(len(rows) - 1):
            assert all(_same(v, expected[at + 1][k]) for k, v in tail.row(at).items())
    picks = data.draw(st.lists(st.integers(0, len(rows) - 1), max_size=10))
    taken = reader.rows(pa.array(picks, type=pa.int64()))
    assert len(taken) == len(picks)
    for got, at in zip(taken, picks):
        assert all(_same(got[k], expected[at][k]) for k in got)


def test_empty_table() -> None:
    reader = RowReader.of(pa.Table.from_pylist([], schema=_SCHEMA))
    assert reader.names == tuple(_SCHEMA.names)
    assert reader.rows(pa.array([], type=pa.int64())) == []


def test_a_date_and_a_time_come_back_as_python_values() -> None:
    t = pa.Table.from_pylist(
        [{"customer_id": "C1", "at": datetime(2025, 1, 2, tzinfo=UTC), "day": date(2025, 1, 3)}], schema=_SCHEMA
    )
    row = RowReader.of(t).row(0)
    assert row["at"] == datetime(2025, 1, 2, tzinfo=UTC) and row["day"] == date(2025, 1, 3)
