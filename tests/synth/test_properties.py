"""Property tests: any valid parameters give schema-conformant, consistent tables."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens.schema import TABLES
from custlens.synth import CompanyParams, generate_company

from .test_schema_and_integrity import ARROW

share = st.floats(0.0, 1.0)
params = st.builds(
    CompanyParams,
    corporate_share=share,
    process=st.sampled_from(["pareto_nbd", "bg_nbd"]),
    r=st.floats(0.05, 5.0),
    alpha=st.floats(0.5, 50.0),
    s=st.floats(0.05, 5.0),
    beta=st.floats(0.5, 200.0),
    q=st.floats(1.5, 10.0),
    no_purchase_share=st.floats(0.0, 0.99),
    extra_line_prob=share,
    return_rate=st.floats(0.0, 0.5),
    leads_per_customer=st.floats(0.0, 3.0),
    lead_conversion_share=share,
    ecsi_share=share,
    kano_share=share,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=params, n=st.integers(1, 300), seed=st.integers(0, 2**32), days=st.integers(0, 800))
def test_any_parameters_give_valid_tables(p: CompanyParams, n: int, seed: int, days: int) -> None:
    end = date(2024, 1, 1) + timedelta(days=days)
    company = generate_company(n, seed=seed, start="2024-01-01", end=end, params=p)
    assert company.customers.num_rows == n
    ids = company.customers["customer_id"]
    for name, spec in TABLES.items():
        table = company.tables()[name]
        assert table.column_names == spec.column_names
        for col in spec.columns:
            assert table.schema.field(col.name).type == ARROW[col.dtype]
            if col.required:
                assert table[col.name].null_count == 0, (name, col.name)
            values = table[col.name].drop_null()
            if col.minimum is not None and len(values):
                assert pc.min(values).as_py() >= col.minimum, (name, col.name)
        if "customer_id" in table.column_names and name != "customers":
            refs = table["customer_id"].drop_null()
            if len(refs):
                assert pc.all(pc.is_in(refs, value_set=ids)).as_py() is True, name
    tx = company.transactions
    if tx.num_rows:
        assert pc.all(pc.equal(pc.less(tx["amount"], 0), tx["return_flag"])).as_py()
