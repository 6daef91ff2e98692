"""The components of lifetime value, and its sensitivity to each factor the course text lists.

Seed 002 (第3章 客户终身价值) names the components -- CLV1 初次购买, CLV2 重复购买, CLV3 交叉销售,
CLV4 服务成本降低, CLV5 推荐收益, CLV6 客户忠诚带来的价值 -- the three readings of value
(历史价值, 当前价值, 潜在价值) and the factors: 时间长短, 贴现率, 客户的维系率, 产品被提及率,
客户的收入变化, 客户关系的维系成本, 营销费用. Seed 001 quotes the five points of retention
(企业如果能将客户维持率提高5 ...), the default retention step.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import custlens.clv._valuemath as valuemath
import custlens.clv.sensitivity as sensitivity_module
from custlens.clv import (
    COMPONENTS,
    FACTORS,
    PARTS,
    BetaGeo,
    clv_sensitivity,
    customer_lifetime_value,
    tornado_figure,
    tornado_table,
    value_components,
)
from custlens.clv._valuemath import MonthlyFlows, _retention_shift, future_value, monthly_flows
from custlens.clv.components import COMPONENT_COLUMNS, COST_LINES
from custlens.errors import InputError
from custlens.features import cost_features, purchase_history, value_indicators
from custlens.schema import units_per_month

PARTS_ORDER = {"historical": 0, "current": 1, "potential": 2}
MODEL = BetaGeo.from_params({"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258})  # CDNOW, FHL 2005a
AS_OF = dt.date(2024, 6, 30)


def ts(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


def _tx(with_margin: bool = True) -> pa.Table:
    rows = [
        ("a", "o1", ts(2023, 1, 1), 100.0, 40.0, 2.0, "p1", "shoes"),
        ("a", "o1", ts(2023, 1, 1), 50.0, 10.0, 1.0, "p2", "bags"),
        ("a", "o2", ts(2023, 6, 1), 60.0, 20.0, 1.0, "p1", "shoes"),
        ("a", "o3", ts(2024, 3, 1), 30.0, 9.0, 1.0, "p3", "hats"),
        ("a", "o4", ts(2024, 4, 1), 120.0, 50.0, 2.0, "p1", "shoes"),
        ("b", "o5", ts(2024, 2, 1), 55.0, 15.0, 1.0, "p1", "shoes"),
        ("b", "o6", ts(2024, 2, 10), 30.0, 6.0, 1.0, "p3", "hats"),
        ("c", "o7", ts(2022, 5, 1), 80.0, 30.0, 1.0, "p2", "bags"),
        ("c", "o8", ts(2022, 9, 1), 40.0, 12.0, 1.0, "p2", "bags"),
        ("d", "o9", ts(2024, 6, 1), 20.0, 5.0, 1.0, "p3", "hats"),
    ]
    c, o, d, am, mg, q, p, cat = zip(*rows)
    cols = {
        "customer_id": list(c),
        "order_id": list(o),
        "ordered_at": pa.array(d, pa.timestamp("us", tz="UTC")),
        "amount": list(am),
        "quantity": list(q),
        "product_id": list(p),
        "category": list(cat),
        "return_flag": [False] * len(rows),
    }
    if with_margin:
        cols["margin"] = list(mg)
    return pa.table(cols)


INTERACTIONS = pa.table(
    {
        "customer_id": ["a", "a", "b", "c", "c"],
        "occurred_at": pa.array(
            [ts(2023, 2, 1), ts(2024, 3, 5), ts(2024, 2, 5), ts(2022, 6, 1), ts(2024, 1, 1)],
            pa.timestamp("us", tz="UTC"),
        ),
        "kind": ["complaint", "inquiry", "complaint", "service_task", "complaint"],
    }
)
CUSTOMERS = pa.table(
    {
        "customer_id": ["a", "b", "c", "d"],
        "customer_type": ["personal"] * 4,
        "acquisition_channel": ["web", "referral", "referral", "store"],
    }
)
COSTS = {
    "cost_to_serve": {"complaint": 20.0, "inquiry": 5.0, "service_task": 12.0},
    "acquisition": {"referral": 10.0, "default": 30.0},
    "marketing": {"per_month": 1.5},
}


def _history(tx: pa.Table) -> pa.Table:
    h = purchase_history(ibis.memtable(tx), as_of=AS_OF, time_unit="W").order_by("customer_id").to_pyarrow()
    return h.append_column("expected_spend", pa.array([60.0, 40.0, 55.0, 20.0]))


def _components(costs=COSTS, tx=None, **kwargs):
    tx = _tx() if tx is None else tx
    return value_components(
        tx,
        _history(tx),
        MODEL,
        as_of=AS_OF,
        interactions=INTERACTIONS,
        customers=CUSTOMERS,
        costs=costs,
        horizon_months=12.0,
        monthly_discount=0.01,
        time_unit="W",
        **kwargs,
    )


@pytest.fixture(scope="module")
def result():
    return _components()


def _rows(table: pa.Table, part: str) -> dict[str, dict]:
    return {r["customer_id"]: r for r in table.to_pylist() if r["part"] == part}


def test_the_texts_components_and_parts() -> None:
    # seed 002: 客户终生价值的构成 CLV1 ... CLV6, and 历史价值 当前价值 潜在价值
    assert [(c.code, c.name_zh) for c in COMPONENTS] == [
        ("CLV1", "初次购买"),
        ("CLV2", "重复购买"),
        ("CLV3", "交叉销售"),
        ("CLV4", "服务成本降低"),
        ("CLV5", "推荐收益"),
        ("CLV6", "客户忠诚带来的价值"),
    ]
    assert PARTS == {"historical": "历史价值", "current": "当前价值", "potential": "潜在价值"}
    assert all(c.definition and c.needs for c in (*COMPONENTS, *COST_LINES))


def test_components_sum_to_the_value(result) -> None:
    t = result.customers
    assert t.column_names == list(COMPONENT_COLUMNS)
    assert t.num_rows == 3 * 4
    plus = sum(t[c.column].to_numpy() for c in COMPONENTS)
    minus = sum(t[c.column].to_numpy() for c in COST_LINES)
    np.testing.assert_allclose(t["value"].to_numpy(), plus - minus, rtol=1e-12, atol=1e-9)


def test_historical_value_is_net_value_plus_referral(result) -> None:
    """One definition: the historical components agree with features.cost_features."""
    feats = value_indicators(ibis.memtable(_tx()), customers=ibis.memtable(CUSTOMERS), as_of=AS_OF)
    costs = cost_features(feats, interactions=INTERACTIONS, costs=COSTS, as_of=AS_OF).to_pyarrow().to_pylist()
    net = {r["customer_id"]: r["net_value"] for r in costs}
    hist = _rows(result.customers, "historical")
    for cid, row in hist.items():
        assert row["value"] - row["referral"] == pytest.approx(net[cid]), cid


def test_historical_parts_by_hand(result) -> None:
    hist = _rows(result.customers, "historical")
    a, c = hist["a"], hist["c"]
    # p1's new-customer price (a's 100/2 and 60/1, b's 55/1) is 215 / 4 = 53.75: o4 pays 120 for 2, a
    # premium of 12.5; p3's (b's 30/1, d's 20/1) is 25: o3 pays 30, a premium of 5
    assert (a["first_purchase"], a["repeat_purchase"], a["cross_selling"], a["loyalty"]) == pytest.approx(
        (50.0, 20.0 + 50.0 - 12.5, 9.0 - 5.0, 12.5 + 5.0)
    )
    assert a["acquisition_cost"] == 30.0 and c["acquisition_cost"] == 10.0  # web (default), referral
    rate = result.details["new_customer_service_rate"]
    months_a = 546 / (365.25 / 12)
    assert a["baseline_service_cost"] == pytest.approx(rate * months_a)
    assert a["service_cost_saving"] == pytest.approx(rate * months_a - 25.0)
    assert a["marketing_cost"] == pytest.approx(1.5 * months_a)


def test_referral_value_is_the_referred_customers_value_shared_by_months(result) -> None:
    hist = _rows(result.customers, "historical")
    own = {k: r["value"] - r["referral"] for k, r in hist.items()}
    # b and c came by referral: their value to date is shared among all buyers by months
    total = own["b"] + own["c"]
    assert sum(r["referral"] for r in hist.values()) == pytest.approx(total)
    months = {k: r["baseline_service_cost"] / result.details["new_customer_service_rate"] for k, r in hist.items()}
    for k, r in hist.items():
        assert r["referral"] == pytest.approx(total * months[k] / sum(months.values())), k
    assert result.details["referred_customers"] == 2
    assert result.details["referral_rate"] == pytest.approx(2 / sum(months.values()))


def test_current_part_covers_the_last_twelve_months(result) -> None:
    cur = _rows(result.customers, "current")
    # a: acquired before the window, so no first purchase and no acquisition cost; d: acquired in it
    assert cur["a"]["first_purchase"] == 0.0 and cur["a"]["acquisition_cost"] == 0.0
    assert cur["d"]["first_purchase"] == 5.0 and cur["d"]["acquisition_cost"] == 30.0
    # c bought nothing in the window: its current value is the costs of keeping it
    assert cur["c"]["repeat_purchase"] == 0.0 and cur["c"]["cross_selling"] == 0.0
    assert result.details["current_since"] == "2023-07-01"


def test_potential_gross_equals_the_models_clv_in_revenue_terms() -> None:
    """Without margin columns and costs the potential part is customer_lifetime_value (margin 1)."""
    tx = _tx(with_margin=False)
    res = _components(costs=None, tx=tx)
    hist = _history(tx)
    clv = customer_lifetime_value(
        MODEL,
        hist["frequency"].to_numpy(),
        hist["recency"].to_numpy(),
        hist["T"].to_numpy(),
        hist["expected_spend"].to_numpy(),
        horizon_months=12.0,
        monthly_discount=0.01,
        time_unit="W",
        customer_id=hist["customer_id"],
    )
    pot = _rows(res.customers, "potential")
    expected = dict(zip(clv["customer_id"].to_pylist(), clv["clv"].to_pylist()))
    for cid, row in pot.items():
        gross = row["repeat_purchase"] + row["cross_selling"] + row["loyalty"]
        assert gross == pytest.approx(expected[cid], rel=1e-10), cid
        assert row["first_purchase"] == 0.0 and row["acquisition_cost"] == 0.0


def test_potential_costs_follow_the_expected_months_alive(result) -> None:
    pot = _rows(result.customers, "potential")
    hist = _history(_tx()).to_pylist()
    upm = units_per_month("W")
    a = next(h for h in hist if h["customer_id"] == "a")
    alive = [MODEL.p_alive_later(m * upm, a["frequency"], a["recency"], a["T"]) for m in range(1, 13)]
    months_alive = sum(float(np.squeeze(s)) * 1.01**-m for m, s in enumerate(alive, start=1))
    assert pot["a"]["marketing_cost"] == pytest.approx(1.5 * months_alive)
    per_month = result.details["referral_value_per_month"]
    assert pot["a"]["referral"] == pytest.approx(per_month * months_alive)


def test_summary_and_segments_add_up(result) -> None:
    summary = {r["part"]: r for r in result.summary().to_pylist()}
    assert [r["part_zh"] for r in result.summary().to_pylist()] == ["历史价值", "当前价值", "潜在价值"]
    segments = pa.table({"customer_id": ["a", "b", "c"], "segment": ["VIP", "small", "small"]})
    by = result.by_segment(segments).to_pylist()
    assert {r["segment"] for r in by} == {"VIP", "small", "(no segment)"}
    for part in PARTS:
        rows = [r for r in by if r["part"] == part]
        assert sum(r["value"] for r in rows) == pytest.approx(summary[part]["value"])
        assert sum(r["customers"] for r in rows) == 4
    side = result.side_by_side().to_pylist()
    assert [r["customer_id"] for r in side] == ["a", "b", "c", "d"]
    assert side[0]["potential_value"] == pytest.approx(_rows(result.customers, "potential")["a"]["value"])


@pytest.mark.parametrize("block", [1, 3, 1 << 20])
def test_sums_by_block_equal_the_sums_of_the_rows(block, monkeypatch) -> None:
    # summary() and by_segment() add the lines up block by block without building the rows;
    # the oracle is Arrow's own grouped sums over the rows (customers), as they were computed before
    import custlens.clv.components as components_module

    monkeypatch.setattr(components_module, "_BLOCK", block)
    result = _components()
    lines = [c for c in COMPONENT_COLUMNS if c not in ("customer_id", "part")]
    rows = result.customers
    segments = pa.table({"customer_id": ["d", "a", "c", "zz"], "segment": ["small", "VIP", "small", None]})
    names = {"a": "VIP", "c": "small", "d": "small"}
    seg = pa.array([names.get(c, "(no segment)") for c in rows["customer_id"].to_pylist()])
    for by, got in ((None, result.summary()), ("segment", result.by_segment(segments))):
        table = rows if by is None else rows.append_column("segment", seg)
        keys = ["part"] if by is None else ["segment", "part"]
        oracle = table.group_by(keys).aggregate([(c, "sum") for c in lines] + [("customer_id", "count")])
        expected = {tuple(r[k] for k in keys): r for r in oracle.to_pylist()}
        got_rows = got.to_pylist()
        assert len(got_rows) == len(expected)
        for r in got_rows:
            e = expected[tuple(r[k] for k in keys)]
            assert r["customers"] == e["customer_id_count"]
            for c in lines:
                assert r[c] == pytest.approx(e[f"{c}_sum"], rel=1e-12, abs=1e-9), (r["part"], c)
            if by is not None:
                assert r["value_mean"] == pytest.approx(e["value_sum"] / e["customer_id_count"], rel=1e-12)
        order = [(r["segment"], PARTS_ORDER[r["part"]]) for r in got_rows] if by else [r["part"] for r in got_rows]
        assert order == sorted(order) if by else order == list(PARTS)


def test_without_rows_keeps_the_sensitivity_inputs(result) -> None:
    light = result.without_rows()
    assert light.details == result.details and light.inputs is result.inputs
    with pytest.raises(InputError, match="without their per-buyer rows"):
        light.summary()
    assert clv_sensitivity(light).equals(clv_sensitivity(result))


def test_components_errors() -> None:
    tx = _tx()
    short = _history(tx).slice(0, 3)
    with pytest.raises(InputError, match="history has no row for 1 buyer.*first: customer 'd'"):
        value_components(tx, short, MODEL, as_of=AS_OF)
    with pytest.raises(InputError, match="'current_months' parameter of value_components must be a float > 0"):
        _components(current_months=0)
    with pytest.raises(InputError, match="'model' must be a CLVResult"):
        value_components(tx, _history(tx), "bgnbd", as_of=AS_OF)


# -- sensitivity ----------------------------------------------------------------------------------


def test_the_texts_factors_in_order() -> None:
    # seed 002: 影响客户终身价值的各种因素: 时间长短 贴现率 客户的维系率 产品被提及率 客户的收入变化
    # 客户关系的维系成本 营销费用
    assert [f.name_zh for f in FACTORS] == [
        "时间长短",
        "贴现率",
        "客户的维系率",
        "产品被提及率",
        "客户的收入变化",
        "客户关系的维系成本",
        "营销费用",
    ]


def _by_factor(table: pa.Table) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in sorted(table.to_pylist(), key=lambda r: (r["factor"], r["step"])):
        out.setdefault(r["factor"], []).append(r["clv"])
    return out


def _increasing(values: list[float]) -> bool:
    return all(x < y for x, y in zip(values, values[1:]))


def _decreasing(values: list[float]) -> bool:
    return all(x > y for x, y in zip(values, values[1:]))


def test_sensitivity_without_costs_is_monotone_where_it_must_be() -> None:
    """Every future month is worth something: value rises with retention, horizon, growth, referrals."""
    res = _components(costs=None)
    assert res.details["referral_customer_value"] > 0
    table = clv_sensitivity(res)
    base = float(pc.sum(res.part("potential")["value"]).as_py())
    assert sorted({r["step"] for r in table.to_pylist()}) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert all(r["clv"] == pytest.approx(base) for r in table.to_pylist() if r["step"] == 0)
    f = _by_factor(table)
    for name in ("retention", "horizon", "spend_growth", "referral"):
        assert _increasing(f[name]), (name, f[name])
    assert _decreasing(f["discount"]), f["discount"]
    # nothing to serve and no marketing: those factors change nothing
    assert f["cost_to_serve"] == pytest.approx([base] * 5) and f["marketing"] == pytest.approx([base] * 5)


def test_sensitivity_to_costs_and_referrals_follows_their_sign(result) -> None:
    f = _by_factor(clv_sensitivity(result))
    assert _decreasing(f["cost_to_serve"]) and _decreasing(f["marketing"])
    assert _increasing(f["spend_growth"])
    # referrals add the referred customers' value: here it is below zero, so more referrals cost value
    assert result.details["referral_customer_value"] < 0 and _decreasing(f["referral"])


def _sensitivity_by_buyer(res, relative=0.10, retention_points=0.05, growth_points=0.05) -> dict:
    """The oracle: every setting's total as the plain sum of future_value over all buyers at once."""
    d, inp = res.details, res.inputs
    base = {
        "horizon": float(d["horizon_months"]),
        "discount": float(d["monthly_discount"]),
        "retention": 0.0,
        "referral": float(d["referral_rate"]),
        "spend_growth": 0.0,
        "cost_to_serve": 1.0,
        "marketing": float(d["marketing_per_month"]),
    }
    out = {}
    for factor in FACTORS:
        for step in (-1.0, -0.5, 0.0, 0.5, 1.0):
            s = dict(base)
            if factor.name == "retention":
                s["retention"] = step * retention_points
            elif factor.name == "spend_growth":
                s["spend_growth"] = step * growth_points
            else:
                s[factor.name] = base[factor.name] * (1.0 + step * relative)
            flows = monthly_flows(
                res.purchase_model, inp["frequency"], inp["recency"], inp["T"], s["horizon"], inp["units_per_month"][0]
            )
            parts = future_value(
                flows,
                inp["spend"],
                inp["margin_rate"],
                inp["serve_cost"] * s["cost_to_serve"],
                discount=s["discount"],
                marketing=s["marketing"],
                referral_value=s["referral"] * float(d["referral_customer_value"]),
                growth=s["spend_growth"],
                retention_shift=s["retention"],
            )
            out[(factor.name, step)] = float(parts.value.sum())
    return out


