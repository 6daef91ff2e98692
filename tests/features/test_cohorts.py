"""period_values, cohort_table and cohort_triangle: hand-checked on both backends."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from custlens.errors import InputError
from custlens.features import cohort_table, cohort_triangle, period_values, to_frame

from .conftest import put

UTC = dt.UTC


def ts(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 8, tzinfo=UTC)


LINES = pa.table(
    {
        "order_id": ["1", "2", "2", "3", "4", "5", "6", "7", "8"],
        "customer_id": ["a", "a", "a", "a", "b", "b", "c", "a", "b"],
        "ordered_at": pa.array(
            [
                ts(2024, 1, 3),
                ts(2024, 1, 20),
                ts(2024, 1, 20),
                ts(2024, 3, 3),
                ts(2024, 1, 9),
                ts(2024, 2, 9),
                ts(2024, 2, 1),
                ts(2024, 3, 9),
                ts(2024, 4, 2),
            ],
            pa.timestamp("us", tz="UTC"),
        ),
        "amount": [10.0, 4.0, 6.0, 20.0, 5.0, 5.0, 7.0, -20.0, 50.0],
        "cost": [5.0, 2.0, 3.0, 10.0, 1.0, 1.0, 1.0, -10.0, 1.0],
        "return_flag": [False, False, False, False, False, False, False, True, False],
    }
)
AS_OF = "2024-03-31"  # order 8 (April) is ignored


def test_period_values_hand_checked(backend: object) -> None:
    got = to_frame(
        period_values(put(backend, LINES), time_unit="M", as_of=AS_OF), order_by=["customer_id", "period_start"]
    )
    assert list(got.columns) == ["customer_id", "period_start", "orders", "revenue", "profit"]
    got["period_start"] = pd.to_datetime(got["period_start"]).dt.strftime("%Y-%m-%d")
    rows = [tuple(r) for r in got.itertuples(index=False)]
    assert rows == [
        ("a", "2024-01-01", 2, 20.0, 10.0),  # orders 1 and 2 (two lines)
        ("a", "2024-03-01", 1, 0.0, 0.0),  # order 3 (20) and return 7 (-20)
        ("b", "2024-01-01", 1, 5.0, 4.0),
        ("b", "2024-02-01", 1, 5.0, 4.0),
        ("c", "2024-02-01", 1, 7.0, 6.0),
    ]


def test_cohort_table_and_triangle_hand_checked(backend: object) -> None:
    t = put(backend, LINES)
    got = to_frame(cohort_table(t, time_unit="M", as_of=AS_OF), order_by=["cohort", "period_index"])
    assert list(got.columns) == ["cohort", "period_index", "active_customers", "revenue", "cohort_size", "retention"]
    got["cohort"] = pd.to_datetime(got["cohort"]).dt.strftime("%Y-%m")
    rows = [tuple(r) for r in got.itertuples(index=False)]
    # January cohort {a, b}: Jan both, Feb b, Mar a (purchase 20, return -20);
    # February cohort {c}: Feb only.
    assert rows == [
        ("2024-01", 0, 2, 25.0, 2, 1.0),
        ("2024-01", 1, 1, 5.0, 2, 0.5),
        ("2024-01", 2, 1, 0.0, 2, 0.5),
        ("2024-02", 0, 1, 7.0, 1, 1.0),
    ]
    by_revenue = to_frame(
        cohort_table(t, time_unit="M", as_of=AS_OF, value="revenue"), order_by=["cohort", "period_index"]
    )
    np.testing.assert_allclose(by_revenue["retention"], [1.0, 5 / 25, 0.0, 1.0])
    tri = cohort_triangle(got.assign(cohort=pd.to_datetime(got["cohort"])), "active_customers")
    assert tri.shape == (2, 3)
    np.testing.assert_array_equal(tri.to_numpy()[0], [2, 1, 1])
    # February cohort: March observed (0 active), no third period yet
    assert tri.to_numpy()[1, 1] == 0 and np.isnan(tri.to_numpy()[1, 2])


def test_weekly_cohorts_and_errors() -> None:
    import ibis

    t = put(ibis.duckdb.connect(), LINES)
    got = to_frame(cohort_table(t, time_unit="W", as_of=AS_OF), order_by=["cohort", "period_index"])
    # a: 2024-01-03 is in the week of Monday 2024-01-01; b: 01-09 in the week of 01-08
    cohorts = pd.to_datetime(got["cohort"]).dt.strftime("%Y-%m-%d").unique().tolist()
    assert cohorts == ["2024-01-01", "2024-01-08", "2024-01-29"]
    with pytest.raises(InputError, match="'value' must be"):
        cohort_table(t, value="profit")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'measure' must be one of"):
        cohort_triangle(got, "orders")
