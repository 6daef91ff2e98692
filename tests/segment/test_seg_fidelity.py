"""Fidelity to the course texts: the airline RFM table, the stage, matrix, ABC and pyramid names.

Each value asserted here is quoted from a course text in ``/work/shared/seeds/`` (outside
the repository), named beside it:

* 000 -- 客户关系管理 第三章 客户识别与区分 (identification and segmentation): the airline RFM
  table, the customer lifecycle (潜在获取期 ... 终止期), ABC (高端/大/中等/小客户), CLV classes
  (贵宾型/改进型/维持型/放弃型, 放弃型 = 负值客户 below-zero);
* 001 -- CRM02 (value and satisfaction): the value pyramid VIP客户 1 %, 主要客户 4 %,
  普通客户 15 %, 小客户;
* 002 -- 第3章 客户终身价值: 黄金客户, 流星客户, 小溪客户, 负担客户;
* 004 -- 第二章 客户的认识: the relationship lifecycle 培育期, 成长期, 回报期, 挽留期, 终止期.
"""

from __future__ import annotations

import math
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from custlens.errors import ConfigError
from custlens.segment import abc_classes, clv_matrix, lifecycle_stage_from_transactions, rfm, value_pyramid
from custlens.segment.rfm import SHIPPED_THRESHOLDS, rfm_from_transactions

DEFAULTS = Path(__file__).parents[2] / "src" / "custlens" / "segment" / "defaults"

# -- the airline table (seed 000, 五、RFM分类法, 例: 航空公司) ------------------------------------


def _features(rows: list[tuple[str, int, int, float]]) -> pa.Table:
    """customer, recency_days, flights in the window, revenue in the window."""
    cid, rec, orders, revenue = zip(*rows)
    return pa.table(
        {
            "customer_id": list(cid),
            "recency_days": list(rec),
            "window_orders": list(orders),
            "window_revenue": list(revenue),
        }
    )


def _scores(rows: list[tuple[str, int, int, float]], dim: str) -> dict[str, int]:
    res = rfm(_features(rows), thresholds="airline")
    df = res.customers.to_pyarrow().to_pylist()
    return {r["customer_id"]: r[dim] for r in df}


def test_airline_table_is_shipped_by_name_with_the_texts_measures() -> None:
    assert SHIPPED_THRESHOLDS == {"airline": "rfm_airline"}
    doc = tomllib.loads((DEFAULTS / "rfm_airline.toml").read_text(encoding="utf-8"))
    # seed 000: 在过去24个月之中购买次数 (flights in the last 24 months); 平均消费金额 (average spend)
    assert doc["measures"] == {"recency_unit": "months", "frequency_window_days": 730, "monetary": "average"}
    assert doc["thresholds"]["closed"] == "right"


def test_airline_recency_scores() -> None:
    # seed 000: 5 = 不超过1个月, 4 = 1个月之前, 3 = 3个月之前, 2 = 6个月之前, 1 = 12个月之前
    # months of 30.4375 days: 30 d = 0.99, 31 d = 1.02, 91 d = 2.99, 92 d = 3.02, 182 d = 5.98,
    # 183 d = 6.01, 365 d = 11.99, 366 d = 12.02 months
    days = {"r0": 0, "r30": 30, "r31": 31, "r91": 91, "r92": 92, "r182": 182, "r183": 183, "r365": 365, "r366": 366}
    got = _scores([(k, d, 1, 100.0) for k, d in days.items()], "r_score")
    assert got == {"r0": 5, "r30": 5, "r31": 4, "r91": 4, "r92": 3, "r182": 3, "r183": 2, "r365": 2, "r366": 1}


def test_airline_frequency_scores() -> None:
    # seed 000: 1 = 少于2次, 2 = 2-5次, 3 = 6-10次, 4 = 11-23次, 5 = 多于24次 (24 itself: 5)
    flights = [1, 2, 5, 6, 10, 11, 23, 24, 40]
    got = _scores([(f"f{n}", 10, n, 100.0 * n) for n in flights], "f_score")
    assert got == {"f1": 1, "f2": 2, "f5": 2, "f6": 3, "f10": 3, "f11": 4, "f23": 4, "f24": 5, "f40": 5}


