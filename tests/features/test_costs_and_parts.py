"""Costs, contribution and net value; the realised parts of lifetime value; share of wallet.

Hand-computed cases. Seed 004 (客户的认识) defines lifetime value as the profit contribution
minus the cost of getting and keeping the customer, with the example 10 years x $100 - $80
= $920, asserted here with :func:`custlens.clv.formula.simple_clv` and the costs of
:func:`custlens.features.cost_features`.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime

import ibis
import pyarrow as pa
import pytest

from custlens.clv.formula import simple_clv
from custlens.errors import ConfigError, InputError
from custlens.features import (
    COST_COLUMNS,
    PART_COLUMNS,
    cost_features,
    load_costs,
    new_customer_service_rate,
    share_of_wallet,
    value_indicators,
    value_parts,
    value_parts_windows,
)
from custlens.schema import DAYS_PER_MONTH


def ts(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


def _tx(rows: list[tuple]) -> pa.Table:
    """(customer, order, when, amount, margin, quantity, product, category)."""
    c, o, d, am, mg, q, p, cat = zip(*rows)
    return pa.table(
        {
            "customer_id": list(c),
            "order_id": list(o),
            "ordered_at": pa.array(d, pa.timestamp("us", tz="UTC")),
            "amount": list(am),
            "margin": list(mg),
            "quantity": list(q),
            "product_id": list(p),
            "category": list(cat),
            "return_flag": [a < 0 for a in am],
        }
    )


TX = _tx(
    [
        ("a", "o1", ts(2023, 1, 1), 100.0, 40.0, 2.0, "p1", "shoes"),
        ("a", "o1", ts(2023, 1, 1), 50.0, 10.0, 1.0, "p2", "bags"),
        ("a", "o2", ts(2023, 6, 1), 60.0, 20.0, 1.0, "p1", "shoes"),
        ("a", "o3", ts(2024, 3, 1), 30.0, 9.0, 1.0, "p3", "hats"),
        ("a", "o4", ts(2024, 4, 1), 120.0, 50.0, 2.0, "p1", "shoes"),
        ("b", "o5", ts(2024, 2, 1), 55.0, 15.0, 1.0, "p1", "shoes"),
        ("b", "o6", ts(2024, 2, 10), 30.0, 6.0, 1.0, "p3", "hats"),
    ]
)
INTERACTIONS = pa.table(
    {
        "customer_id": ["a", "a", "b", "b"],
        "occurred_at": pa.array(
            [ts(2023, 2, 1), ts(2024, 3, 5), ts(2024, 2, 5), ts(2024, 8, 1)], pa.timestamp("us", tz="UTC")
        ),
        "kind": ["complaint", "inquiry", "complaint", "visit"],
    }
)
CUSTOMERS = pa.table(
    {
        "customer_id": ["a", "b", "c"],
        "customer_type": ["personal"] * 3,
        "acquisition_channel": ["referral", "web", None],
    }
)
COSTS = {
    "cost_to_serve": {"complaint": 20.0, "inquiry": 5.0},
    "acquisition": {"referral": 10.0, "default": 30.0},
    "marketing": {"per_month": 1.5},
}
AS_OF = dt.date(2024, 6, 30)


# -- costs, contribution, net value -------------------------------------------------------------


def test_cost_features_by_hand() -> None:
    feats = value_indicators(ibis.memtable(TX), customers=ibis.memtable(CUSTOMERS), as_of=AS_OF)
    out = cost_features(feats, interactions=INTERACTIONS, costs=COSTS, as_of=AS_OF).order_by("customer_id")
    rows = {r["customer_id"]: r for r in out.to_pyarrow().to_pylist()}
    assert list(out.columns) == list(COST_COLUMNS)
    # a: complaint 20 + inquiry 5; 546 days of relationship = 17.938 months x 1.5; referral 10;
    # profit 40 + 10 + 20 + 9 + 50 = 129
    months_a = 546 / DAYS_PER_MONTH
    assert rows["a"]["service_cost"] == 25.0
    assert rows["a"]["marketing_cost"] == pytest.approx(1.5 * months_a)
    assert rows["a"]["acquisition_cost"] == 10.0
    assert rows["a"]["contribution"] == pytest.approx(129 - 25 - 1.5 * months_a)
    assert rows["a"]["net_value"] == pytest.approx(129 - 25 - 1.5 * months_a - 10)
    # b: the visit of 2024-08-01 is after the as-of date; visits cost `default` = 0 anyway
    months_b = 150 / DAYS_PER_MONTH
    assert rows["b"]["service_cost"] == 20.0 and rows["b"]["acquisition_cost"] == 30.0
    assert rows["b"]["contribution"] == pytest.approx(21 - 20 - 1.5 * months_b)
    # c never bought: no profit, no months, but it was acquired (default channel)
    assert rows["c"]["contribution"] == 0.0 and rows["c"]["net_value"] == -30.0


def test_costs_make_contribution_and_net_value_negative() -> None:
    feats = value_indicators(ibis.memtable(TX), as_of=AS_OF)
    expensive = {"cost_to_serve": {"complaint": 100.0}, "acquisition": {"default": 0.0}}
    rows = {
        r["customer_id"]: r
        for r in cost_features(feats, interactions=INTERACTIONS, costs=expensive, as_of=AS_OF).to_pyarrow().to_pylist()
    }
    assert rows["b"]["contribution"] == pytest.approx(21 - 100)
    assert rows["b"]["contribution"] < 0 and rows["b"]["net_value"] < 0
    assert rows["a"]["contribution"] == pytest.approx(129 - 100)


def test_seed_004_lifetime_value_example() -> None:
    """Seed 004: 保留时间是10年, 每年100美元的利润, 成本是80美元 -> 10年x100美元/年-80美元=920美元."""
    assert simple_clv(10, 100, 80) == 920.0
    # the same customer through cost_features: 10 years of 100 profit a year, acquired for 80
    feats = pa.table(
        {
            "customer_id": ["x"],
            "revenue": [1000.0],
            "profit": [1000.0],
            "tenure_days": [3652],
            "acquisition_channel": ["web"],
        }
    )
    row = cost_features(feats, costs={"acquisition": {"web": 80.0}}).to_pyarrow().to_pylist()[0]
    assert row["net_value"] == 920.0


def test_recorded_costs_and_gross_margin() -> None:
    feats = pa.table(
        {"customer_id": ["x", "y"], "revenue": [200.0, 0.0], "profit": [None, None], "tenure_days": [30, None]},
        schema=pa.schema(
            [
                ("customer_id", pa.string()),
                ("revenue", pa.float64()),
                ("profit", pa.float64()),
                ("tenure_days", pa.int64()),
            ]
        ),
    )
    records = pa.table(
        {
            "customer_id": ["x", "x", "y", "x"],
            "kind": ["service", "marketing", "acquisition", "marketing"],
            "amount": [7.0, 3.0, 11.0, 100.0],
            "incurred_at": pa.array(
                [ts(2024, 1, 1), ts(2024, 2, 1), None, ts(2025, 1, 1)], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    out = cost_features(feats, costs={"gross_margin": 0.25}, cost_records=records, as_of="2024-06-30")
    rows = {r["customer_id"]: r for r in out.to_pyarrow().to_pylist()}
    # x: profit unknown -> 200 x 0.25 = 50; service 7, marketing 3 (the 2025 row is after as_of)
    assert rows["x"]["contribution"] == pytest.approx(50 - 7 - 3)
    # y: no revenue -> gross 0; an undated acquisition cost always counts
    assert rows["y"]["net_value"] == pytest.approx(-11.0)
    no_margin = cost_features(feats).to_pyarrow().to_pylist()
    assert {r["customer_id"]: r["contribution"] for r in no_margin} == {"x": None, "y": 0.0}


@pytest.mark.parametrize(
    ("costs", "message"),
    [
        ({"cost_to_serve": {"complaint": -1}}, r"\[cost_to_serve\] 'complaint' must be a number >= 0, got -1"),
        ({"cost_to_serve": {"complain": 1}}, "'complain' is not an interaction kind; did you mean 'complaint'"),
        ({"marketing": {"per_year": 1}}, "unknown setting 'per_year'"),
        ({"costs_to_serve": {}}, "unknown setting 'costs_to_serve'; did you mean 'cost_to_serve'"),
        ({"gross_margin": 1.5}, "'gross_margin' must be a share in"),
    ],
)
def test_cost_configuration_errors(costs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_costs(costs)


def test_cost_features_needs_as_of_with_interactions() -> None:
    feats = value_indicators(ibis.memtable(TX), as_of=AS_OF)
    with pytest.raises(InputError, match="give 'as_of'"):
        cost_features(feats, interactions=INTERACTIONS)


# -- the realised parts of lifetime value -------------------------------------------------------


def test_value_parts_by_hand() -> None:
    out = value_parts(TX, as_of=AS_OF, interactions=INTERACTIONS, customers=CUSTOMERS, costs=COSTS)
    rows = {r["customer_id"]: r for r in out.to_pyarrow().to_pylist()}
    assert list(out.columns) == list(PART_COLUMNS)
    a = rows["a"]
    # first order o1: margins 40 + 10
    assert a["first_purchase"] == 50.0
    # reference price of p1 among new customers (first 365 days): a's 100/2 and 60/1, b's 55/1
    # -> 215 / 4 = 53.75; a's o4 (day 456) paid 120 for 2: premium 120 - 107.5 = 12.5
    assert a["loyalty"] == pytest.approx(12.5)
    # repeat (shoes, a category of the first order): o2 20 + o4 (50 - 12.5)
    assert a["repeat_purchase"] == pytest.approx(57.5)
    # cross-selling (hats, new): o3 margin 9; p3's reference price is b's 30, so no premium
    assert a["cross_selling"] == pytest.approx(9.0)
    assert a["first_purchase"] + a["repeat_purchase"] + a["cross_selling"] + a["loyalty"] == pytest.approx(
        a["gross_profit"]
    )
    assert a["service_cost"] == 25.0 and a["interactions"] == 2
    assert a["months"] == pytest.approx(546 / DAYS_PER_MONTH) and a["acquisition_channel"] == "referral"
    b = rows["b"]
    assert (b["first_purchase"], b["repeat_purchase"], b["cross_selling"], b["loyalty"]) == (15.0, 0.0, 6.0, 0.0)


def test_value_parts_current_window() -> None:
    out = value_parts(TX, as_of=AS_OF, since=dt.date(2023, 12, 31), interactions=INTERACTIONS, costs=COSTS)
    rows = {r["customer_id"]: r for r in out.to_pyarrow().to_pylist()}
    a = rows["a"]
    assert a["acquired"] is False and a["first_purchase"] == 0.0
    assert a["revenue"] == 150.0 and a["gross_profit"] == 59.0
    assert a["months"] == pytest.approx(182 / DAYS_PER_MONTH)
    assert a["service_cost"] == 5.0  # only the inquiry of 2024-03-05 is in the window
    assert rows["b"]["acquired"] is True and rows["b"]["first_purchase"] == 15.0


def test_value_parts_of_several_windows_equal_one_window_at_a_time() -> None:
    since = dt.date(2023, 12, 31)
    kw = dict(as_of=AS_OF, interactions=INTERACTIONS, customers=CUSTOMERS, costs=COSTS)
    wide = value_parts_windows(TX, windows={"all": None, "year": since}, **kw).order_by("customer_id").to_pyarrow()
    for window, start in (("all", None), ("year", since)):
        one = value_parts(TX, since=start, **kw).order_by("customer_id").to_pyarrow()
        for column in PART_COLUMNS:
            name = f"{window}__{column}" if f"{window}__{column}" in wide.column_names else column
            assert wide[name].to_pylist() == one[column].to_pylist(), (window, column)
    with pytest.raises(InputError, match="'windows' must name at least one window"):
        value_parts_windows(TX, windows={}, as_of=AS_OF)


def test_value_parts_without_categories_or_prices() -> None:
    slim = TX.drop_columns(["category", "product_id"])
    rows = {r["customer_id"]: r for r in value_parts(slim, as_of=AS_OF).to_pyarrow().to_pylist()}
    # every later line is a repeat purchase, no premium
    assert rows["a"]["cross_selling"] == 0.0 and rows["a"]["loyalty"] == 0.0
    assert rows["a"]["repeat_purchase"] == pytest.approx(20 + 9 + 50)


def test_new_customer_service_rate_by_hand() -> None:
    row = new_customer_service_rate(TX, INTERACTIONS, as_of=AS_OF, costs=COSTS).to_pyarrow().to_pylist()[0]
    # first 365 days: a's complaint (20) and b's complaint (20); a's inquiry is on day 429
    assert row["service_cost"] == 40.0
    # exposure: a min(546, 365) + b 150 days, in months
    assert row["months"] == pytest.approx((365 + 150) / DAYS_PER_MONTH)
    assert row["rate"] == pytest.approx(40.0 / ((365 + 150) / DAYS_PER_MONTH))


# -- share of wallet ----------------------------------------------------------------------------


def test_share_of_wallet_by_hand() -> None:
    est = pa.table({"customer_id": ["a", "b", "z"], "category_spend": [600.0, 50.0, 0.0]})
    rows = {r["customer_id"]: r for r in share_of_wallet(TX, est, as_of=AS_OF).to_pyarrow().to_pylist()}
    # the last 12 months (365 days): a 30 + 120, b 55 + 30
    assert rows["a"]["our_spend"] == 150.0 and rows["a"]["share_of_wallet"] == pytest.approx(0.25)
    assert rows["a"]["headroom"] == 450.0 and rows["a"]["estimate_below_spend"] is False
    assert rows["b"]["share_of_wallet"] == pytest.approx(85 / 50) and rows["b"]["headroom"] == 0.0
    assert rows["b"]["estimate_below_spend"] is True
    assert rows["z"]["our_spend"] == 0.0 and rows["z"]["share_of_wallet"] is None
    with pytest.raises(InputError, match="'months' must be a number > 0"):
        share_of_wallet(TX, est, months=0)
