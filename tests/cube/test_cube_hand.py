"""Every cell of small cubes computed by hand (``conftest.py`` lists the lines), on DuckDB and Spark."""

from __future__ import annotations

import pytest

from custlens.cube import cube_table, grouping_sets
from custlens.errors import InputError

from .conftest import AS_OF


def _cube(hand: dict, **kwargs: object) -> list[dict]:
    table = cube_table(
        hand["transactions"],
        customers=hand["customers"],
        analysis=hand["analysis"],
        segments={"rfm": hand["rfm"]},
        as_of=AS_OF,
        **kwargs,
    )
    return table.to_pylist()


ALL = ["revenue", "orders", "customers", "quantity", "profit", "returns", "lines", "clv", "p_alive", "value_at_stake"]


def test_rollup_by_region_and_month(hand: dict) -> None:
    rows = _cube(hand, measures=ALL, by=["region", "month"])
    assert list(rows[0]) == ["region", "month", "grouping", *ALL]
    got = [(r["region"], r["month"], r["grouping"], r["revenue"], r["orders"], r["customers"], r["quantity"],
            r["profit"], r["returns"], r["lines"], r["clv"], r["value_at_stake"]) for r in rows]  # fmt: skip
    assert got == [
        ("east", "2024-01", "", 130.0, 2, 2, 4.0, 39.0, 0.0, 3, 300.0, 140.0),
        # b only returned in February: revenue -40 but not a buyer of the cell
        ("east", "2024-02", "", -10.0, 1, 1, 2.0, 0.0, 40.0, 2, 100.0, 20.0),
        # a bought in both months: one customer of the region
        ("east", "", "month", 120.0, 3, 2, 6.0, 39.0, 40.0, 5, 300.0, 140.0),
        ("west", "2024-02", "", 5.0, 1, 1, 1.0, 2.0, 0.0, 1, 50.0, 0.0),
        ("west", "", "month", 5.0, 1, 1, 1.0, 2.0, 0.0, 1, 50.0, 0.0),
        ("", "", "region,month", 125.0, 4, 3, 7.0, 41.0, 40.0, 6, 350.0, 140.0),
    ]
    assert [r["p_alive"] for r in rows] == pytest.approx([0.6, 0.8, 0.6, 1.0, 1.0, (0.8 + 0.4 + 1.0) / 3])


def test_an_order_across_categories_counts_once_in_the_subtotal(hand: dict) -> None:
    rows = _cube(hand, measures=["revenue", "orders", "customers", "avg_order_value"], by=["category"])
    assert [(r["category"], r["grouping"], r["revenue"], r["orders"], r["customers"]) for r in rows] == [
        ("food", "", 45.0, 3, 2),
        ("toys", "", 80.0, 2, 2),  # o1 (a) and o3 (b); b's return o4 is not a purchase order
        ("", "category", 125.0, 4, 3),  # o1 is food and toys: one order
    ]
    assert [r["avg_order_value"] for r in rows] == pytest.approx([15.0, 40.0, 31.25])


def test_cube_subtotals_every_combination(hand: dict) -> None:
    rows = _cube(hand, measures=["revenue", "orders", "customers"], by=["region", "customer_type"], subtotals="cube")
    assert [
        (r["region"], r["customer_type"], r["grouping"], r["revenue"], r["orders"], r["customers"]) for r in rows
    ] == [
        ("east", "corporate", "", 60.0, 1, 1),
        ("east", "personal", "", 60.0, 2, 1),
        ("east", "", "customer_type", 120.0, 3, 2),
        ("west", "personal", "", 5.0, 1, 1),
        ("west", "", "customer_type", 5.0, 1, 1),
        ("", "corporate", "region", 60.0, 1, 1),
        ("", "personal", "region", 65.0, 3, 2),
        ("", "", "region,customer_type", 125.0, 4, 3),
    ]


def test_no_subtotals_gives_plain_groups_without_a_grouping_column(hand: dict) -> None:
    table = cube_table(
        hand["transactions"],
        measures="revenue,customers,revenue_per_customer",
        by="segment",
        analysis=hand["analysis"],
        segments={"rfm": hand["rfm"]},
        subtotals=None,
        as_of=AS_OF,
    )
    assert table.column_names == ["segment", "revenue", "customers", "revenue_per_customer"]
    assert table.to_pylist() == [
        {"segment": "Champions", "revenue": 65.0, "customers": 2, "revenue_per_customer": 32.5},
        {"segment": "Lost", "revenue": 60.0, "customers": 1, "revenue_per_customer": 60.0},
    ]