@pytest.mark.parametrize("chunk", [None, 2])
def test_sensitivity_totals_equal_the_sum_over_buyers(result, chunk, monkeypatch) -> None:
    # the monthly sums (linear settings) and the chunks of buyers change nothing but the order of additions
    if chunk is not None:
        monkeypatch.setattr(sensitivity_module, "CHUNK", chunk)
    table = clv_sensitivity(result)
    oracle = _sensitivity_by_buyer(result)
    for row in table.to_pylist():
        assert row["clv"] == pytest.approx(oracle[(row["factor"], row["step"])], rel=1e-12, abs=1e-9), row


def test_components_in_chunks_equal_all_at_once(monkeypatch) -> None:
    whole = _components()
    monkeypatch.setattr(valuemath, "CHUNK", 3)
    chunked = _components()
    assert chunked.customers.column_names == whole.customers.column_names
    for name in whole.customers.column_names:
        if name in ("customer_id", "part"):
            assert chunked.customers[name].equals(whole.customers[name])
        else:
            np.testing.assert_allclose(
                chunked.customers[name].to_numpy(), whole.customers[name].to_numpy(), rtol=1e-12, atol=1e-9
            )


def test_retention_shift_by_hand() -> None:
    alive = np.array([[1.0, 0.9, 0.81]])
    widths = np.array([1.0, 1.0])
    shifted = _retention_shift(alive, widths, 0.05)
    r = (0.9**12 + 0.05) ** (1 / 12)  # a monthly 0.9 is an annual 0.2824; five points more
    np.testing.assert_allclose(shifted, [[1.0, r, r * r]])
    np.testing.assert_allclose(_retention_shift(alive, widths, 0.0), alive)
    flows = MonthlyFlows(np.array([[0.5, 0.45]]), alive, widths)
    base = future_value(flows, np.array([10.0]), np.array([1.0]), np.array([0.0]), discount=0.0)
    more = future_value(flows, np.array([10.0]), np.array([1.0]), np.array([0.0]), discount=0.0, retention_shift=0.05)
    assert base.gross[0] == pytest.approx(10 * (0.5 + 0.45))
    assert more.gross[0] == pytest.approx(10 * (0.5 * r / 0.9 + 0.45 * r * r / 0.81))


