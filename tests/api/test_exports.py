"""Campaign exports: CSV and XLSX, formula cells neutralised, contact data only where allowed."""

from __future__ import annotations

import io

import pyarrow as pa
import pytest

from custlens.service import neutralise_formulas

from .conftest import Clients, one_customer

pytestmark = pytest.mark.xdist_group("api")


def _rows(content: bytes) -> list[dict[str, str]]:
    import csv

    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _text(value: str | None) -> str:
    """A cell as the export writes it: empty for null, formula-like text behind a quote."""
    if value is None:
        return ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def test_csv_campaign_list(api: Clients) -> None:
    response = api.get("analyst", "/api/v1/exports/campaign", params={"method": "rfm", "segment": "Champions"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="campaign-' in response.headers["content-disposition"]
    rows = _rows(response.content)
    members = api.get("analyst", "/api/v1/segments/rfm/Champions/members?page_size=500").json()
    assert {r["customer_id"] for r in rows} == {m["customer_id"] for m in members["items"]}
    assert {"segment", "priority", "channel", "offer_zh"} <= set(rows[0])
    assert not {"name", "email", "phone", "address", "contact_person"} & set(rows[0])  # analyst: none
    en = _rows(api.get("analyst", "/api/v1/exports/campaign?method=rfm&languages=en").content)
    assert "offer" in en[0] and "offer_zh" not in en[0]
    assert len(en) == sum(s["customers"] for s in api.get("analyst", "/api/v1/segments/rfm").json()["segments"])


def test_contact_columns_follow_the_role_and_consent(api: Clients) -> None:
    customers = api.service.table("customers").select("customer_id", "consent_marketing").to_pyarrow()
    consent = dict(zip(customers["customer_id"].to_pylist(), customers["consent_marketing"].to_pylist()))
    identity = api.service.table("identity").to_pyarrow().to_pylist()
    people = {r["customer_id"]: {k: _text(v) for k, v in r.items()} for r in identity}
    marketing = _rows(api.get("marketing", "/api/v1/exports/campaign?method=rfm").content)
    assert {"name", "phone", "email", "contact_person"} <= set(marketing[0]) and "address" not in marketing[0]
    for row in marketing:
        for field in ("name", "contact_person", "phone", "email"):
            expected = people[row["customer_id"]][field] if consent.get(row["customer_id"]) is True else ""
            assert row[field] == expected, (row["customer_id"], field)
    assert any(consent.get(r["customer_id"]) is not True for r in marketing)
    assert any(consent.get(r["customer_id"]) is True and r["email"] for r in marketing)
    admin = _rows(api.get("admin", "/api/v1/exports/campaign?method=rfm").content)
    assert "address" in admin[0]
    assert all(r[f] == people[r["customer_id"]][f] for r in admin for f in ("name", "email", "address"))
    bare = _rows(api.get("admin", "/api/v1/exports/campaign?method=rfm&contacts=false").content)
    assert "email" not in bare[0]


def test_xlsx_campaign_list(api: Clients) -> None:
    from openpyxl import load_workbook

    response = api.get("marketing", "/api/v1/exports/campaign", params={"method": "pyramid", "format": "xlsx"})
    assert response.status_code == 200 and response.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header[0] == "customer_id" and "email" in header
    assert sheet.max_row - 1 == sum(
        s["customers"] for s in api.get("analyst", "/api/v1/segments/pyramid").json()["segments"]
    )


def test_export_errors(api: Clients) -> None:
    assert api.get("analyst", "/api/v1/exports/campaign?method=rfm&segment=Champ").status_code == 404
    assert api.get("analyst", "/api/v1/exports/campaign?method=nope").status_code == 404
    assert api.get("analyst", "/api/v1/exports/campaign?method=rfm&format=pdf").status_code == 422
    assert api.get("analyst", "/api/v1/exports/campaign").status_code == 422


def test_formula_cells_are_neutralised() -> None:
    table = pa.table(
        {
            "text": ["=1+1", "+cmd", "-2", "@sum", "\tx", "\rx", "plain", None, "a=b"],
            "number": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        }
    )
    out = neutralise_formulas(table)
    assert out["text"].to_pylist() == ["'=1+1", "'+cmd", "'-2", "'@sum", "'\tx", "'\rx", "plain", None, "a=b"]
    assert out["number"].to_pylist() == table["number"].to_pylist()


def test_export_neutralises_a_hostile_segment_name(fresh: Clients) -> None:
    """A cell from the data (here a customer id) that looks like a formula arrives as text."""
    from custlens.analysis import analyze

    target = one_customer(fresh)
    with fresh.service.writer() as ws:
        for table in ("customers", "identity", "transactions"):
            ws.raw.execute(f"UPDATE {table} SET customer_id = '=HYPERLINK(1)' WHERE customer_id = ?", [target])
        analyze(ws)
    content = fresh.get("admin", "/api/v1/exports/campaign?method=state").content.decode("utf-8-sig")
    assert "=HYPERLINK" in content
    assert "\n=HYPERLINK" not in content and '"=HYPERLINK' not in content
