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
import pyarrow.compute as pc
import pytest

from custlens.segment import SegmentResult
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


def _nan(v: object) -> bool:
    return isinstance(v, float) and v != v


def _missing(rows: list[dict]) -> list[dict]:
    """Rows with NaN as null: Ibis' Spark output gives null for NaN (their positions tell them apart)."""
    return [{k: None if _nan(v) else v for k, v in r.items()} for r in rows]


def _with_nulls(seed: int, n: int = 400) -> pa.Table:
    """:func:`_values` with null and NaN revenues and one null id, inside the tie group of 37.5."""
    data = _values(seed, n)
    revenue = data["revenue"].to_numpy().copy()
    revenue[n // 2 : n // 2 + 10] = np.nan
    missing = np.zeros(n, bool)
    missing[n // 2 + 10 : n // 2 + 40] = True
    ids = data["customer_id"].to_pylist()
    ids[n // 4 + 30] = None  # revenue 37.5: the null id comes last among its ties
    return data.set_column(0, "customer_id", pa.array(ids, pa.string())).set_column(
        1, "revenue", pa.array(revenue, mask=missing)
    )


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("buckets", [None, 1, 3, 50])
def test_null_and_nan_keys_come_where_the_global_windows_put_them(
    engines: tuple[object, object], descending: bool, buckets: int | None
) -> None:
    """Nulls last in either direction (both engines' order for Ibis' sort keys), NaN after every number."""
    duck, spark = engines
    data = _with_nulls(6)
    keys = [("revenue", descending), ("customer_id", False)]
    a = ordered_rows(register_arrow(duck, "r", data), keys)
    b = ordered_rows(register_arrow(spark, "r", data), keys, buckets=buckets)
    rows_a, rows_b = (sorted(t.to_pyarrow().to_pylist(), key=lambda r: r["_row"]) for t in (a, b))
    assert _missing(rows_b) == _missing(rows_a)
    assert [r["revenue"] for r in rows_a[-30:]] == [None] * 30
    ties = [r["customer_id"] for r in rows_a if r["revenue"] == 37.5]
    assert len(ties) == 30 and ties[-1] is None
    nan = [r["_row"] for r in rows_a if _nan(r["revenue"])]
    assert nan == (list(range(10)) if descending else list(range(data.num_rows - 40, data.num_rows - 30)))


def _state(backend: object, data: pa.Table, **winback: float) -> SegmentResult:
    """A relationship-state result of ``data``: one customer in three is not lost."""
    lost = ["repeat" if i % 3 == 0 else "lost" for i in range(data.num_rows)]
    table = register_arrow(backend, "state", data.append_column("segment", pa.array(lost)))
    config = {"winback": {"min_revenue": -10.0, "min_orders": 1, **winback}}
    return SegmentResult("state", None, table, ("customer_id", "revenue", "order_count", "segment"), config=config)


def test_winback_ranks_on_spark_equal_duckdb(engines: tuple[object, object]) -> None:
    from custlens.segment import winback_list

    duck, spark = engines
    data = _with_nulls(7)
    data = data.filter(pc.is_valid(data["customer_id"]))  # a state result has every id
    a, b = winback_list(_state(duck, data)), winback_list(_state(spark, data))
    rows_a, rows_b = a.to_pyarrow().to_pylist(), b.to_pyarrow().to_pylist()
    assert _missing(rows_b) == _missing(rows_a)
    assert not _single_partition(b)
    # the order: revenue (NaN first: the largest), then customer id; lost, revenue >= -10, >= 1 order
    kept = [
        r
        for i, r in enumerate(data.to_pylist())
        if i % 3 and r["revenue"] is not None and (r["revenue"] != r["revenue"] or r["revenue"] >= -10.0)
    ]
    kept = [r for r in kept if r["order_count"] >= 1]
    nan_first = [r for r in kept if r["revenue"] != r["revenue"]]
    numbers = [r for r in kept if r["revenue"] == r["revenue"]]
    expected = sorted(nan_first, key=lambda r: r["customer_id"]) + sorted(
        numbers, key=lambda r: (-r["revenue"], r["customer_id"])
    )
    assert [(r["winback_rank"], r["customer_id"]) for r in rows_a] == [
        (i + 1, r["customer_id"]) for i, r in enumerate(expected)
    ]
    assert any(r["revenue"] == 37.5 for r in rows_a) and any(_nan(r["revenue"]) for r in rows_a)
    top = winback_list(_state(spark, data), top=5).to_pyarrow().to_pylist()
    assert _missing(top) == _missing(rows_a[:5])
    empty = winback_list(_state(spark, data, min_orders=100))
    assert empty.to_pyarrow().num_rows == 0 == winback_list(_state(duck, data, min_orders=100)).count().execute()


@pytest.mark.parametrize(("rows", "limit"), [(400, 37), (400, 400), (400, 1000), (0, 10)])
def test_matrix_points_on_spark_equal_duckdb(
    engines: tuple[object, object], monkeypatch: pytest.MonkeyPatch, rows: int, limit: int
) -> None:
    """The analysis' even sample: every ``ceil(rows / limit)``-th customer in id order from the first."""
    from types import SimpleNamespace

    from custlens.analysis._pipeline import Pipeline

    duck, spark = engines
    data = _values(8).slice(0, rows)
    numbered: list[ir.Table] = []

    def recorded(table: ir.Table, *args: object, **kwargs: object) -> ir.Table:
        numbered.append(ordered(table, *args, **kwargs))  # type: ignore[arg-type]
        return numbered[-1]

    ordered = compat.ordered_rows
    monkeypatch.setattr(compat, "ordered_rows", recorded)
    fake = SimpleNamespace(config={"points": {"scatter": limit}})
    a, b = (
        Pipeline._points(fake, SimpleNamespace(customers=register_arrow(con, "m", data)))  # type: ignore[arg-type]
        for con in (duck, spark)
    )
    assert b.equals(a)
    step = max(1, -(-rows // limit))
    ids = sorted(data["customer_id"].to_pylist())[::step]
    assert a["customer_id"].to_pylist() == ids and a.num_rows <= limit
    assert a.column_names == data.column_names
    assert rows == 0 or not _single_partition(numbered[-1])  # the Spark one: by ranges


@pytest.mark.parametrize("rows", [400, 2, 1, 0])
def test_quantiles_on_spark_equal_duckdbs_quantile_cont(engines: tuple[object, object], rows: int) -> None:
    """Quantiles by positions in the order (Spark) are DuckDB's ``quantile_cont`` bit for bit, and NumPy's type 7.

    Spark's own exact ``percentile`` holds every distinct value in one object per quantile;
    ``compat.quantiles`` numbers the values by ranges instead. Ties (zeros, -5, 37.5), nulls,
    whole positions (p = 0, 0.5 of an odd count, 1) and the same column asked at several p.
    """
    duck, spark = engines
    data = _values(9).slice(0, rows)
    values = data["revenue"].to_numpy(zero_copy_only=False).copy()
    values[::7] = np.nan  # nulls (Arrow), left out by both
    data = data.set_column(1, "revenue", pa.array(values, from_pandas=True))
    wanted = {f"r{i}": ("revenue", p) for i, p in enumerate((0.0, 0.2, 0.25, 0.5, 0.8, 0.999, 1.0))}
    wanted["c"] = ("order_count", 1 / 3)
    a, b = (compat.quantiles(register_arrow(con, "q", data), wanted).to_pyarrow() for con in (duck, spark))
    assert compat.backend_name(compat.quantiles(register_arrow(spark, "q", data), wanted)) == "pyspark"
    assert b.to_pylist() == a.to_pylist()  # exactly
    kept = values[~np.isnan(values)]
    for name, (col, p) in wanted.items():
        column = kept if col == "revenue" else data["order_count"].to_numpy()
        expected = float(np.quantile(column, p)) if len(column) else None
        assert a[name][0].as_py() == (pytest.approx(expected, rel=1e-15) if expected is not None else None), name


def test_a_large_table_is_ranked_by_ranges_on_a_local_master(
    spark_session: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above ``RANK_LOCAL_ROWS`` a local master cuts ranges too (one partition ran out of memory at 10.9M rows)."""
    monkeypatch.setattr(compat, "RANK_BUCKET_ROWS", 10)
    monkeypatch.setattr(compat, "RANK_RANGES_LOCAL", False)
    data = _values(10)
    spark = ibis.pyspark.connect(spark_session)
    duck = ibis.duckdb.connect()
    keys = [("revenue", True), ("customer_id", False)]
    monkeypatch.setattr(compat, "RANK_LOCAL_ROWS", data.num_rows)  # not above: one window, as before
    assert _single_partition(ordered_rows(register_arrow(spark, "big", data), keys))
    monkeypatch.setattr(compat, "RANK_LOCAL_ROWS", data.num_rows - 1)
    ranged = ordered_rows(register_arrow(spark, "big", data), keys)
    assert not _single_partition(ranged)
    whole = ordered_rows(register_arrow(duck, "big", data), keys)
    _same(_by_id(ranged.to_pyarrow()), _by_id(whole.to_pyarrow()), ())