def test_tornado_table_and_figure(result) -> None:
    table = clv_sensitivity(result, steps=(-1.0, 1.0))
    tornado = tornado_table(table).to_pylist()
    assert {r["factor"] for r in tornado} == {f.name for f in FACTORS}
    swings = [r["swing"] for r in tornado]
    assert swings == sorted(swings, reverse=True)
    for r in tornado:
        assert r["swing"] == pytest.approx(abs(r["high_clv"] - r["low_clv"]))
    fig = tornado_figure(table)
    assert len(fig.data) == 2
    labels = list(fig.data[0].y)
    assert labels[-1] == f"{tornado[0]['factor']} {tornado[0]['factor_zh']}"  # the largest swing on top
    with pytest.raises(InputError, match="'relative' parameter of clv_sensitivity must be a float in"):
        clv_sensitivity(result, relative=2.0)


def test_potential_split_shares_lie_in_zero_one() -> None:
    """The potential gross profit is split by shares in [0, 1]; a near-zero signed sum does not blow them up.

    Before the fix a buyer whose later parts were +x cross-selling and -x loyalty (sum ~1e-17 by
    rounding) got shares of about 1e16 that cancelled only in the total.
    """
    from custlens.clv.components import _base_shares, _shares

    repeat = np.array([0.0, 10.0, 0.0, -5.0, 2.0])
    cross = np.array([0.1 + 0.2, 30.0, 0.0, -1.0, 2.0])
    loyalty = np.array([-0.3, -20.0, 0.0, -1.0, 0.0])
    base_cross, base_loyalty = _base_shares(repeat, cross, loyalty)
    cross_share, loyalty_share = _shares(repeat, cross, loyalty, base_cross, base_loyalty)
    assert cross_share[0] == 1.0 and loyalty_share[0] == 0.0  # only cross-selling is positive
    assert cross_share[1] == pytest.approx(0.75) and loyalty_share[1] == 0.0
    # no positive later profit: the base's shares, from the base's positive totals (7, 31.3, 0)
    assert base_cross == pytest.approx(31.3 / 38.3) and base_loyalty == 0.0
    assert cross_share[2] == base_cross and cross_share[3] == base_cross
    assert cross_share[4] == pytest.approx(0.5)
    rng = np.random.default_rng(7)
    parts = [rng.normal(size=2_000) * rng.choice([1e-9, 1.0, 1e6], size=2_000) for _ in range(3)]
    cross_share, loyalty_share = _shares(*parts, *_base_shares(*parts))
    for s in (cross_share, loyalty_share, cross_share + loyalty_share):
        assert np.all(np.isfinite(s)) and np.all((s >= 0) & (s <= 1 + 1e-12))


def test_potential_parts_stay_within_the_future_gross_profit(result) -> None:
    for cid, row in _rows(result.customers, "potential").items():
        gross = row["repeat_purchase"] + row["cross_selling"] + row["loyalty"]
        for line in ("repeat_purchase", "cross_selling", "loyalty"):
            assert -1e-9 <= row[line] <= gross + 1e-9, (cid, line)
