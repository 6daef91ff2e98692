"""Building a segmentation executes nothing: typed columns and an explicit as-of give pure expressions.

Every Ibis entry point that runs a query is made to raise while the features and each
method's result (customers, summary, the keys of details) are built; afterwards the
results are executed once and checked against the eager numbers. Split and cut points
live inside the expressions; ``details`` reads them on access. k-means (fitted in Python)
and ``concentration`` (a dict of numbers) execute by design and are not in the list.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pytest

from custlens.features import (
    activity_features,
    calibration_holdout,
    customer_features,
    purchase_history,
    value_indicators,
    window_features,
)
from custlens.segment import (
    abc_classes,
    clv_matrix,
    combine,
    lifecycle_stage,
    lifecycle_stage_from_transactions,
    pareto_curve,
    relationship_state,
    relationship_state_from_transactions,
    rfm,
    rfm_from_transactions,
    rfm_heatmap,
    rule_segments,
    state_flow,
    value_matrix,
    value_pyramid,
    winback_list,
)
from custlens.synth import generate_company

AS_OF = dt.date(2025, 6, 30)
_RUNNERS = ("execute", "to_pyarrow", "to_pandas", "to_polars", "to_pyarrow_batches", "to_csv", "to_parquet", "cache")


@contextlib.contextmanager
def nothing_runs() -> Iterator[None]:
    """Every way of running an Ibis expression raises inside the block."""
    mp = pytest.MonkeyPatch()

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise AssertionError("an Ibis expression was executed while a result was being built")

    for cls in (ir.Expr, ir.Table, ir.Column, ir.Scalar):
        for name in _RUNNERS:
            if hasattr(cls, name):
                mp.setattr(cls, name, refuse)
    try:
        yield
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def tables() -> dict[str, ir.Table]:
    company = generate_company(400, seed=7, start="2023-01-01", end="2025-12-31")
    con = ibis.duckdb.connect()
    return {
        name: con.create_table(name, getattr(company, name))
        for name in ("transactions", "customers", "receivables", "interactions", "leads")
    }


def test_the_guard_catches_execution(tables: dict[str, ir.Table]) -> None:
    with nothing_runs(), pytest.raises(AssertionError, match="executed"):
        tables["transactions"].count().execute()


def test_building_every_method_runs_no_query(tables: dict[str, ir.Table]) -> None:
    tx, customers = tables["transactions"], tables["customers"]
    p_alive = ibis.memtable(pa.table({"customer_id": ["C00000001"], "p_alive": [0.1]}))
    rules = {"rule": [{"name": "big", "when": "revenue > 1000 and recency_days < 90"}]}
    with nothing_runs():
        feats = customer_features(
            tx,
            as_of=AS_OF,
            customers=customers,
            receivables=tables["receivables"],
            interactions=tables["interactions"],
        )
        others = [
            value_indicators(tx, as_of=AS_OF),
            window_features(tx, as_of=AS_OF, window_days=365),
            activity_features(tx, as_of=AS_OF),
            purchase_history(tx, as_of=AS_OF, time_unit="W"),
            calibration_holdout(tx, calibration_end="2024-12-31", observation_end=AS_OF),
        ]
        state = relationship_state(feats, as_of=AS_OF, leads=tables["leads"], p_alive=p_alive)
        pyramid = value_pyramid(feats, as_of=AS_OF)
        results = {
            "rfm": rfm(feats, as_of=AS_OF),
            "rfm2": rfm(feats, as_of=AS_OF, bins=2, segment_map="cn8", config={"measures": {"monetary": "average"}}),
            "state": state,
            "lifecycle": lifecycle_stage(feats, as_of=AS_OF),
            "abc": abc_classes(feats, as_of=AS_OF),
            "pyramid": pyramid,
            "value_matrix": value_matrix(feats, as_of=AS_OF),
            "value_matrix_mean": value_matrix(feats, as_of=AS_OF, split="mean"),
            "clv_matrix": clv_matrix(feats, current_col="revenue", potential_col="max_order_value", as_of=AS_OF),
            "rules": rule_segments(feats, rules, as_of=AS_OF),
            "scheme": combine({"state": state, "tier": pyramid}, attributes=feats, attribute_columns=["customer_type"]),
            "rfm_tx": rfm_from_transactions(tx, as_of=AS_OF),
            "state_tx": relationship_state_from_transactions(tx, as_of=AS_OF),
            "lifecycle_tx": lifecycle_stage_from_transactions(tx, as_of=AS_OF),
        }
        tables_built = [
            *others,
            *(r.customers for r in results.values()),
            *(r.summary for r in results.values()),
            winback_list(state),
            rfm_heatmap(results["rfm"]),
            pareto_curve(feats),
            state_flow(tx, "2024-12-31", AS_OF),
        ]
        keys = {name: list(r.details) for name, r in results.items()}  # listing details runs nothing
    assert "cut_points" in keys["rfm"] and {"x_split", "y_split"} <= set(keys["value_matrix"])
    # now run each once
    for expr in tables_built:
        assert expr.to_pyarrow().num_rows > 0
    for name, res in results.items():
        cust = res.customers.to_pyarrow()
        assert cust.num_rows > 0 and cust["segment"].null_count == 0, name
        assert sum(res.summary.to_pyarrow()["customers"].to_pylist()) == cust.num_rows, name
    # details computed on access agree with the expressions that used them
    vm = results["value_matrix"]
    base = feats.filter(feats.order_count.notnull())
    x = base.order_count.cast("float64").quantile(0.5).to_pyarrow().as_py()
    assert vm.details["x_split"] == pytest.approx(x)
    high = vm.customers.filter(vm.customers.frequency_level == "high").frequency.min().to_pyarrow().as_py()
    assert high > vm.details["x_split"]
    cuts = results["rfm"].details["cut_points"]
    rows = results["rfm"].customers.to_pyarrow().to_pylist()
    for r in rows:
        band = next(c for c in cuts["monetary"] if c["min"] < r["monetary"] <= c["max"])
        assert band["score"] == r["m_score"]
