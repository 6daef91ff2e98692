"""Lifecycle stages on hand-built period revenue (as of 2024-12-31, four 90-day periods)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from custlens.errors import ConfigError
from custlens.segment.lifecycle import lifecycle_stage_from_transactions

AS_OF = date(2024, 12, 31)
# (days before as-of, amount); periods: 0-89 newest (x=3) ... 270-359 oldest (x=0)
HISTORY = {
    "grow": [(300, 10.0), (200, 20.0), (100, 30.0), (10, 40.0), (700, 5.0)],  # 10,20,30,40
    "fall": [(300, 40.0), (200, 30.0), (100, 20.0), (10, 10.0), (700, 5.0)],  # 40,30,20,10
    "flat": [(300, 25.0), (200, 25.0), (100, 25.0), (10, 25.0), (700, 5.0)],  # 25 each
    "new": [(30, 100.0), (5, 100.0)],  # age 30 days
    "gone": [(500, 50.0), (400, 50.0)],  # cycle 100 -> lost after 300
}


@pytest.fixture
def tx() -> pa.Table:
    rows = []
    for cid, items in HISTORY.items():
        for i, (d, amt) in enumerate(items):
            rows.append((cid, f"{cid}{i}", datetime.combine(AS_OF - timedelta(days=d), datetime.min.time(), UTC), amt))
    c, o, w, a = zip(*rows)
    return pa.table(
        {
            "customer_id": list(c),
            "order_id": list(o),
            "ordered_at": pa.array(w, pa.timestamp("us", tz="UTC")),
            "amount": list(a),
        }
    )


def test_stages_and_trend(tx) -> None:
    res = lifecycle_stage_from_transactions(tx, as_of=AS_OF)
    rows = {r["customer_id"]: r for r in res.customers.to_pyarrow().to_pylist()}
    assert {k: v["segment"] for k, v in rows.items()} == {
        "grow": "growth",
        "fall": "decline",
        "flat": "maturity",
        "new": "acquisition",
        "gone": "termination",
    }
    # least squares slope of 10,20,30,40 over x = 0..3 is 10; mean 25 -> 0.4
    assert rows["grow"]["trend_slope"] == pytest.approx(10.0)
    assert rows["grow"]["relative_trend"] == pytest.approx(0.4)
    assert rows["fall"]["relative_trend"] == pytest.approx(-0.4)
    assert rows["flat"]["trend_slope"] == pytest.approx(0.0)
    assert rows["grow"]["segment_zh"] == "成长期"
    summ = {r["segment"]: r["customers"] for r in res.summary.to_pyarrow().to_pylist()}
    assert sum(summ.values()) == 5


def test_thresholds_are_configuration(tx) -> None:
    res = lifecycle_stage_from_transactions(tx, as_of=AS_OF, config={"growth_slope": 0.5})
    rows = {r["customer_id"]: r["segment"] for r in res.customers.to_pyarrow().to_pylist()}
    assert rows["grow"] == "maturity"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"window_periods": 1}, "at least 2"),
        ({"growth_slope": -0.5}, "must not exceed 'growth_slope'"),
        ({"termination": {"floor": 3}}, "did you mean 'floor_days'"),
    ],
)
def test_bad_lifecycle_configuration(tx, config, message) -> None:
    with pytest.raises(ConfigError, match=message):
        lifecycle_stage_from_transactions(tx, as_of=AS_OF, config=config)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_lifecycle_on_every_backend(backend, tx) -> None:
    import ibis

    t = backend.create_table("seg_life_tx", ibis.memtable(tx), overwrite=True)
    rows = {
        r["customer_id"]: r
        for r in lifecycle_stage_from_transactions(t, as_of=AS_OF).customers.to_pyarrow().to_pylist()
    }
    assert {k: v["segment"] for k, v in rows.items()} == {
        "grow": "growth",
        "fall": "decline",
        "flat": "maturity",
        "new": "acquisition",
        "gone": "termination",
    }
    assert rows["grow"]["trend_slope"] == pytest.approx(10.0)


def test_a_trend_on_the_decline_threshold_but_for_its_last_bit_is_not_a_decline() -> None:
    import ibis

    from custlens.segment import lifecycle_stage

    base = {
        "customer_id": ["a", "b"],
        "order_count": [5, 5],
        "revenue": [100.0, 100.0],
        "tenure_days": [900, 900],
        "recency_days": [10, 10],
        "avg_purchase_cycle_days": [30.0, 30.0],
        "trend_revenue": [100.0, 100.0],
        "trend_slope": [-2.5, -2.5],
        "relative_trend": [-0.1, -0.10000000000000017],  # the same trend, summed in two orders
    }
    got = lifecycle_stage(ibis.memtable(base), config={"decline_slope": -0.1}).customers.order_by("customer_id")
    stages = got.segment.to_pyarrow().to_pylist()
    assert stages[0] == stages[1]


def _with_edge_customers(tx: pa.Table) -> pa.Table:
    """``tx`` and three customers that are not buyers or are on the edge of it.

    "ret" has only a return; "noid" a purchase without an order id; "mix" a purchase
    without an order id and one with.
    """
    when = datetime.combine(AS_OF - timedelta(days=20), datetime.min.time(), UTC)
    more = pa.table(
        {
            "customer_id": ["ret", "noid", "mix", "mix"],
            "order_id": ["r1", None, None, "m1"],
            "ordered_at": pa.array([when] * 4, pa.timestamp("us", tz="UTC")),
            "amount": [-5.0, 10.0, 10.0, 20.0],
        }
    )
    return pa.concat_tables([tx, more])


def test_from_transactions_equals_the_stages_of_the_features(tx) -> None:
    """The transactions path filters buyers without counting orders: same rows and summary as from the features."""
    import ibis

    from custlens.features import customer_features
    from custlens.segment import lifecycle_stage

    t = ibis.memtable(_with_edge_customers(tx))
    direct = lifecycle_stage_from_transactions(t, as_of=AS_OF)
    feats = customer_features(t, as_of=AS_OF, period_days=90, periods=4)
    via = lifecycle_stage(feats, as_of=AS_OF)
    got = direct.customers.order_by("customer_id").to_pyarrow()
    assert got.equals(via.customers.order_by("customer_id").to_pyarrow())
    assert set(got.column("customer_id").to_pylist()) == {*HISTORY, "mix"}  # not "ret", not "noid"
    assert direct.summary.to_pyarrow().equals(via.summary.to_pyarrow())
