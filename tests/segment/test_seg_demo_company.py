"""Every method on the synthetic demo company (custlens.synth), end to end.

Checks the invariants any correct segmentation keeps on a realistic base: one segment per
customer, shares and value shares summing to one, tiers of the documented sizes, and the
bank-case scheme composed from attributes, states and tiers.
"""

from __future__ import annotations

import ibis
import pytest

from custlens.features import customer_features
from custlens.segment import (
    abc_classes,
    clv_matrix,
    combine,
    kmeans_segments,
    lifecycle_stage,
    relationship_state,
    relationship_state_from_transactions,
    rfm,
    rfm_from_transactions,
    rule_segments,
    value_matrix,
    value_pyramid,
)
from custlens.synth import generate_company


@pytest.fixture(scope="module")
def company():
    return generate_company(600, seed=11)


@pytest.fixture(scope="module")
def tables(company):
    con = ibis.duckdb.connect()
    tx = con.create_table("transactions", company.transactions)
    customers = con.create_table("customers", company.customers)
    leads = con.create_table("leads", company.leads)
    # the shared pipeline: the features once, stored; every method reads them
    feats = customer_features(tx, customers=customers, as_of=company.end)
    feats = con.create_table("features", feats.to_pyarrow())
    return tx, customers, leads, feats


def _check(res, n_customers: int | None = None) -> list[dict]:
    cust = res.customers.to_pyarrow()
    ids = cust["customer_id"].to_pylist()
    assert len(ids) == len(set(ids)), "one row per customer"
    assert cust["segment"].null_count == 0
    summ = res.summary.to_pyarrow().to_pylist()
    assert sum(r["customers"] for r in summ) == cust.num_rows
    assert sum(r["share"] for r in summ) == pytest.approx(1.0)
    if all(r["value_share"] is not None for r in summ):
        assert sum(r["value_share"] for r in summ) == pytest.approx(1.0)
    if n_customers is not None:
        assert cust.num_rows == n_customers
    return summ


def test_every_method_on_the_demo_company(company, tables) -> None:
    tx, customers, leads, feats = tables
    buyers = feats.filter(feats.order_count > 0)
    n_buyers = buyers.count().execute()
    _check(rfm_from_transactions(tx, as_of=company.end), n_buyers)
    # RFM straight from the stored features (customers without purchases are left out)
    by_features = rfm(feats, as_of=company.end)
    _check(by_features, n_buyers)
    _check(rfm(buyers, as_of=company.end, frequency_col="order_count", monetary_col="revenue"), n_buyers)
    state = relationship_state(feats, as_of=company.end, leads=leads)
    summ = _check(state)
    assert {"lost", "repeat"} <= {r["segment"] for r in summ}
    # the transaction convenience computes the same features: the same states
    again = relationship_state_from_transactions(tx, as_of=company.end, leads=leads)
    key = ["customer_id"]
    assert state.customers.order_by(key).to_pyarrow().equals(again.customers.order_by(key).to_pyarrow())
    _check(lifecycle_stage(feats, as_of=company.end), n_buyers)
    _check(abc_classes(buyers, as_of=company.end), n_buyers)
    tiers = value_pyramid(buyers, as_of=company.end)
    counts = {r["segment"]: r["customers"] for r in _check(tiers, n_buyers)}
    assert counts["VIP"] == pytest.approx(0.01 * n_buyers, abs=2)
    assert counts["VIP"] + counts["major"] == pytest.approx(0.05 * n_buyers, abs=3)
    _check(value_matrix(buyers, as_of=company.end), n_buyers)
    _check(clv_matrix(buyers, potential_col="max_order_value", as_of=company.end), n_buyers)
    _check(
        rule_segments(
            buyers, {"rule": [{"name": "corporate big", "when": "customer_type = 'corporate' and revenue > 1000"}]}
        ),
        n_buyers,
    )
    _check(kmeans_segments(buyers, as_of=company.end, config={"k_max": 4}), n_buyers)
    # the bank case: customer type x relationship state x value tier
    scheme = combine(
        {"relationship": state, "tier": tiers},
        attributes=buyers,
        attribute_columns=["customer_type"],
        value_col="revenue",
    )
    summ = _check(scheme, n_buyers)
    assert all(r["segment"].count(" | ") == 2 for r in summ)
