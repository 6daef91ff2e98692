"""Every generated table matches the canonical schema, and keys and references hold."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from custlens.schema import TABLES
from custlens.synth import REGION_LABELS, Company

ARROW = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp('UTC')": pa.timestamp("us", tz="UTC"),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_columns_and_types_match_the_schema(company: Company, name: str) -> None:
    table = company.tables()[name]
    spec = TABLES[name]
    assert table.column_names == spec.column_names
    for col in spec.columns:
        assert table.schema.field(col.name).type == ARROW[col.dtype], col.name


@pytest.mark.parametrize("name", list(TABLES))
def test_required_allowed_minimum_and_keys(company: Company, name: str) -> None:
    table = company.tables()[name]
    spec = TABLES[name]
    assert table.num_rows > 0
    for col in spec.columns:
        values = table[col.name]
        if col.required:
            assert values.null_count == 0, col.name
        if col.allowed is not None:
            seen = set(pc.unique(values.drop_null()).to_pylist())
            assert seen <= set(col.allowed), (col.name, seen - set(col.allowed))
        if col.minimum is not None:
            assert pc.min(values).as_py() >= col.minimum, col.name
    key = table.select(list(spec.key)).to_pandas()
    assert not key.duplicated().any(), f"duplicate keys in {name}"


def test_every_customer_reference_exists(company: Company) -> None:
    ids = set(company.customers["customer_id"].to_pylist())
    assert company.identity["customer_id"].to_pylist() == company.customers["customer_id"].to_pylist()
    for name in ("transactions", "interactions", "receivables", "survey_answers"):
        refs = set(company.tables()[name]["customer_id"].to_pylist())
        assert refs <= ids, name
    converted = company.leads["customer_id"].drop_null().to_pylist()
    assert converted and set(converted) <= ids
    assert len(converted) == len(set(converted))


def test_receivables_belong_to_corporate_orders(company: Company) -> None:
    cust = company.customers.to_pandas().set_index("customer_id")["customer_type"]
    rec = company.receivables.to_pandas()
    assert (cust.loc[rec["customer_id"]] == "corporate").all()
    assert (rec["due_on"] > rec["issued_on"]).all()
    paid = rec["paid_on"].notna()
    assert (rec.loc[paid, "paid_amount"] == rec.loc[paid, "amount"]).all()
    assert (rec.loc[~paid, "paid_amount"] < rec.loc[~paid, "amount"]).all()
    assert (rec.loc[paid, "paid_on"] >= rec.loc[paid, "issued_on"]).all()
    late = rec.loc[paid, "paid_on"] > rec.loc[paid, "due_on"]
    assert 0.1 < late.mean() < 0.6
    assert 0.02 < (~paid).mean() < 0.4


def test_times_lie_in_the_period(company: Company) -> None:
    lo = datetime(2023, 1, 1, tzinfo=UTC)
    hi = datetime(2026, 1, 1, tzinfo=UTC)
    for name, col in [
        ("customers", "created_at"),
        ("transactions", "ordered_at"),
        ("interactions", "occurred_at"),
        ("leads", "created_at"),
        ("survey_answers", "answered_at"),
    ]:
        values = company.tables()[name][col]
        assert pc.min(values).as_py() >= lo and pc.max(values).as_py() < hi, name


def test_purchases_follow_registration(company: Company) -> None:
    tx = company.transactions.to_pandas()
    created = company.customers.to_pandas().set_index("customer_id")["created_at"]
    first = tx.groupby("customer_id")["ordered_at"].min()
    assert (first >= created.loc[first.index]).all()
    leads = company.leads.to_pandas().dropna(subset=["customer_id"])
    assert (leads["created_at"].to_numpy() <= created.loc[leads["customer_id"]].to_numpy()).all()


def test_returns_mirror_a_sold_line(company: Company) -> None:
    tx = company.transactions.to_pandas()
    ret = tx[tx["return_flag"]]
    sold = tx[~tx["return_flag"]]
    assert (ret["amount"] < 0).all() and (ret["quantity"] < 0).all()
    assert (sold["amount"] > 0).all() and (sold["quantity"] >= 1).all()
    key = ret.assign(order_id="SO" + ret["order_id"].str[2:])
    merged = key.merge(sold, on=["order_id", "line"], suffixes=("_r", "_s"))
    assert len(merged) == len(ret)
    np.testing.assert_allclose(merged["amount_r"], -merged["amount_s"])
    assert (merged["ordered_at_r"] > merged["ordered_at_s"]).all()
    assert (merged["product_id_r"] == merged["product_id_s"]).all()
    np.testing.assert_allclose(tx["margin"], (tx["amount"] - tx["cost"]).round(2), atol=1e-9)


def test_attributes_by_customer_type(company: Company) -> None:
    cust = company.customers.to_pandas()
    corp = cust[cust["customer_type"] == "corporate"]
    pers = cust[cust["customer_type"] == "personal"]
    corporate_cols = ["industry", "company_size", "registered_capital", "annual_sales", "listed"]
    personal_cols = ["gender", "age_band", "education", "income_band", "occupation"]
    assert corp[corporate_cols].notna().all().all() and pers[corporate_cols].isna().all().all()
    assert pers[personal_cols].notna().all().all() and corp[personal_cols].isna().all().all()
    assert set(cust["region"]) <= set(REGION_LABELS)
    assert 0.12 < len(corp) / len(cust) < 0.18


def test_identity_mixes_chinese_and_english_names(company: Company) -> None:
    ident = company.identity.to_pandas()
    chinese = ident["name"].str.contains(r"[\u4e00-\u9fff]")
    assert 0.5 < chinese.mean() < 0.95
    assert ident["name"].str.contains("王").any()
    assert ident["email"].dropna().str.fullmatch(r"[a-z.0-9]+@[a-z.]+").all()
    assert ident["phone"].dropna().str.startswith("+").all()