def test_airline_monetary_scores_on_average_spend() -> None:
    # seed 000: 平均消费金额 1 = 少于500元, 2 = 501-1000元, 3 = 1001-3000元, 4 = 3001-5000元,
    # 5 = 5000元以上; 500 itself scores 1, each upper end belongs to its range
    averages = [100.0, 500.0, 500.5, 1000.0, 1001.0, 3000.0, 3001.0, 5000.0, 5000.5]
    rows = [(f"m{a:g}", 10, 2, 2 * a) for a in averages]  # two flights: the average is half the total
    got = _scores(rows, "m_score")
    assert got == {
        "m100": 1,
        "m500": 1,
        "m500.5": 2,
        "m1000": 2,
        "m1001": 3,
        "m3000": 3,
        "m3001": 4,
        "m5000": 4,
        "m5000.5": 5,
    }


def test_airline_counts_flights_in_the_last_24_months_only() -> None:
    as_of = datetime(2025, 12, 31, 12, tzinfo=UTC)
    when = [as_of - timedelta(days=d) for d in (800, 700, 400, 100, 10)]  # 800 days ago is outside 730
    t = pa.table(
        {
            "customer_id": ["a"] * 5,
            "order_id": [f"o{i}" for i in range(5)],
            "ordered_at": pa.array(when, pa.timestamp("us", tz="UTC")),
            "amount": [9000.0, 600.0, 600.0, 900.0, 900.0],
        }
    )
    row = rfm_from_transactions(t, as_of=as_of.date(), thresholds="airline").customers.to_pyarrow().to_pylist()[0]
    assert row["frequency"] == 4  # 4 flights in 730 days: 2-5 -> 2
    assert row["f_score"] == 2
    assert row["monetary"] == pytest.approx(750.0)  # (600 + 600 + 900 + 900) / 4 -> 501-1000 -> 2
    assert row["m_score"] == 2 and row["r_score"] == 5


def test_closed_right_rules_are_checked_with_their_notation() -> None:
    bad = {"closed": "right", "recency": [{"score": 1, "max": 10}, {"score": 2, "min": 8}]}
    with pytest.raises(ConfigError, match=r"rule 2 \(score 2: \(8, inf\]\) overlaps rule 1 \(score 1: \(-inf, 10\]\)"):
        rfm(_features([("a", 1, 1, 1.0)]), thresholds=bad)
    with pytest.raises(ConfigError, match="'closed' must be 'left'"):
        rfm(_features([("a", 1, 1, 1.0)]), thresholds={"closed": "both", "recency": [{"score": 1}]})


def test_left_closed_remains_the_default() -> None:
    rules = {"monetary": [{"score": 1, "max": 500}, {"score": 2, "min": 500}]}
    got = rfm(
        _features([("a", 1, 1, 500.0), ("b", 1, 1, 499.0)]), thresholds=rules, config={"bins": 2}, segment_map="cn8"
    )
    scores = {r["customer_id"]: r["m_score"] for r in got.customers.to_pyarrow().to_pylist()}
    assert scores == {"a": 2, "b": 1}


# -- lifecycle stages in both variants (seed 000 and seed 004) ------------------------------------


def _tx(spec: dict[str, list[tuple[int, float]]], as_of: datetime) -> pa.Table:
    rows = [
        (c, f"{c}{i}", as_of - timedelta(days=d), a) for c, orders in spec.items() for i, (d, a) in enumerate(orders)
    ]
    cid, oid, when, amount = zip(*rows)
    return pa.table(
        {
            "customer_id": list(cid),
            "order_id": list(oid),
            "ordered_at": pa.array(when, pa.timestamp("us", tz="UTC")),
            "amount": list(amount),
        }
    )


AS_OF = datetime(2025, 12, 31, 12, tzinfo=UTC)
STAGE_SPEC = {
    "new": [(30, 10.0), (10, 10.0)],  # tenure < 180: acquisition
    "grow": [(400, 10.0), (300, 10.0), (200, 20.0), (100, 40.0), (20, 80.0)],  # rising revenue: growth
    "steady": [(400, 50.0), (300, 50.0), (200, 50.0), (100, 50.0), (20, 50.0)],  # flat: maturity
    "fade": [(400, 80.0), (300, 80.0), (200, 40.0), (100, 20.0), (60, 10.0)],  # falling: decline
    "gone": [(900, 50.0), (800, 50.0)],  # silent for 800 days: termination
}


