"""as_of_date on a timestamp column takes the day of the extreme times: the same days as the
extremes of the days, and a query the engine can answer from a Parquet file's statistics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens.errors import InputError
from custlens.features import as_of_date
from custlens.ingest import scan_table

UTC = dt.UTC
TIMES = st.datetimes(
    min_value=dt.datetime(1999, 12, 31, 22), max_value=dt.datetime(2000, 1, 2, 2), timezones=st.just(UTC)
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), TIMES), min_size=1, max_size=20), st.sampled_from(["us", "ns"]))
def test_same_days_as_the_extremes_of_the_days(times: list[dt.datetime | None], unit: str) -> None:
    t = ibis.memtable(pa.table({"ordered_at": pa.array(times, pa.timestamp(unit, tz="UTC"))}))
    days = [x.date() for x in times if x is not None]
    if not days:
        with pytest.raises(InputError, match="no dated rows"):
            as_of_date(t)
        return
    assert as_of_date(t) == max(days)
    assert as_of_date(t, max(days)) == max(days)
    with pytest.raises(InputError, match="before the first transaction"):
        as_of_date(t, min(days) - dt.timedelta(days=1))


def test_parquet_file_and_text_dates(tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    at = [dt.datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC), dt.datetime(2024, 1, 2, 0, 0, tzinfo=UTC), None]
    pq.write_table(pa.table({"ordered_at": pa.array(at, pa.timestamp("us", tz="UTC"))}), path)
    assert as_of_date(scan_table(path)) == dt.date(2024, 3, 1)
    text = ibis.memtable(pa.table({"ordered_at": ["2024-01-02", "2024-03-01 23:59:59", None]}))
    assert as_of_date(text) == dt.date(2024, 3, 1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), TIMES), min_size=1, max_size=20))
def test_resolve_as_of_takes_the_last_day(times: list[dt.datetime | None]) -> None:
    from custlens.features._base import day_of, resolve_as_of

    t = ibis.memtable(pa.table({"ordered_at": pa.array(times, pa.timestamp("us", tz="UTC"))}))
    days = [x.date() for x in times if x is not None]
    if days:
        assert resolve_as_of(day_of(t.ordered_at), None) == max(days)
    else:
        with pytest.raises(InputError, match="no dated rows"):
            resolve_as_of(day_of(t.ordered_at), None)
