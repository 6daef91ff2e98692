"""DuckDB and Spark tag alike: the shipped taxonomy on the demo workspace's stored analysis.

The inputs (the stored per-customer table, the segments the tags read, the customers and
the transactions) are read once as Arrow and registered on both engines; every tag's
holders and every band's cut points must be equal.
"""

from __future__ import annotations

import ibis
import pytest

from custlens.analysis import load_analysis
from custlens.tags import compute_tags, load_taxonomy, tag_base
from custlens.tags._engine import needed_methods
from custlens.warehouse.compat import register_arrow

from .conftest import SECOND

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _compute(backend: object, inputs: dict, taxonomy: object) -> tuple[set, dict]:
    t = {name: register_arrow(backend, f"parity_{name}", table) for name, table in inputs.items()}
    segments = {m: t[f"seg_{m}"] for m in needed_methods(taxonomy)}
    base = tag_base(t["analysis"], customers=t["customers"], segments=segments)
    result = compute_tags(
        taxonomy, base, transactions=t["transactions"], as_of=SECOND, attributes=set(t["customers"].columns)
    )
    pairs = {(r["customer_id"], r["tag"]) for r in result.assignments.to_pyarrow().to_pylist()}
    return pairs, result.cut_points


def test_duckdb_and_spark_give_the_same_tags(demo: object, spark_session: object) -> None:
    taxonomy = load_taxonomy()
    stored = load_analysis(demo, as_of=SECOND)
    inputs = {
        "analysis": stored.customers().to_pyarrow(),
        "customers": demo.table("customers").to_pyarrow(),
        "transactions": demo.table("transactions").to_pyarrow(),
        **{f"seg_{m}": stored.segments(m).to_pyarrow() for m in needed_methods(taxonomy)},
    }
    duck_pairs, duck_cuts = _compute(ibis.duckdb.connect(), inputs, taxonomy)
    spark_pairs, spark_cuts = _compute(ibis.pyspark.connect(spark_session), inputs, taxonomy)
    assert len(duck_pairs) > 5000
    assert duck_pairs == spark_pairs
    assert duck_cuts == spark_cuts
    assert {t for _, t in duck_pairs} >= {t.id for t in taxonomy.tags if t.kind != "window"} - {"rfm_hibernating"}