def test_lifecycle_default_names_are_the_customer_lifecycle_of_seed_000() -> None:
    res = lifecycle_stage_from_transactions(_tx(STAGE_SPEC, AS_OF), as_of=AS_OF.date())
    rows = {r["customer_id"]: (r["segment"], r["segment_zh"]) for r in res.customers.to_pyarrow().to_pylist()}
    # seed 000: 潜在获取期、客户成长期、客户成熟期、客户衰退期、客户终止期
    assert rows == {
        "new": ("acquisition", "潜在获取期"),
        "grow": ("growth", "成长期"),
        "steady": ("maturity", "成熟期"),
        "fade": ("decline", "衰退期"),
        "gone": ("termination", "终止期"),
    }
    assert [r["segment_zh"] for r in res.summary.order_by("segment_rank").to_pyarrow().to_pylist()] == [
        "潜在获取期",
        "成长期",
        "成熟期",
        "衰退期",
        "终止期",
    ]


def test_lifecycle_relationship_variant_of_seed_004() -> None:
    res = lifecycle_stage_from_transactions(
        _tx(STAGE_SPEC, AS_OF), as_of=AS_OF.date(), config={"variant": "relationship"}
    )
    rows = {r["customer_id"]: (r["segment"], r["segment_zh"]) for r in res.customers.to_pyarrow().to_pylist()}
    # seed 004: 客户关系培育期, 成长期, 回报期, 挽留期, 终止期 -- the same customers, the other names
    assert rows == {
        "new": ("cultivation", "培育期"),
        "grow": ("growth", "成长期"),
        "steady": ("payback", "回报期"),
        "fade": ("retention", "挽留期"),
        "gone": ("termination", "终止期"),
    }


def test_lifecycle_variant_errors_and_old_names_table() -> None:
    with pytest.raises(ConfigError, match="'variant' must be one of 'lifecycle', 'relationship', got 'relation'"):
        lifecycle_stage_from_transactions(_tx(STAGE_SPEC, AS_OF), as_of=AS_OF.date(), config={"variant": "relation"})
    res = lifecycle_stage_from_transactions(
        _tx(STAGE_SPEC, AS_OF), as_of=AS_OF.date(), config={"names": {"growth": "形成期"}}
    )
    rows = {r["customer_id"]: r["segment_zh"] for r in res.customers.to_pyarrow().to_pylist()}
    assert rows["grow"] == "形成期" and rows["steady"] == "成熟期"


# -- the CLV matrix (seed 000 CLV分类法, seed 002 客户分类) ----------------------------------------

M = pa.table(
    {
        "customer_id": list("abcdefg"),
        "current": [100.0, 10.0, 90.0, 20.0, 5.0, 80.0, 15.0],  # median 20
        "potential": [50.0, 60.0, 5.0, 8.0, -30.0, -200.0, 30.0],  # median 8
    }
)


def _matrix(**kwargs) -> dict[str, dict]:
    res = clv_matrix(M, current_col="current", potential_col="potential", **kwargs)
    return {r["customer_id"]: r for r in res.customers.to_pyarrow().to_pylist()}


def test_clv_matrix_names_are_the_texts() -> None:
    rows = _matrix()
    # seed 000: 贵宾型客户 (MVC), 改进型客户 (MGC), 维持型客户, 放弃型客户 (负值客户, below-zero)
    # seed 002: 黄金客户, 小溪客户, 流星客户, 负担客户
    assert (rows["a"]["segment"], rows["a"]["segment_zh"], rows["a"]["alias_zh"]) == (
        "most_valuable",
        "贵宾型客户",
        "黄金客户",
    )
    assert (rows["b"]["segment"], rows["b"]["segment_zh"], rows["b"]["alias_zh"]) == (
        "most_growable",
        "改进型客户",
        "小溪客户",
    )
    assert (rows["c"]["segment"], rows["c"]["segment_zh"], rows["c"]["alias_zh"]) == (
        "maintain",
        "维持型客户",
        "流星客户",
    )
    assert (rows["e"]["segment"], rows["e"]["segment_zh"], rows["e"]["alias_zh"]) == (
        "abandon",
        "放弃型客户",
        "负担客户",
    )


