"""The HSBC scheme: each customer's branch by hand, and the rolled-up tree of a workspace.

Personal customers (value = revenue, loyalty = order_count):

    p1  0 orders                  -> potential
    p2  3 orders, lost            -> current, inactive
    p3  5 orders, revenue 500     -> active; medians of p3..p6: revenue 300, orders 3.5 -> top
    p4  1 order,  revenue 600     -> high value, low loyalty -> large_medium
    p5  6 orders, revenue 50      -> low value, high loyalty -> small_medium
    p6  2 orders, revenue 100     -> small

Corporate customers, split at their own medians (revenue 505, orders 2): k1 (3, 1000) top,
k2 (1, 10) small.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from custlens.cube import scheme_cube
from custlens.cube.scheme import LABELS, LEVELS, NOT_APPLICABLE, _drop_repeats, hsbc_scheme

pytestmark = pytest.mark.xdist_group("cube")

IDS = ["p1", "p2", "p3", "p4", "p5", "p6", "k1", "k2"]


def test_each_customers_branch(backend: object) -> None:
    from custlens.warehouse.compat import register_arrow

    analysis = register_arrow(backend, "hsbc_analysis", pa.table({
        "customer_id": IDS,
        "order_count": pa.array([0, 3, 5, 1, 6, 2, 3, 1], pa.int64()),
        "revenue": [0.0, 90.0, 500.0, 600.0, 50.0, 100.0, 1000.0, 10.0],
    }))  # fmt: skip
    customers = register_arrow(backend, "hsbc_customers", pa.table(
        {"customer_id": IDS, "customer_type": ["personal"] * 6 + ["corporate"] * 2}))  # fmt: skip
    state = register_arrow(backend, "hsbc_state", pa.table(
        {"customer_id": IDS[1:], "segment": ["lost", "repeat", "first_time", "loyal", "repeat", "repeat",
                                             "first_time"]}))  # fmt: skip
    rows = hsbc_scheme(analysis, customers=customers, state=state).to_pyarrow().to_pylist()
    got = {r["customer_id"]: tuple(r[level] for level in LEVELS) for r in rows}
    assert got == {
        "p1": ("personal", "potential", NOT_APPLICABLE, NOT_APPLICABLE),
        "p2": ("personal", "current", "inactive", NOT_APPLICABLE),
        "p3": ("personal", "current", "active", "top"),
        "p4": ("personal", "current", "active", "large_medium"),
        "p5": ("personal", "current", "active", "small_medium"),
        "p6": ("personal", "current", "active", "small"),
        "k1": ("corporate", "current", "active", "top"),
        "k2": ("corporate", "current", "active", "small"),
    }


def test_subtotals_that_repeat_a_dash_branch_are_left_out() -> None:
    rows = [
        ("personal", "potential", "-", "-", "", 3),
        ("personal", "potential", "-", "", "value_loyalty", 3),
        ("personal", "potential", "", "", "activity,value_loyalty", 3),
        ("personal", "current", "active", "top", "", 2),
        ("personal", "current", "active", "", "value_loyalty", 2),
        ("personal", "current", "", "", "activity,value_loyalty", 2),
        ("personal", "", "", "", "relationship,activity,value_loyalty", 5),
    ]
    table = pa.Table.from_pylist([dict(zip([*LEVELS, "grouping", "customers"], r)) for r in rows])
    kept = [tuple(r.values()) for r in _drop_repeats(table).to_pylist()]
    assert kept == [rows[0], rows[3], rows[4], rows[5], rows[6]]


def test_the_rolled_up_tree(cube_ws: object) -> None:
    table = scheme_cube(cube_ws, "customers,revenue,clv,avg_order_value")
    assert table.column_names == [*LEVELS, "grouping", "customers", "revenue", "clv", "avg_order_value"]
    rows = table.to_pylist()
    total = rows[-1]
    assert total["grouping"] == ",".join(LEVELS) and total["customers"] == 800
    details = [r for r in rows if r["grouping"] == ""]
    assert sum(r["customers"] for r in details) == 800
    assert sum(r["revenue"] for r in details) == pytest.approx(total["revenue"])
    for r in details:
        assert r["value_loyalty"] in (*LABELS["value_loyalty"], NOT_APPLICABLE)
        assert (r["activity"] == NOT_APPLICABLE) == (r["relationship"] == "potential")
        assert (r["value_loyalty"] == NOT_APPLICABLE) == (r["activity"] != "active")
    for r in rows:  # no subtotal repeats a single '-' branch
        if r["grouping"] and r["relationship"] == "potential":
            pytest.fail(f"repeated subtotal {r}")
    zh = scheme_cube(cube_ws, "customers", language="zh", subtotals="none").to_pylist()
    assert {r["basic"] for r in zh} <= {"个人客户", "公司客户"}
    assert {r["value_loyalty"] for r in zh} <= {*LABELS["value_loyalty"].values(), NOT_APPLICABLE}
    assert sum(r["customers"] for r in zh) == 800


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"measures": "lines"}, "'measures': 'lines' is not a measure of the scheme"),
        ({"measures": "revnue"}, "did you mean 'revenue'?"),
        ({"subtotals": "cube"}, "'subtotals' of the scheme must be 'rollup' or 'none'"),
        ({"language": "fr"}, "'language' must be 'en' or 'zh'"),
    ],
)
def test_scheme_errors(cube_ws: object, kwargs: dict, says: str) -> None:
    from custlens.errors import InputError

    with pytest.raises(InputError) as info:
        scheme_cube(cube_ws, **kwargs)
    assert says in str(info.value)
