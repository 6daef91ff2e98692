"""Ranks, classes and running sums on Spark without one partition equal DuckDB's global windows.

``custlens.warehouse.compat.ordered_rows`` cuts Spark rows into ranges of the order and
numbers them range by range; the ranges only balance the work. The data have large tie
groups (zeros, a repeated value, negatives) so that range boundaries fall inside them;
``RANK_BUCKET_ROWS`` is lowered so that a few hundred rows make several ranges, and
ranges are allowed on the tests' local master (``RANK_RANGES_LOCAL``).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pytest

from custlens.warehouse import compat
from custlens.warehouse.compat import ordered_rows, register_arrow, spark_frame

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

#: Running sums are added range by range on Spark, in one pass on DuckDB: equal to the last bits.
REL = 1e-12


def _values(seed: int, n: int = 400) -> pa.Table:
    rng = np.random.default_rng(seed)
    value = np.round(rng.lognormal(3, 1.5, n), 0) + rng.random(n).round(2)
    value[: n // 4] = 0.0
    value[n // 4 : n // 4 + 20] = -5.0
    value[n // 4 + 20 : n // 4 + 50] = 37.5
    return pa.table(
        {
            "customer_id": [f"c{i:04d}" for i in rng.permutation(n)],
            "revenue": value,
            "order_count": rng.integers(0, 9, n).astype(float),
        }
    )


@pytest.fixture()
def engines(spark_session: object, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    monkeypatch.setattr(compat, "RANK_BUCKET_ROWS", 10)  # 400 rows: 2 ranges (one per shuffle partition)
    monkeypatch.setattr(compat, "RANK_RANGES_LOCAL", True)  # the tests' session is local[2]
    return ibis.duckdb.connect(), ibis.pyspark.connect(spark_session)


def _by_id(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: r["customer_id"])


def _same(a: list[dict], b: list[dict], floats: tuple[str, ...]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert {k: v for k, v in x.items() if k not in floats} == {k: v for k, v in y.items() if k not in floats}
        for k in floats:
            assert y[k] == pytest.approx(x[k], rel=REL, abs=1e-12), (k, x["customer_id"])


def _single_partition(table: ir.Table) -> bool:
    plan = spark_frame(table)._jdf.queryExecution().executedPlan().toString()
    return "SinglePartition" in plan


@pytest.mark.parametrize("buckets", [None, 1, 3, 50])
def test_ordered_rows_equal_global_windows(engines: tuple[object, object], buckets: int | None) -> None:
    duck, spark = engines
    data = _values(1)
    keys = [("revenue", True), ("customer_id", False)]
    a = ordered_rows(register_arrow(duck, "r", data), keys, running="revenue")
    b = ordered_rows(register_arrow(spark, "r", data), keys, running="revenue", buckets=buckets)
    rows_a, rows_b = _by_id(a.to_pyarrow()), _by_id(b.to_pyarrow())
    _same(rows_a, rows_b, ("_running", "_total"))
    assert sorted(r["_row"] for r in rows_b) == list(range(data.num_rows))
    assert _single_partition(b) == (buckets == 1)  # one range: the window over the whole table


def test_a_key_in_ascending_order_and_no_running_sum(engines: tuple[object, object]) -> None:
    duck, spark = engines
    data = _values(2)
    keys = [("order_count", False), ("revenue", True), ("customer_id", False)]
    a = ordered_rows(register_arrow(duck, "r", data), keys)
    b = ordered_rows(register_arrow(spark, "r", data), keys)
    _same(_by_id(a.to_pyarrow()), _by_id(b.to_pyarrow()), ())


@pytest.mark.parametrize("seed", [3, 4])
def test_abc_pyramid_pareto_and_concentration_on_spark_equal_duckdb(engines: tuple[object, object], seed: int) -> None:
    from custlens.segment import abc_classes, concentration, pareto_curve, value_pyramid

    duck, spark = engines
    data = _values(seed)
    a, b = register_arrow(duck, "v", data), register_arrow(spark, "v", data)
    for method, floats in ((abc_classes, ("cumulative_share",)), (value_pyramid, ("rank_share",))):
        on_spark = method(b, value_col="revenue").customers
        _same(_by_id(method(a, value_col="revenue").customers.to_pyarrow()), _by_id(on_spark.to_pyarrow()), floats)
        assert not _single_partition(on_spark)
    curve_a = pareto_curve(a, value_col="revenue", points=20).to_pyarrow().to_pylist()
    curve_b = pareto_curve(b, value_col="revenue", points=20).to_pyarrow().to_pylist()
    assert [r["customer_share"] for r in curve_a] == [r["customer_share"] for r in curve_b]
    assert [r["value_share"] for r in curve_b] == pytest.approx([r["value_share"] for r in curve_a], rel=REL)
    conc_a, conc_b = concentration(a, value_col="revenue"), concentration(b, value_col="revenue")
    assert conc_b == pytest.approx(conc_a, rel=REL)


def test_score_ranks_on_spark_equal_duckdb(engines: tuple[object, object]) -> None:
    from custlens.scoring import score_customers

    duck, spark = engines
    data = _values(5)
    a = score_customers(register_arrow(duck, "s", data), columns=["revenue", "order_count"]).table
    b = score_customers(register_arrow(spark, "s", data), columns=["revenue", "order_count"]).table
    rows_a, rows_b = a.to_pyarrow().to_pylist(), b.to_pyarrow().to_pylist()
    assert [(r["rank"], r["customer_id"], r["tier"]) for r in rows_a] == [
        (r["rank"], r["customer_id"], r["tier"]) for r in rows_b
    ]
    assert [r["score"] for r in rows_b] == pytest.approx([r["score"] for r in rows_a], rel=REL)
    assert not _single_partition(b)
