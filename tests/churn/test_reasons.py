"""Why customers leave: the classification in Chinese and English, per segment, and complaint resolution.

Seed 004 (第二章 客户的认识, 移动客户流失案例) lists the reasons: 竞争对手争夺, 店大欺客, 自然流失,
诚信问题, 细节的疏忽 (product or price completes the issue's list), and the figures on
complaints: 及时、高效...解决了用户投诉的,将有95%的客户还会继续接受服务; 通过较好地解决用户投诉,
可挽回75%的客户; 在不满意的用户中有67%的用户要投诉; 因为没有解决客户的问题,会造成89%的客户离去;
对客户服务不好,将造成94%的客户离去.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from custlens.churn import COMPLAINT_BENCHMARKS, churn_reasons, complaint_resolution, load_reasons, reasons_by_segment
from custlens.errors import ConfigError

AS_OF = dt.date(2025, 12, 31)


def _when(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC)


ROWS = [
    # customer, id, day, kind, outcome, note
    ("c1", "i1", "2025-05-01", "complaint", "resolved", "客户说价格太贵"),  # zh keyword beats the kind rule
    ("c2", "i2", "2025-05-01", "call", "closed", "Switched to a competitor with a better offer"),
    ("c3", "i3", "2025-05-01", "complaint", "pending", None),  # unresolved complaint
    ("c4", "i4", "2025-05-01", "complaint", "resolved", None),  # resolved complaint, left anyway
    ("c5", "i5", "2025-05-01", "service_task", "pending", None),
    ("c6", "i6", "2025-05-01", "praise", "closed", None),  # nothing on record
    ("c7", "i7", "2025-05-01", "inquiry", "resolved", "搬家到外地了"),
    ("c8", "i8", "2025-04-01", "complaint", "pending", None),
    ("c8", "i9", "2025-05-01", "call", "closed", "charged without consent on the billing"),
    ("c9", "i10", "2024-01-01", "complaint", "pending", None),  # before the reading window
    ("c10", "i11", "2025-05-01", "complaint", "escalated", "营业员态度很差"),
    ("c10", "i12", "2025-06-01", "complaint", "escalated", "还是没人理"),
]
INTERACTIONS = pa.table(
    {
        "interaction_id": [r[1] for r in ROWS],
        "customer_id": [r[0] for r in ROWS],
        "occurred_at": pa.array([_when(r[2]) for r in ROWS], pa.timestamp("us", tz="UTC")),
        "kind": [r[3] for r in ROWS],
        "outcome": [r[4] for r in ROWS],
        "note": [r[5] for r in ROWS],
    }
)
LOST = pa.table(
    {
        "customer_id": [f"c{i}" for i in range(1, 11)],
        "last_purchase_at": pa.array([_when("2025-06-01")] * 10, pa.timestamp("us", tz="UTC")),
    }
)


@pytest.fixture(scope="module")
def reasons() -> dict[str, dict]:
    return {r["customer_id"]: r for r in churn_reasons(LOST, INTERACTIONS, as_of=AS_OF).to_pylist()}


def test_the_texts_reasons_are_shipped() -> None:
    rules = load_reasons()
    # seed 004: 客户流失原因 竞争对手争夺, 店大欺客, 自然流失, 诚信问题, 细节的疏忽; and product or price
    assert [(r.name, r.name_zh) for r in rules.reasons] == [
        ("competitor", "竞争对手争夺"),
        ("service_attitude", "店大欺客（服务态度）"),
        ("product_or_price", "产品或价格"),
        ("natural", "自然流失"),
        ("integrity", "诚信问题"),
        ("neglected_details", "细节的疏忽"),
    ]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in "".join(r.keywords)) for r in rules.reasons)
    assert all(any(k.isascii() for k in r.keywords) for r in rules.reasons)


def test_keywords_in_chinese_and_english(reasons) -> None:
    assert (reasons["c1"]["reason"], reasons["c1"]["basis"]) == ("product_or_price", "keyword")  # 价格, 太贵
    assert (reasons["c2"]["reason"], reasons["c2"]["reason_zh"]) == ("competitor", "竞争对手争夺")  # competitor
    assert reasons["c7"]["reason"] == "natural"  # 搬家
    assert (reasons["c10"]["reason"], reasons["c10"]["basis"]) == ("service_attitude", "keyword")  # 态度
    # c8: an unresolved complaint (kind rule) and a note about billing without consent (keyword): the
    # keyword evidence wins
    assert (reasons["c8"]["reason"], reasons["c8"]["evidence"]) == ("integrity", "i9")


def test_kind_and_outcome_when_there_is_no_text(reasons) -> None:
    assert (reasons["c3"]["reason"], reasons["c3"]["basis"], reasons["c3"]["evidence"]) == (
        "service_attitude",
        "kind",
        "i3",
    )
    assert reasons["c4"]["reason"] == "product_or_price"
    assert reasons["c5"]["reason"] == "neglected_details"


def test_fallback_and_the_reading_window(reasons) -> None:
    assert (reasons["c6"]["reason"], reasons["c6"]["reason_zh"], reasons["c6"]["basis"]) == (
        "unrecorded",
        "无记录原因",
        "none",
    )
    # c9's complaint is 17 months before its last purchase: outside the 365-day window
    assert (reasons["c9"]["reason"], reasons["c9"]["interactions"]) == ("unrecorded", 0)
    wide = {
        r["customer_id"]: r
        for r in churn_reasons(LOST, INTERACTIONS, as_of=AS_OF, reasons={"window_days": 600}).to_pylist()
    }
    assert wide["c9"]["reason"] == "service_attitude"
    assert (reasons["c10"]["complaints"], reasons["c10"]["complaints_resolved"]) == (2, 0)
    assert (reasons["c1"]["complaints"], reasons["c1"]["complaints_resolved"]) == (1, 1)


def test_a_users_classification_replaces_the_shipped_one() -> None:
    mine = {
        "reason": [{"name": "price", "name_zh": "价格", "keywords": ["贵", "price"]}],
        "fallback": "other",
        "fallback_zh": "其他",
    }
    got = {
        r["customer_id"]: r["reason"] for r in churn_reasons(LOST, INTERACTIONS, as_of=AS_OF, reasons=mine).to_pylist()
    }
    assert got["c1"] == "price" and got["c3"] == "other"
    with pytest.raises(ConfigError, match="needs 'kind', one of complaint.*got 'complain'; did you mean 'complaint'"):
        load_reasons({"reason": [{"name": "x", "when": [{"kind": "complain"}]}]})
    with pytest.raises(ConfigError, match="give 'keywords' or \\[\\[reason.when\\]\\] conditions"):
        load_reasons({"reason": [{"name": "x"}]})
    with pytest.raises(ConfigError, match="unknown setting 'window'; did you mean 'window_days'"):
        load_reasons({"window": 3})


def test_reasons_by_segment_by_hand(reasons) -> None:
    table = churn_reasons(LOST, INTERACTIONS, as_of=AS_OF)
    segments = pa.table(
        {"customer_id": ["c1", "c3", "c4", "c10", "c6"], "segment": ["VIP", "VIP", "VIP", "VIP", "small"]}
    )
    rows = reasons_by_segment(table, segments).to_pylist()
    vip = {r["reason"]: r for r in rows if r["segment"] == "VIP"}
    assert vip["product_or_price"]["customers"] == 2 and vip["product_or_price"]["share"] == 0.5
    assert vip["service_attitude"]["customers"] == 2
    assert [r["reason"] for r in rows if r["segment"] == "small"] == ["unrecorded"]
    rest = [r for r in rows if r["segment"] == "(no segment)"]
    assert sum(r["customers"] for r in rest) == 5 and sum(r["share"] for r in rest) == pytest.approx(1.0)
    everyone = reasons_by_segment(table).to_pylist()
    assert {r["segment"] for r in everyone} == {"all"} and sum(r["customers"] for r in everyone) == 10


def test_complaint_resolution_by_hand() -> None:
    extra = pa.table(
        {
            "interaction_id": ["j1", "j2"],
            "customer_id": ["k1", "k2"],
            "occurred_at": pa.array([_when("2025-01-01"), _when("2025-02-01")], pa.timestamp("us", tz="UTC")),
            "kind": ["complaint", "complaint"],
            "outcome": ["resolved", "resolved"],
            "note": pa.array([None, None], pa.string()),
        }
    )
    inter = pa.concat_tables([INTERACTIONS, extra])
    lost = pa.table({"customer_id": ["c1", "c3", "c4", "c8", "c9", "c10"]})
    row = complaint_resolution(inter, as_of=AS_OF, lost=lost).to_pylist()[0]
    # complaints: c1 (resolved), c3, c4 (resolved), c8, c9, c10 x2, k1 (resolved), k2 (resolved)
    assert (row["complaints"], row["resolved"]) == (9, 4)
    assert row["resolution_rate"] == pytest.approx(4 / 9)
    # complainants all of whose complaints were resolved: c1, c4, k1, k2; of them c1 and c4 were lost
    assert (row["complainants"], row["complainants_resolved"]) == (8, 4)
    assert (row["lost_resolved"], row["lost_unresolved"]) == (2, 4)
    assert row["stay_rate_resolved"] == pytest.approx(0.5) and row["stay_rate_unresolved"] == 0.0
    assert row["benchmark_stay_resolved"] == 0.95
    by = complaint_resolution(
        inter, as_of=AS_OF, segments=pa.table({"customer_id": ["k1", "k2"], "segment": ["new", "new"]})
    )
    rows = {r["segment"]: r for r in by.to_pylist()}
    assert rows["new"]["resolution_rate"] == 1.0 and rows["new"]["stay_rate_resolved"] is None


def test_complaint_figures_of_seed_004() -> None:
    assert COMPLAINT_BENCHMARKS == {
        "stay_if_resolved_promptly": 0.95,
        "won_back_by_resolving": 0.75,
        "dissatisfied_who_complain": 0.67,
        "leave_when_problem_unsolved": 0.89,
        "leave_after_bad_service": 0.94,
    }