def test_where_slices_lines_customers_and_stored_columns(hand: dict) -> None:
    food = _cube(hand, measures=["revenue", "orders", "customers"], by=["region"], where="category = 'food'")
    assert [(r["region"], r["revenue"], r["orders"], r["customers"]) for r in food] == [
        ("east", 40.0, 2, 1),
        ("west", 5.0, 1, 1),
        ("", 45.0, 3, 2),
    ]
    february = _cube(
        hand, measures=["revenue"], by=["region"], where="customer_type = 'personal' and month = '2024-02'"
    )
    assert [(r["region"], r["revenue"]) for r in february] == [("east", 30.0), ("west", 5.0), ("", 35.0)]
    alive = _cube(hand, measures=["revenue", "customers"], by=[], where="p_alive >= 0.5 and segment = 'Champions'")
    assert [(r["grouping"], r["revenue"], r["customers"]) for r in alive] == [("", 65.0, 2)]


def test_time_labels_and_explicit_sets(hand: dict) -> None:
    rows = _cube(hand, measures=["revenue"], by=["year", "quarter", "channel"], subtotals=[("year", "channel"), ()])
    assert [(r["year"], r["quarter"], r["channel"], r["grouping"], r["revenue"]) for r in rows] == [
        ("2024", "", "store", "quarter", 35.0),
        ("2024", "", "web", "quarter", 90.0),
        ("", "", "", "year,quarter,channel", 125.0),
    ]
    by_quarter = _cube(hand, measures=["revenue"], by=["quarter", "product"], subtotals="none")
    assert [(r["quarter"], r["product"], r["revenue"]) for r in by_quarter] == [
        ("2024-Q1", "F1", 15.0),
        ("2024-Q1", "F2", 30.0),
        ("2024-Q1", "T1", 80.0),
    ]


def test_missing_dimension_values_are_marked(backend: object) -> None:
    import pyarrow as pa

    from custlens.warehouse.compat import register_arrow

    from .conftest import CUSTOMERS, TRANSACTIONS

    tx = register_arrow(backend, "cube_tx_missing", TRANSACTIONS.set_column(TRANSACTIONS.column_names.index("category"), "category", pa.array(
        ["food", None, "", "toys", "toys", "food", "food"])))  # fmt: skip
    customers = register_arrow(backend, "cube_cu_missing", CUSTOMERS.filter(pa.array([True, True, False, True])))
    rows = cube_table(tx, measures=["revenue"], by=["region", "category"], customers=customers, as_of=AS_OF,
                      subtotals="none").to_pylist()  # fmt: skip
    assert [(r["region"], r["category"], r["revenue"]) for r in rows] == [
        ("(missing)", "food", 5.0),  # c is not in the customers table
        ("east", "(missing)", 50.0),  # null and empty categories
        ("east", "food", 10.0),
        ("east", "toys", 60.0),
    ]


def test_grouping_sets() -> None:
    assert grouping_sets(["a", "b"], "rollup") == [("a", "b"), ("a",), ()]
    assert grouping_sets(["a", "b"], "cube") == [("a", "b"), ("a",), ("b",), ()]
    assert grouping_sets(["a", "b"], None) == [("a", "b")]
    assert grouping_sets(["a", "b"], [["b"], ("b", "a"), ()]) == [("a", "b"), ("b",), ()]
    with pytest.raises(InputError, match="'subtotals': a grouping set names 'c', which is not in 'by'"):
        grouping_sets(["a", "b"], [["c"]])
    with pytest.raises(InputError, match="'subtotals' must be 'rollup', 'cube', 'none'"):
        grouping_sets(["a"], "rolup")


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"measures": "revenu"}, "'measures': unknown measure 'revenu'; did you mean 'revenue'?"),
        ({"measures": ""}, "'measures' is empty"),
        ({"by": "regoin"}, "'by': unknown dimension 'regoin'; did you mean 'region'?"),
        ({"by": "region,region"}, "'by' names 'region' twice"),
        ({"by": "segment", "segment_method": "rfmm"}, "'segment_method' must be one of"),
        ({"by": "lifecycle"}, "'by': the stored analysis has no segmentation 'lifecycle'"),
        ({"where": "categroy = 'food'"}, "unknown column 'categroy'; did you mean 'category'?"),
        ({"where": "category + 1"}, "rule 'where'"),
    ],
)
def test_errors_name_the_parameter(hand: dict, kwargs: dict, says: str) -> None:
    with pytest.raises(InputError) as info:
        _cube(hand, **{"measures": "revenue", **kwargs})
    assert says in str(info.value), str(info.value)
