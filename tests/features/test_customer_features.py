"""Window and activity features, and the wide customer_features table, hand-checked on both backends."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens.errors import InputError
from custlens.features import (
    CUSTOMER_FEATURE_COLUMNS,
    INDICATOR_COLUMNS,
    activity_features,
    customer_features,
    to_frame,
    value_indicators,
    window_features,
)

from .conftest import put

AS_OF = dt.date(2024, 12, 31)
# customer, order, days before AS_OF, amount, quantity, return flag
LINES = [
    ("p", "o1", 10, 40.0, 1.0, False),
    ("p", "o2", 100, 30.0, 1.0, False),
    ("p", "o2", 100, 5.0, 1.0, False),  # a second line of order o2
    ("p", "o3", 200, 20.0, 1.0, False),
    ("p", "o4", 300, 10.0, 1.0, False),
    ("p", "o5", 400, 99.0, 1.0, False),  # before the trend window
    ("p", "r1", 50, -15.0, 1.0, True),  # a return with a negative amount
    ("p", "r2", 95, 5.0, 2.0, True),  # a return recorded with a positive amount and the flag
    ("p", "o9", -5, 500.0, 1.0, False),  # after the as-of day: ignored
    ("q", "o6", 0, 12.0, 1.0, False),  # bought on the as-of day
    ("s", "r3", 5, -8.0, 1.0, True),  # returns only
]


def _table() -> pa.Table:
    c, o, age, amount, qty, flag = zip(*LINES)
    when = [dt.datetime.combine(AS_OF - dt.timedelta(days=a), dt.time(12), dt.UTC) for a in age]
    return pa.table(
        {
            "customer_id": list(c),
            "order_id": list(o),
            "ordered_at": pa.array(when, pa.timestamp("us", tz="UTC")),
            "amount": list(amount),
            "quantity": list(qty),
            "return_flag": list(flag),
        }
    )


# Worked by hand (formulas in docs/features.md).
# window 120 days: o1, o2 (2 lines), r1, r2 -> orders 2, revenue 40 + 35 - 15 - 5, units 1 + 2 - 1 - 2
WINDOW = {"p": (2, 55.0, 0.0), "q": (1, 12.0, 1.0), "s": (0, -8.0, -1.0)}
# 4 periods of 90 days, x = 3 (newest) .. 0: p has y = 25 (40 - 15), 30 (35 - 5), 20, 10 -> sum 85,
# sum xy = 155, slope = (4 * 155 - 6 * 85) / (4 * 14 - 36) = 5.5, relative = 5.5 / (85 / 4);
# q: y = 12 at x = 3 -> slope (4 * 36 - 6 * 12) / 20 = 3.6, relative 3.6 / 3;
# s: y = -8 at x = 3 -> slope -2.4, relative null (mean revenue not positive)
ACTIVITY = {"p": (4, 85.0, 5.5, 5.5 / 21.25), "q": (1, 12.0, 3.6, 1.2), "s": (0, -8.0, -2.4, None)}


def _rows(expr) -> dict[str, dict]:
    return {r["customer_id"]: r for r in to_frame(expr, "arrow").to_pylist()}


def test_window_features_hand_checked(backend: object) -> None:
    t = put(backend, _table())
    got = _rows(window_features(t, as_of=AS_OF, window_days=120))
    assert {k: (r["window_orders"], r["window_revenue"], r["window_quantity"]) for k, r in got.items()} == WINDOW
    whole = _rows(window_features(t, as_of=AS_OF))  # the whole history: order_count, revenue, quantity
    ind = _rows(value_indicators(t, as_of=AS_OF))
    for cid, r in whole.items():
        assert (r["window_orders"], r["window_revenue"], r["window_quantity"]) == pytest.approx(
            (ind[cid]["order_count"], ind[cid]["revenue"], ind[cid]["quantity"])
        )


def test_activity_features_hand_checked(backend: object) -> None:
    got = _rows(activity_features(put(backend, _table()), as_of=AS_OF))
    for cid, (periods, revenue, slope, relative) in ACTIVITY.items():
        r = got[cid]
        assert (r["active_periods"], r["trend_revenue"], r["trend_slope"]) == pytest.approx((periods, revenue, slope))
        assert r["relative_trend"] == (None if relative is None else pytest.approx(relative))


def test_customer_features_is_value_indicators_plus_windows(backend: object) -> None:
    t = put(backend, _table())
    customers = put(backend, pa.table({"customer_id": ["p", "q", "s", "z"]}))
    wide = to_frame(
        customer_features(t, as_of=AS_OF, customers=customers, window_days=120), "arrow", order_by="customer_id"
    )
    ind = to_frame(value_indicators(t, as_of=AS_OF, customers=customers), "arrow", order_by="customer_id")
    assert wide.column_names[: len(INDICATOR_COLUMNS)] == list(INDICATOR_COLUMNS)
    assert wide.column_names[-len(CUSTOMER_FEATURE_COLUMNS) :] == list(CUSTOMER_FEATURE_COLUMNS)
    assert wide.select(ind.column_names).equals(ind)
    rows = {r["customer_id"]: r for r in wide.to_pylist()}
    assert rows["p"]["window_orders"] == 2 and rows["p"]["active_periods"] == 4
    assert rows["p"]["avg_order_value"] == pytest.approx((40 + 35 + 20 + 10 + 99 - 15 - 5) / 5)
    # z has no lines: zero orders, revenue and active periods; no trend
    z = rows["z"]
    assert (z["window_orders"], z["window_revenue"], z["active_periods"], z["trend_revenue"]) == (0, 0.0, 0, 0.0)
    assert z["trend_slope"] is None and z["relative_trend"] is None and z["avg_order_value"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_days": 0}, "'window_days' must be a whole number >= 1; got 0"),
        ({"period_days": 2.5}, "'period_days' must be a whole number >= 1; got 2.5"),
        ({"periods": True}, "'periods' must be a whole number >= 1; got True"),
    ],
)
def test_window_arguments_are_checked(kwargs: dict, message: str) -> None:
    import ibis

    with pytest.raises(InputError, match=message):
        customer_features(ibis.memtable(_table()), as_of=AS_OF, **kwargs)


def test_one_period_has_no_trend() -> None:
    import ibis

    got = _rows(activity_features(ibis.memtable(_table()), as_of=AS_OF, periods=1))
    assert got["q"]["active_periods"] == 1 and got["q"]["trend_slope"] is None


@pytest.mark.parametrize(
    "wanted",
    [
        ("recency_days",),
        ("order_count", "revenue", "window_orders", "window_revenue"),  # what RFM reads
        ("max_order_value", "avg_purchase_cycle_days"),
        ("relative_trend", "first_purchase_at", "return_count", "profit"),
        tuple((INDICATOR_COLUMNS + CUSTOMER_FEATURE_COLUMNS)[1::3]),
    ],
)
def test_a_subset_of_columns_equals_the_same_columns_of_the_whole_table(backend: object, wanted: tuple) -> None:
    t = put(backend, _table())
    full = customer_features(t, as_of=AS_OF, window_days=120)
    whole = _rows(full)
    part = customer_features(t, as_of=AS_OF, window_days=120, columns=wanted)
    assert part.columns == tuple(c for c in full.columns if c == "customer_id" or c in wanted)
    for cid, row in _rows(part).items():
        assert row == {k: whole[cid][k] for k in row}


def test_has_orders_is_order_count_above_zero(backend: object) -> None:
    """HAS_ORDERS holds exactly where order_count > 0: returns only, and purchases without an order id, do not count."""
    from custlens.features.indicators import HAS_ORDERS

    lines = _table()
    order = lines.column("order_id").to_pylist() + [None, None, "r9"]
    extra = {  # "n": a purchase whose order id is missing; "m": the same with a return that has one
        "customer_id": ["n", "m", "m"],
        "ordered_at": pa.array([dt.datetime(2024, 12, 1, tzinfo=dt.UTC)] * 3, pa.timestamp("us", tz="UTC")),
        "amount": [10.0, 10.0, -3.0],
        "quantity": [1.0, 1.0, 1.0],
        "return_flag": [False, False, True],
    }
    more = pa.table({**{k: extra[k] for k in extra}, "order_id": order[-3:]}).select(lines.column_names)
    t = put(backend, pa.concat_tables([lines, more]))
    customers = put(backend, pa.table({"customer_id": ["p", "q", "s", "n", "m", "z"]}))
    for kwargs in ({}, {"customers": customers}):
        feats = customer_features(t, as_of=AS_OF, columns=("order_count", HAS_ORDERS), **kwargs)
        rows = _rows(feats)
        assert HAS_ORDERS in feats.columns
        assert {cid: r[HAS_ORDERS] for cid, r in rows.items()} == {cid: r["order_count"] > 0 for cid, r in rows.items()}
        assert rows["p"][HAS_ORDERS] and not rows["s"][HAS_ORDERS] and not rows["n"][HAS_ORDERS]
    assert HAS_ORDERS not in customer_features(t, as_of=AS_OF).columns  # only when asked


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.integers(-3, 900), st.floats(-50, 50, allow_nan=False), st.booleans()),
        max_size=40,
    ),
    st.integers(1, 40),
    st.sampled_from([1, 2, 4, 12, 62, 63, 64, 80]),
)
def test_active_periods_counted_by_hand(lines: list, period_days: int, periods: int) -> None:
    """The periods with a purchase, counted in Python: DuckDB's bit mask (up to 63 periods) and the distinct count beyond."""
    import ibis

    from custlens.features._windows import _MASK_PERIODS

    assert _MASK_PERIODS == 63  # the cases above sit on both sides of the mask's limit
    start = dt.datetime.combine(AS_OF, dt.time(12), dt.UTC)
    table = pa.table(
        {
            "customer_id": [c for c, _, _, _ in lines],
            "order_id": [f"o{i}" for i in range(len(lines))],
            "ordered_at": pa.array([start - dt.timedelta(days=d) for _, d, _, _ in lines], pa.timestamp("us", "UTC")),
            "amount": [a for _, _, a, _ in lines],
            "return_flag": [r for _, _, _, r in lines],
        }
    )
    want: dict[str, set[int]] = {}
    for c, d, a, r in lines:
        if d >= 0:  # after the as-of day: not a line
            want.setdefault(c, set())
            if not (r or a < 0) and d < period_days * periods:
                want[c].add(d // period_days)
    for columns in (None, ("active_periods",)):
        got = activity_features(ibis.memtable(table), as_of=AS_OF, period_days=period_days, periods=periods)
        if columns:
            got = customer_features(
                ibis.memtable(table), as_of=AS_OF, period_days=period_days, periods=periods, columns=columns
            )
        assert {cid: r["active_periods"] for cid, r in _rows(got).items()} == {c: len(p) for c, p in want.items()}