def test_abandon_is_value_below_zero_not_the_bottom_cell() -> None:
    rows = _matrix()
    # e: 5 + (-30) < 0 -> abandon; f: 80 + (-200) < 0 -> abandon although its current value is high
    assert rows["e"]["segment"] == "abandon" and rows["f"]["segment"] == "abandon"
    # d: low current (20 is not above the median 20), low potential (8), but value 28 >= 0 -> maintain
    assert rows["d"]["current_level"] == "low" and rows["d"]["potential_level"] == "low"
    assert rows["d"]["segment"] == "maintain"
    # g: low current, high potential -> most growable
    assert rows["g"]["segment"] == "most_growable"
    assert sum(r["segment"] == "abandon" for r in rows.values()) == 2


def test_abandon_rule_is_configurable() -> None:
    quad = _matrix(abandon="quadrant")
    # the plain matrix: the low-low cell (d, e) is abandon, f (high current, low potential) maintain
    assert {k for k, r in quad.items() if r["segment"] == "abandon"} == {"d", "e"}
    assert quad["f"]["segment"] == "maintain"
    pot = _matrix(config={"clv_matrix": {"abandon_value": "potential"}})
    assert {k for k, r in pot.items() if r["segment"] == "abandon"} == {"e", "f"}
    cur = _matrix(config={"clv_matrix": {"abandon_value": "current"}})
    assert not any(r["segment"] == "abandon" for r in cur.values())  # every current value is >= 0
    with pytest.raises(ConfigError, match="'abandon' must be one of below_zero, quadrant, got 'median'"):
        _matrix(abandon="median")


def test_abandon_follows_a_negative_net_value() -> None:
    """A customer made negative by its costs falls into abandon (features.cost_features -> clv_matrix)."""
    from custlens.features import cost_features

    feats = pa.table(
        {
            "customer_id": ["rich", "costly"],
            "revenue": [1000.0, 200.0],
            "profit": [300.0, 40.0],
            "tenure_days": [365, 365],
            "acquisition_channel": ["web", "web"],
        }
    )
    potential = pa.array([100.0, 5.0])

    def segments(costs: dict | None) -> dict[str, str]:
        t = cost_features(feats, costs=costs).to_pyarrow().append_column("potential", potential)
        res = clv_matrix(t, current_col="net_value", potential_col="potential")
        return {r["customer_id"]: r["segment"] for r in res.customers.to_pyarrow().to_pylist()}

    # without costs both customers are worth something: net value = profit (300, 40)
    assert segments(None) == {"rich": "most_valuable", "costly": "maintain"}
    # an acquisition cost of 50 makes "costly" worth 40 - 50 = -10 to date, -10 + 5 = -5 in all: abandon
    assert segments({"acquisition": {"web": 50.0}}) == {"rich": "most_valuable", "costly": "abandon"}


# -- ABC and the value pyramid (seed 000, seed 001) -----------------------------------------------


def test_abc_keeps_its_letters_with_the_texts_four_names() -> None:
    values = pa.table(
        {"customer_id": [str(i) for i in range(10)], "revenue": [500.0, 300, 80, 40, 30, 20, 10, 10, 5, 5]}
    )
    res = abc_classes(values)
    names = {r["segment"]: r["segment_zh"] for r in res.summary.to_pyarrow().to_pylist()}
    # seed 000: 根据客户对企业的贡献,分为 高端客户 大客户 中等客户 小客户
    assert names == {"A": "A类（高端客户、大客户）", "B": "B类（中等客户）", "C": "C类（小客户）"}
    joined = "".join(names.values())
    assert all(n in joined for n in ("高端客户", "大客户", "中等客户", "小客户"))


def test_pyramid_names_and_shares_of_seed_001() -> None:
    doc = tomllib.loads((DEFAULTS / "abc.toml").read_text(encoding="utf-8"))
    tiers = [(t["name_zh"], t["top"]) for t in doc["tier"]]
    # seed 001: VIP客户,1% 主要客户,4% 普通客户,15% 小客户 -> cumulative 1 %, 5 %, 20 %, 100 %
    assert [n for n, _ in tiers] == ["VIP客户", "主要客户", "普通客户", "小客户"]
    assert [t for _, t in tiers] == pytest.approx([0.01, 0.05, 0.20, 1.0])
    values = pa.table({"customer_id": [str(i) for i in range(100)], "revenue": [float(100 - i) for i in range(100)]})
    counts = {r["segment_zh"]: r["customers"] for r in value_pyramid(values).summary.to_pyarrow().to_pylist()}
    assert counts == {"VIP客户": 1, "主要客户": 4, "普通客户": 15, "小客户": 80}
    assert math.isclose(sum(counts.values()), 100)
