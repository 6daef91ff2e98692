"""k-means on Spark (MLlib, from the same sample and starts) assigns every customer as scikit-learn does on DuckDB."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from custlens.errors import InputError
from custlens.segment.cluster import kmeans_segments

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _groups(seed: int = 5) -> pa.Table:
    """Four overlapping groups of 60 customers (k is not obvious, the starts matter)."""
    rng = np.random.default_rng(seed)
    centres = [(10, 20, 5000, 250), (60, 6, 600, 100), (120, 4, 300, 90), (300, 1, 40, 40)]
    cols: dict[str, list[float]] = {k: [] for k in ("recency_days", "order_count", "revenue", "avg_order_value")}
    for r, f, m, a in centres:
        cols["recency_days"] += list(rng.normal(r, r * 0.4, 60))
        cols["order_count"] += list(np.maximum(1, rng.normal(f, f * 0.4, 60)))
        cols["revenue"] += list(rng.lognormal(np.log(m), 0.5, 60))
        cols["avg_order_value"] += list(rng.lognormal(np.log(a), 0.5, 60))
    ids = [f"c{i:04d}" for i in rng.permutation(240)]  # ids not in row order
    return pa.table({"customer_id": ids, **cols})


def _spark_table(spark_session: object, table: pa.Table) -> object:
    import ibis

    from custlens.warehouse.compat import register_arrow

    return register_arrow(ibis.pyspark.connect(spark_session), "cluster_input", table)


@pytest.mark.parametrize("sample", [1000, 90])  # every customer, or a sample fetched by position
def test_mllib_kmeans_equals_scikit_learn(spark_session: object, sample: int) -> None:
    import ibis

    data = _groups()
    config = {"silhouette_sample": sample, "k_max": 6}
    local = kmeans_segments(ibis.memtable(data), as_of="2025-06-30", config=config)
    spark = kmeans_segments(_spark_table(spark_session, data), as_of="2025-06-30", config=config)
    assert spark.details["k"] == local.details["k"]
    for k, score in local.details["silhouette"].items():
        assert spark.details["silhouette"][k] == pytest.approx(score, rel=1e-9)
    assert spark.details["inertia"] == pytest.approx(local.details["inertia"], rel=1e-9)
    a = local.customers.order_by("customer_id").to_pyarrow()
    b = spark.customers.order_by("customer_id").to_pyarrow()
    assert a["customer_id"].equals(b["customer_id"])
    assert a["cluster"].to_pylist() == b["cluster"].to_pylist()
    assert a["segment_zh"].equals(b["segment_zh"])
    pa_local, pa_spark = local.details["profile"], spark.details["profile"]
    assert pa_local.column_names == pa_spark.column_names
    for name in pa_local.column_names:
        assert np.allclose(pa_local[name].to_numpy(), pa_spark[name].to_numpy(), rtol=1e-9), name


def test_missing_values_on_spark_name_the_customer(spark_session: object) -> None:
    data = _groups()
    revenue = data["revenue"].to_pylist()
    first = min(range(len(revenue)), key=lambda i: data["customer_id"][i].as_py())
    revenue[first] = None
    data = data.set_column(3, "revenue", pa.array(revenue, pa.float64()))
    with pytest.raises(
        InputError, match=rf"1 customers have missing.*customer {data['customer_id'][first]}, column 'revenue'"
    ):
        kmeans_segments(_spark_table(spark_session, data), k=3)
