"""DuckDB and Spark segment alike: one input, both engines, every method's results compared.

The features, every segmentation's customers and summary, and the numbers its details
compute on access (cut points, split points) are computed on the same demo company on
DuckDB and on PySpark and must be equal.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from custlens.features import customer_features
from custlens.segment import (
    abc_classes,
    clv_matrix,
    combine,
    concentration,
    lifecycle_stage,
    pareto_curve,
    relationship_state,
    rfm,
    rfm_heatmap,
    rule_segments,
    state_flow,
    value_matrix,
    value_pyramid,
    winback_list,
)
from custlens.synth import generate_company
from custlens.warehouse.compat import register_arrow

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

AS_OF = dt.date(2025, 6, 30)
RULES = {"rule": [{"name": "big", "when": "revenue > 1000"}, {"name": "recent", "when": "recency_days < 60"}]}


def _frame(expr: ibis.Table, keys: list[str]) -> pd.DataFrame:
    df = expr.to_pandas().sort_values(keys).reset_index(drop=True)
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = pd.to_datetime(df[c], utc=True)
    return df


def assert_same(duck: ibis.Table, spark: ibis.Table, keys: list[str]) -> None:
    """Equal rows (sorted by ``keys``), numbers to 1e-9, timestamps as UTC instants."""
    a, b = _frame(duck, keys), _frame(spark, keys)
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) > 0
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]) and pd.api.types.is_numeric_dtype(b[c]):
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-9, atol=1e-9, err_msg=c)
        else:
            assert [None if pd.isna(v) else v for v in a[c]] == [None if pd.isna(v) else v for v in b[c]], c


@pytest.fixture(scope="module")
def engines(spark_session: object) -> dict[str, dict[str, ibis.Table]]:
    company = generate_company(300, seed=33, start="2023-01-01", end="2025-12-31")
    # leads without null texts: the converted ones are buyers anyway
    leads = company.leads.filter(pa.compute.is_null(company.leads["customer_id"]))
    sources = {"transactions": company.transactions, "customers": company.customers, "leads": leads}
    out = {}
    for name, con in (("duckdb", ibis.duckdb.connect()), ("spark", ibis.pyspark.connect(spark_session))):
        t = {k: register_arrow(con, f"segparity_{k}", v) for k, v in sources.items()}
        t["features"] = customer_features(t["transactions"], as_of=AS_OF, customers=t["customers"])
        out[name] = t
    return out


def _results(t: dict) -> dict:
    feats = t["features"]
    state = relationship_state(feats, as_of=AS_OF, leads=t["leads"])
    pyramid = value_pyramid(feats, as_of=AS_OF)
    return {
        "rfm": rfm(feats, as_of=AS_OF),
        "rfm_average_4": rfm(
            feats,
            as_of=AS_OF,
            bins=4,
            segment_map={"segment": [{"name": "x", "when": "r_score >= 1"}]},
            config={"measures": {"monetary": "average"}, "cut_offset": 1},
        ),
        "state": state,
        "lifecycle": lifecycle_stage(feats, as_of=AS_OF),
        "abc": abc_classes(feats, as_of=AS_OF),
        "pyramid": pyramid,
        "value_matrix": value_matrix(feats, as_of=AS_OF),
        "value_matrix_mean": value_matrix(feats, as_of=AS_OF, split="mean"),
        "clv_matrix": clv_matrix(feats, current_col="revenue", potential_col="max_order_value", as_of=AS_OF),
        "rules": rule_segments(feats, RULES, as_of=AS_OF),
        "scheme": combine({"state": state, "tier": pyramid}, attributes=feats, attribute_columns=["customer_type"]),
    }


def test_every_method_gives_the_same_segments(engines: dict) -> None:
    duck, spark = _results(engines["duckdb"]), _results(engines["spark"])
    for name in duck:
        assert_same(duck[name].customers, spark[name].customers, ["customer_id"])
        assert_same(duck[name].summary, spark[name].summary, ["segment"])
    for name in ("rfm", "rfm_average_4"):
        # rounded to 12 significant digits in the engine: the same numbers exactly
        assert duck[name].details["cut_points"] == spark[name].details["cut_points"], name
    for name in ("value_matrix", "value_matrix_mean", "clv_matrix"):
        for key in ("x_split", "y_split"):
            assert duck[name].details[key] == pytest.approx(spark[name].details[key], rel=1e-12), (name, key)
    assert_same(rfm_heatmap(duck["rfm"]), rfm_heatmap(spark["rfm"]), ["r_score", "f_score"])
    assert_same(winback_list(duck["state"]), winback_list(spark["state"]), ["winback_rank"])


def test_value_curves_and_concentration(engines: dict) -> None:
    d, s = engines["duckdb"]["features"], engines["spark"]["features"]
    assert_same(pareto_curve(d), pareto_curve(s), ["customer_share"])
    assert concentration(d) == pytest.approx(concentration(s), rel=1e-12)


def test_state_flow(engines: dict) -> None:
    flows = [state_flow(t["transactions"], "2024-12-31", AS_OF) for t in (engines["duckdb"], engines["spark"])]
    assert_same(*flows, ["from_state", "to_state"])
