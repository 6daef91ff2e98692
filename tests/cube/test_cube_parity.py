"""DuckDB and Spark give the same cube on the demo company: four dimensions, every measure, both subtotal kinds."""

from __future__ import annotations

import ibis
import pytest

from custlens.analysis import load_analysis
from custlens.cube import MEASURES, cube_table
from custlens.warehouse.compat import register_arrow

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def test_duckdb_and_spark_agree(cube_ws: object, spark_session: object) -> None:
    stored = load_analysis(cube_ws)
    inputs = {
        "transactions": cube_ws.table("transactions").to_pyarrow(),
        "customers": cube_ws.table("customers").to_pyarrow(),
        "analysis": stored.customers().to_pyarrow(),
        "rfm": stored.segments("rfm").to_pyarrow(),
    }
    results = {}
    for name, backend in (("duckdb", ibis.duckdb.connect()), ("spark", ibis.pyspark.connect(spark_session))):
        t = {k: register_arrow(backend, f"cube_parity_{k}", v) for k, v in inputs.items()}
        kwargs = {
            "customers": t["customers"],
            "analysis": t["analysis"],
            "segments": {"rfm": t["rfm"]},
            "as_of": stored.as_of,
            "measures": list(MEASURES),
        }
        results[name] = [
            cube_table(t["transactions"], by=["region", "industry", "segment", "quarter"], **kwargs),
            cube_table(
                t["transactions"],
                by=["customer_type", "category", "channel"],
                subtotals="cube",
                where="month >= '2025-01' and amount > 0",
                **kwargs,
            ),  # fmt: skip
        ]
    for duck, spark in zip(results["duckdb"], results["spark"]):
        assert duck.num_rows > 50
        assert duck.column_names == spark.column_names
        a, b = duck.to_pylist(), spark.to_pylist()
        assert len(a) == len(b)
        for x, y in zip(a, b):
            for key, value in x.items():
                if isinstance(value, float):
                    assert y[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
                else:
                    assert y[key] == value, key
