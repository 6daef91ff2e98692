"""Cubes of line dimensions and line measures against DuckDB's own ``GROUP BY CUBE`` with distinct counts.

With only line dimensions and line measures every grouping set is one aggregation of the
lines (``customers`` and ``orders`` distinct counts); these tests check it cell by cell
against the SQL a person would write, on random lines where orders span categories and
months, returns are flagged or negative, and a customer may only return in a cell.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.cube import cube_table

MEASURES = ["revenue", "orders", "customers", "quantity", "returns", "lines"]
START = datetime(2024, 1, 1, tzinfo=UTC)

REFERENCE = """
WITH lines AS (
    SELECT CASE WHEN category IS NULL OR category = '' THEN '(missing)' ELSE category END AS category,
           strftime(ordered_at, '%Y-%m') AS month, customer_id, order_id,
           coalesce(return_flag, false) OR amount < 0 AS is_return,
           CASE WHEN coalesce(return_flag, false) AND amount > 0 THEN -amount ELSE amount END AS amount,
           CASE WHEN coalesce(return_flag, false) OR amount < 0 THEN -abs(quantity) ELSE quantity END AS quantity
    FROM tx
)
SELECT CASE WHEN grouping(category) = 1 THEN '' ELSE category END AS category,
       CASE WHEN grouping(month) = 1 THEN '' ELSE month END AS month,
       sum(amount) AS revenue,
       count(DISTINCT order_id) FILTER (WHERE NOT is_return) AS orders,
       count(DISTINCT customer_id) FILTER (WHERE NOT is_return) AS customers,
       sum(quantity) AS quantity,
       coalesce(sum(-amount) FILTER (WHERE is_return), 0.0) AS returns,
       count(*) AS lines
FROM lines
GROUP BY CUBE (category, month)
"""

line = st.tuples(
    st.integers(0, 3),  # customer
    st.integers(0, 2),  # the customer's order number (an order belongs to one customer)
    st.integers(0, 80),  # day: three months
    st.sampled_from(["food", "toys", "home", ""]),
    st.integers(-50, 200).map(float),  # amount: negative = a return
    st.integers(1, 3).map(float),
    st.booleans(),  # return flag
)


def _table(rows: list[tuple]) -> pa.Table:
    cust, order, day, cat, amount, qty, flag = zip(*rows, strict=True)
    return pa.table(
        {
            "order_id": [f"c{c}o{o}" for c, o in zip(cust, order, strict=True)],
            "customer_id": [f"c{c}" for c in cust],
            "ordered_at": pa.array([START + timedelta(days=d) for d in day], pa.timestamp("us", tz="UTC")),
            "amount": list(amount),
            "quantity": list(qty),
            "category": list(cat),
            "return_flag": list(flag),
        }
    )


def _reference(tx: pa.Table) -> dict[tuple[str, str], dict]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("tx", tx)
    rows = con.sql(REFERENCE).to_arrow_table().to_pylist()
    return {(r.pop("category"), r.pop("month")): r for r in rows}


@settings(max_examples=40, deadline=None)
@given(st.lists(line, min_size=1, max_size=40))
def test_every_cell_equals_group_by_cube(rows: list[tuple]) -> None:
    tx = _table(rows)
    got = cube_table(ibis.memtable(tx), measures=MEASURES, by=["category", "month"], subtotals="cube").to_pylist()
    want = _reference(tx)
    assert len(got) == len(want)
    for r in got:
        expected = want[(r["category"], r["month"])]
        for m in MEASURES:
            assert r[m] == pytest.approx(expected[m], rel=1e-12, abs=1e-9), (r, m)
