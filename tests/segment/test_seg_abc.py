"""ABC classes, the value pyramid, the Pareto curve and concentration.

Worked example: Heizer, J. & Render, B., *Operations Management* (Pearson), chapter 12
"Inventory Management", Example 1 "ABC analysis for a chip manufacturer" (Silicon Chips,
Inc.): ten items, annual dollar volumes 90,000; 77,000; 26,350; 15,001; 12,500; 8,502;
1,200; 850; 504; 150 (total $232,057). The book groups the top 20 % of items as A (72 % of
dollar volume), the next 30 % as B (23 %) and the last 50 % as C (5 %); its learning
exercise raises item #10286 to $120 a unit (dollar volume 120,000) and says the two A items
"now comprise 75%" of the new total $262,057.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.errors import ConfigError, InputError
from custlens.segment.abc import abc_classes, concentration, pareto_curve, value_pyramid

HEIZER_RENDER = [90000, 77000, 26350, 15001, 12500, 8502, 1200, 850, 504, 150]
ITEMS = ["10286", "11526", "12760", "10867", "10500", "12572", "14075", "01036", "01307", "10572"]
BOOK_TIERS = {"tier": [{"name": "A", "top": 0.2}, {"name": "B", "top": 0.5}, {"name": "C", "top": 1.0}]}


def _table(values, ids=None) -> pa.Table:
    ids = ids or [f"c{i:04d}" for i in range(len(values))]
    return pa.table({"customer_id": ids, "revenue": [float(v) for v in values]})


def test_heizer_render_example_by_share_of_items() -> None:
    res = value_pyramid(_table(HEIZER_RENDER, ITEMS), config=BOOK_TIERS)
    seg = {r["customer_id"]: r["segment"] for r in res.customers.to_pyarrow().to_pylist()}
    assert [seg[i] for i in ITEMS] == ["A"] * 2 + ["B"] * 3 + ["C"] * 5
    summ = {r["segment"]: r for r in res.summary.to_pyarrow().to_pylist()}
    assert summ["A"]["value"] + summ["B"]["value"] + summ["C"]["value"] == 232057
    # book: A 72 %, B 23 %, C 5 % (rounded to whole percent)
    assert round(100 * summ["A"]["value_share"]) == 72
    assert round(100 * summ["B"]["value_share"]) == 23
    assert round(100 * summ["C"]["value_share"]) == 5


def test_heizer_render_learning_exercise() -> None:
    values = [120000] + HEIZER_RENDER[1:]
    res = value_pyramid(_table(values, ITEMS), config=BOOK_TIERS)
    summ = {r["segment"]: r for r in res.summary.to_pyarrow().to_pylist()}
    assert summ["A"]["value"] + summ["B"]["value"] + summ["C"]["value"] == 262057
    assert round(100 * summ["A"]["value_share"]) == 75


def test_heizer_render_cumulative_abc() -> None:
    # cumulative shares 38.8, 72.0, 83.3, 89.8, 95.2, ... (book column 6 summed)
    res = abc_classes(_table(HEIZER_RENDER, ITEMS))
    rows = res.customers.order_by("value_rank").to_pyarrow().to_pylist()
    assert [round(100 * r["cumulative_share"], 1) for r in rows[:5]] == [38.8, 72.0, 83.3, 89.8, 95.2]
    # A up to 80 %, B up to 95 %: the book's two A items; B stops before 95.2 %
    assert [r["segment"] for r in rows] == ["A", "A", "B", "B"] + ["C"] * 6


def test_ties_share_a_class_and_tier() -> None:
    res = abc_classes(_table([50, 10, 10, 10, 10, 10]))
    rows = res.customers.order_by("customer_id").to_pyarrow().to_pylist()
    # 50/100 then the five 10s tie at cumulative share 1.0 -> all C
    assert [r["segment"] for r in rows] == ["A", "C", "C", "C", "C", "C"]
    assert {r["value_rank"] for r in rows[1:]} == {2}
    tiers = value_pyramid(_table([5, 5, 5, 1]), config=BOOK_TIERS).customers.order_by("customer_id")
    assert tiers.segment.to_pyarrow().to_pylist() == ["A", "A", "A", "C"]


def test_default_pyramid_names_and_shares() -> None:
    values = list(range(1000, 0, -1))
    res = value_pyramid(_table(values))
    summ = {r["segment"]: r for r in res.summary.to_pyarrow().to_pylist()}
    assert {k: v["customers"] for k, v in summ.items()} == {"VIP": 10, "major": 40, "ordinary": 150, "small": 800}
    assert summ["VIP"]["segment_zh"] == "VIP客户"


def test_non_positive_values_are_class_c() -> None:
    # the single largest customer holds 100 % yet is A (the top customer is always A)
    rows = abc_classes(_table([100, 0, -20])).customers.order_by("customer_id").to_pyarrow().to_pylist()
    assert [r["segment"] for r in rows] == ["A", "C", "C"]


def test_pareto_curve_and_concentration() -> None:
    curve = pareto_curve(_table(HEIZER_RENDER), points=10).to_pyarrow().to_pylist()
    assert curve[0] == {"customer_share": 0.0, "value_share": 0.0}
    assert curve[2]["customer_share"] == pytest.approx(0.2)
    assert curve[2]["value_share"] == pytest.approx(167000 / 232057)
    assert curve[-1]["value_share"] == pytest.approx(1.0)
    c = concentration(_table(HEIZER_RENDER))
    assert c["top_share_value"] == pytest.approx(167000 / 232057)
    x = np.sort(np.array(HEIZER_RENDER, float))
    n = len(x)
    # mean absolute difference definition of Gini
    gini = np.abs(x[:, None] - x[None, :]).sum() / (2 * n * n * x.mean())
    assert c["gini"] == pytest.approx(gini)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=2, max_size=40))
def test_gini_bounds_and_equality(values) -> None:
    c = concentration(_table(values))
    if sum(values) <= 0:
        assert math.isnan(c["gini"])
        return
    assert -1e-9 <= c["gini"] <= 1 - 1 / len(values) + 1e-9
    assert 0 <= c["top_share_value"] <= 1 + 1e-12


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"class": [{"name": "A", "up_to": 0.9}, {"name": "B", "up_to": 0.8}, {"name": "C", "up_to": 1.0}]},
            r"\[\[class\]\] 2 \('B'\): 'up_to' must be a share above the previous one \(0.9\)",
        ),
        (
            {"class": [{"name": "A", "up_to": 0.8}, {"name": "B", "up_to": 0.95}]},
            "last \\[\\[class\\]\\] must have up_to = 1.0",
        ),
        ({"class": [{"name": "A", "upto": 0.8}, {"name": "B", "up_to": 1.0}]}, "did you mean 'up_to'"),
    ],
)
def test_bad_abc_configuration(config, message) -> None:
    with pytest.raises(ConfigError, match=message):
        abc_classes(_table([1, 2, 3]), config=config)


def test_unknown_value_column() -> None:
    with pytest.raises(InputError, match="'revenu'.*did you mean 'revenue'"):
        abc_classes(_table([1, 2, 3]), value_col="revenu")


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(-5, 200), min_size=1, max_size=50))
def test_classes_and_tiers_never_rank_a_larger_value_lower(values) -> None:
    order = {"A": 0, "B": 1, "C": 2, "VIP": 0, "major": 1, "ordinary": 2, "small": 3}
    for fn in (abc_classes, value_pyramid):
        rows = fn(_table(values)).customers.to_pyarrow().to_pylist()
        pairs = sorted((r["value"], order[r["segment"]]) for r in rows)
        for (v1, c1), (v2, c2) in zip(pairs, pairs[1:]):
            assert c2 <= c1, (v1, c1, v2, c2)  # sorted by (value, class): ties must share the class
        by_value: dict[float, set[str]] = {}
        for r in rows:
            by_value.setdefault(r["value"], set()).add(r["segment"])
        assert all(len(s) == 1 for s in by_value.values())  # ties share a class


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_abc_and_pyramid_on_every_backend(backend) -> None:
    import ibis

    t = backend.create_table("seg_abc_items", ibis.memtable(_table(HEIZER_RENDER, ITEMS)), overwrite=True)
    rows = abc_classes(t).customers.to_pyarrow().to_pylist()
    by_rank = sorted(rows, key=lambda r: r["value_rank"])
    assert [r["segment"] for r in by_rank] == ["A", "A", "B", "B"] + ["C"] * 6
    summ = {r["segment"]: r for r in value_pyramid(t, config=BOOK_TIERS).summary.to_pyarrow().to_pylist()}
    assert round(100 * summ["A"]["value_share"]) == 72
    assert concentration(t)["top_share_value"] == pytest.approx(167000 / 232057)
