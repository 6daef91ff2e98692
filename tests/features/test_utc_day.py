"""The UTC day of a time and its week number, as the engine computes them, against Python's.

On DuckDB, :func:`custlens.features._base.day_of` takes the day of a UTC timestamp from
its microseconds since the epoch instead of a time-zone cast; these tests hold it to the
cast it replaces, to Python's ``datetime.date()`` and, for the weeks of
:func:`~custlens.features._base.period_index`, to the Monday truncation used before.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens.features._base import day_of, period_index, resolve_as_of

UTC = dt.UTC
EPOCH_MONDAY = dt.date(1970, 1, 5)

# before and after the epoch, near midnight and at whole days, leap days included
TIMES = st.one_of(
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda day, micros: dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(microseconds=micros),
        st.dates(min_value=dt.date(1960, 1, 1), max_value=dt.date(2040, 12, 31)),
        st.sampled_from([-1, 0, 1, 86_399_999_999, 86_400_000_000]),
    ),
)


def _table(times: list[dt.datetime | None]) -> ibis.Table:
    return ibis.memtable(pa.table({"at": pa.array(times, pa.timestamp("us", tz="UTC"))}))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), TIMES), min_size=1, max_size=30))
def test_day_and_week_agree_with_python_and_the_cast(times: list[dt.datetime | None]) -> None:
    t = _table(times)
    day = day_of(t.at)
    out = t.select(
        day=day,
        cast=t.at.date(),
        week=period_index(day, "W"),
        truncated=((day.truncate("W").epoch_days() - 4) / 7).round().cast("int64"),
    ).to_pyarrow()
    expected = [None if x is None else x.date() for x in times]
    assert out["day"].to_pylist() == expected
    assert out["cast"].to_pylist() == expected
    weeks = [None if d is None else (d - EPOCH_MONDAY).days // 7 for d in expected]
    assert out["week"].to_pylist() == weeks
    assert out["truncated"].to_pylist() == weeks


def test_day_skips_the_time_zone_cast_on_duckdb() -> None:
    t = _table([dt.datetime(2024, 1, 1, tzinfo=UTC)])
    sql = ibis.to_sql(t.select(day=day_of(t.at)), dialect="duckdb")
    assert "EPOCH_US" in sql and "MAKE_TIMESTAMP" in sql


def test_other_times_keep_the_cast() -> None:
    naive = ibis.memtable(pa.table({"at": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("us"))}))
    assert "EPOCH_US" not in ibis.to_sql(naive.select(day=day_of(naive.at)), dialect="duckdb")
    nanos = ibis.memtable(pa.table({"at": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("ns", tz="UTC"))}))
    day = nanos.select(day=day_of(nanos.at)).to_pyarrow()["day"].to_pylist()
    assert day == [dt.date(2024, 1, 1)]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TIMES, min_size=1, max_size=20))
def test_default_as_of_is_the_last_utc_day(times: list[dt.datetime]) -> None:
    t = _table(times)
    assert resolve_as_of(day_of(t.at), None) == max(times).date()
