"""Evaluation formulas by hand: coverage, overlap (Jaccard), lift against an outcome, persona lift.

Six customers 1..6 hold tags:  x {1, 2, 3, 4},  y {3, 4, 5},  z {6};  customer 6 holds only z.
Outcome (bought again): {1, 2, 5}.  Base rate 3/6 = 0.5.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from custlens.tags.evaluate import coverage_table, lift_table, overlap_table, stability_table
from custlens.tags.persona import PERSONA_COLUMNS, persona_rows

HELD = pa.table(
    {
        "customer_id": ["1", "2", "3", "4", "3", "4", "5", "6"],
        "tag": ["x", "x", "x", "x", "y", "y", "y", "z"],
    }
)
BASE = pa.table(
    {
        "customer_id": ["1", "2", "3", "4", "5", "6", "7"],
        "revenue": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 90.0],
        "clv": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, None],
    }
)


@pytest.fixture()
def held(backend: object) -> object:
    from custlens.warehouse.compat import register_arrow

    return register_arrow(backend, "eval_held", HELD)


def test_overlap_by_hand(held: object) -> None:
    rows = overlap_table(held, ["x", "y", "z"]).to_pylist()
    assert [(r["tag_a"], r["tag_b"], r["customers_a"], r["customers_b"], r["both"]) for r in rows] == [
        ("x", "y", 4, 3, 2),
        ("x", "z", 4, 1, 0),
        ("y", "z", 3, 1, 0),
    ]
    # Jaccard x, y: |{3, 4}| / |{1, 2, 3, 4, 5}| = 2 / 5
    assert [r["jaccard"] for r in rows] == pytest.approx([0.4, 0.0, 0.0])


def test_coverage_by_hand(held: object) -> None:
    cats = pa.table({"category": ["value", "risk"], "name": ["Value", "Risk"], "name_zh": ["价值", "风险"]})
    table = coverage_table(held, cats, {"x": "value", "y": "value", "z": "risk"}, customers=7).to_pylist()
    # value: x or y -> {1, 2, 3, 4, 5}; risk: z -> {6}; any tag: six of seven customers
    assert [(r["category"], r["tags"], r["customers"]) for r in table] == [
        ("value", 2, 5),
        ("risk", 1, 1),
        ("(all)", 3, 6),
    ]
    assert [r["coverage"] for r in table] == pytest.approx([5 / 7, 1 / 7, 6 / 7])


def test_lift_by_hand(held: object, backend: object) -> None:
    from custlens.warehouse.compat import register_arrow

    base = register_arrow(backend, "eval_base", BASE.slice(0, 6))
    outcome = register_arrow(backend, "eval_outcome", pa.table({"customer_id": ["1", "2", "5", "5", "9"]}))
    rows = lift_table(held, base, outcome, ["x", "y", "z"], {"x": "model", "y": "model", "z": "rule"}).to_pylist()
    # base rate: {1, 2, 5} of six = 0.5 (9 is not a customer of the base; 5 counts once)
    # x: {1, 2} of four -> 0.5, lift 1;  y: {5} of three -> 1/3, lift 2/3;  z: none of one -> 0
    assert [(r["tag"], r["kind"], r["customers"], r["outcome_customers"]) for r in rows] == [
        ("x", "model", 4, 2),
        ("y", "model", 3, 1),
        ("z", "rule", 1, 0),
    ]
    assert [r["outcome_rate"] for r in rows] == pytest.approx([0.5, 1 / 3, 0.0])
    assert {r["base_rate"] for r in rows} == {0.5}
    assert [r["lift"] for r in rows] == pytest.approx([1.0, 2 / 3, 0.0])


def test_stability_by_hand(held: object, backend: object) -> None:
    from custlens.warehouse.compat import register_arrow

    later = register_arrow(
        backend, "eval_later", pa.table({"customer_id": ["1", "5", "6", "6"], "tag": ["x", "x", "z", "y"]})
    )
    rows = {r["tag"]: r for r in stability_table(held, later, ["x", "y", "z"]).to_pylist()}
    # x: {1, 2, 3, 4} -> {1, 5}: kept 1, entered 1, left 3, Jaccard 1 / 5
    assert (rows["x"]["kept"], rows["x"]["entered"], rows["x"]["left"]) == (1, 1, 3)
    assert rows["x"]["stability"] == pytest.approx(0.2)
    # y: {3, 4, 5} -> {6}: nothing kept
    assert (rows["y"]["kept"], rows["y"]["entered"], rows["y"]["left"], rows["y"]["stability"]) == (0, 1, 3, 0.0)
    assert rows["z"]["stability"] == 1.0


def test_persona_by_hand(held: object, backend: object) -> None:
    from custlens.warehouse.compat import register_arrow

    base = register_arrow(backend, "eval_pbase", BASE)  # seven customers; 7 holds no tag
    members = register_arrow(backend, "eval_members", pa.table({"customer_id": ["3", "4", "5", "5"]}))
    defs = [{"id": t, "category": "c", "name": t.upper(), "name_zh": t} for t in ("x", "y", "z")]
    card = persona_rows(members, held, base, defs, group="g", top=5, min_share=0.5).to_pylist()
    assert list(card[0]) == list(PERSONA_COLUMNS)
    # group {3, 4, 5}: y 3/3 (base 3/7: lift 7/3), x 2/3 (base 4/7: lift 7/6), z 0
    assert [(r["rank"], r["tag"], r["customers"]) for r in card] == [(1, "y", 3), (2, "x", 2)]
    assert [r["share_in_group"] for r in card] == pytest.approx([1.0, 2 / 3])
    assert [r["base_share"] for r in card] == pytest.approx([3 / 7, 4 / 7])
    assert [r["lift"] for r in card] == pytest.approx([7 / 3, 7 / 6])
    head = card[0]
    assert (head["group"], head["group_customers"]) == ("g", 3)
    assert head["group_share"] == pytest.approx(3 / 7)
    assert head["group_revenue"] == pytest.approx(120.0)  # 30 + 40 + 50
    assert head["group_revenue_share"] == pytest.approx(120 / 300)
    assert head["group_clv"] == pytest.approx(12.0)
    # a higher bar keeps only y; excluding y leaves x
    assert [r["tag"] for r in persona_rows(members, held, base, defs, group="g", min_share=0.9).to_pylist()] == ["y"]
    assert [r["tag"] for r in persona_rows(members, held, base, defs, group="g", exclude=["y"]).to_pylist()] == ["x"]


def test_persona_ranks_ties_by_holders_then_id() -> None:
    held = ibis.memtable({"customer_id": ["1", "2", "1", "2", "3"], "tag": ["b", "b", "a", "a", "c"]})
    base = ibis.memtable({"customer_id": ["1", "2", "3", "4"], "revenue": [1.0] * 4, "clv": [1.0] * 4})
    members = ibis.memtable({"customer_id": ["1", "2"]})
    defs = [{"id": t, "category": "k", "name": t, "name_zh": t} for t in "abc"]
    card = persona_rows(members, held, base, defs, group="g", min_share=0.0)
    assert card["tag"].to_pylist() == ["a", "b"]  # equal lift 2 and holders: by id


@pytest.mark.parametrize(("top", "share"), [(0, 0.1), (3, 1.5), (True, 0.1)])
def test_persona_checks_its_parameters(top: object, share: float) -> None:
    from custlens.errors import InputError

    t = ibis.memtable({"customer_id": ["1"], "tag": ["a"]})
    base = ibis.memtable({"customer_id": ["1"], "revenue": [1.0], "clv": [1.0]})
    with pytest.raises(InputError, match="'top'|'min_share'"):
        persona_rows(t.select("customer_id"), t, base, [], group="g", top=top, min_share=share)  # type: ignore[arg-type]
