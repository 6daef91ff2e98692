"""Every read route through the TestClient: the happy path, and its errors in the one shape."""

from __future__ import annotations

from typing import Any

import pytest

from custlens.service import plain

from .conftest import Clients, one_customer

pytestmark = pytest.mark.xdist_group("api")


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert "Traceback" not in response.text
    return str(body["error"]["message"])


def _page(body: dict[str, Any], *, page: int = 1, page_size: int = 50) -> list[dict[str, Any]]:
    assert set(body) == {"items", "page", "page_size", "total"}
    assert body["page"] == page and body["page_size"] == page_size
    assert len(body["items"]) <= page_size and body["total"] >= len(body["items"])
    return list(body["items"])


def test_health_and_openapi(api: Clients) -> None:
    assert api.client.get("/healthz").json()["status"] == "ok"
    spec = api.client.get("/openapi.json").json()
    assert "/api/v1/customers/{customer_id}" in spec["paths"]
    docs = api.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_overview_and_analyses(api: Clients) -> None:
    latest = api.service.latest_analysis_id()
    overview = api.get("analyst", "/api/v1/overview").json()
    assert overview["analysis_id"] == latest and overview["customers"] == 600
    stored = api.service.analysis().details["overview"]
    assert overview["overview"] == pytest.approx(stored)
    items = _page(api.get("analyst", "/api/v1/analyses").json())
    assert [i["analysis_id"] for i in items] == [latest]
    meta = api.get("analyst", f"/api/v1/analyses/{latest}").json()
    assert meta["analysis_id"] == latest and meta["config_hash"] and "clv_histogram" in meta["results"]
    assert api.get("analyst", "/api/v1/analyses/latest").json()["analysis_id"] == latest
    message = _error(api.get("analyst", "/api/v1/analyses/1999-01-01.1"), 404, "not_found")
    assert "1999-01-01.1" in message
    _error(api.get("analyst", "/api/v1/overview?analysis_id=nope"), 404, "not_found")


def test_customer_profile(api: Clients) -> None:
    cid = one_customer(api)
    body = api.get("admin", f"/api/v1/customers/{cid}").json()
    for key in ("customer_id", "attributes", "indicators", "segments", "clv", "p_alive", "identity"):
        assert key in body, key
    stored = api.service.analysis().customer(cid)
    assert body["clv"] == pytest.approx(stored["customer"]["clv"])
    assert body["p_alive"] == pytest.approx(stored["customer"]["p_alive"])
    assert {m: (s or {}).get("segment") for m, s in body["segments"].items()} == {
        m: (s or {}).get("segment") for m, s in stored["segments"].items()
    }
    assert body["timeline"] and {"kind", "at", "reference", "detail", "amount"} <= set(body["timeline"][0])
    assert body["timeline"] == sorted(body["timeline"], key=lambda e: e["at"], reverse=True)
    assert len(api.get("admin", f"/api/v1/customers/{cid}?timeline=2").json()["timeline"]) == 2
    assert "identity" not in api.get("analyst", f"/api/v1/customers/{cid}").json()
    assert "C404" in _error(api.get("admin", "/api/v1/customers/C404"), 404, "not_found")
    _error(api.get("admin", f"/api/v1/customers/{cid}?timeline=-1"), 422, "invalid_request")


def _consent(api: Clients, consent: bool) -> str:
    t = api.service.table("customers")
    a = api.service.analysis().customers().select("customer_id")
    ids = t.filter(t.consent_marketing == consent).select("customer_id").semi_join(a, "customer_id")
    return str(ids.order_by("customer_id").limit(1).to_pyarrow()["customer_id"][0])


def test_marketing_sees_contacts_of_consenting_customers_only(api: Clients) -> None:
    from custlens.access import CONTACT_FIELDS, IDENTITY_FIELDS

    yes, no = _consent(api, True), _consent(api, False)
    consenting = api.get("marketing", f"/api/v1/customers/{yes}").json()
    assert set(consenting["identity"]) == set(CONTACT_FIELDS)
    assert consenting["identity"]["email"]
    assert "identity" not in api.get("marketing", f"/api/v1/customers/{no}").json()
    for role in ("sales", "service", "admin"):
        assert set(api.get(role, f"/api/v1/customers/{no}").json()["identity"]) == set(IDENTITY_FIELDS)
    assert "identity" not in api.get("analyst", f"/api/v1/customers/{yes}").json()


def test_customer_search_filters_rule_and_count(api: Clients) -> None:
    items = _page(api.get("analyst", "/api/v1/customers?page_size=10").json(), page_size=10)
    ranks = [i["score_rank"] for i in items]
    assert ranks == sorted(ranks)
    assert not any(k in items[0] for k in ("name", "email", "phone", "address"))
    rule = "revenue > 1000 and region = 'east_china'"
    found = api.get("analyst", "/api/v1/customers", params={"rule": rule, "page_size": 500}).json()
    assert found["total"] > 0 and all(i["revenue"] > 1000 and i["region"] == "east_china" for i in found["items"])
    count = api.get("analyst", "/api/v1/customers/count", params={"rule": rule}).json()
    assert count["customers"] == found["total"] and count["of"] == 600
    high = api.get("analyst", "/api/v1/customers", params={"risk_band": "high", "page_size": 500}).json()
    assert high["total"] > 0 and {i["risk_band"] for i in high["items"]} == {"high"}
    region = api.get("analyst", "/api/v1/customers", params={"filter": "region:east_china", "page_size": 500}).json()
    assert region["total"] >= found["total"] and {i["region"] for i in region["items"]} == {"east_china"}
    prefix = api.get("analyst", "/api/v1/customers", params={"q": "C000001", "page_size": 500}).json()
    assert prefix["total"] > 0 and all(i["customer_id"].startswith("C000001") for i in prefix["items"])
    by_clv = _page(api.get("analyst", "/api/v1/customers?order_by=clv&descending=true").json())
    clvs = [i["clv"] for i in by_clv if i["clv"] is not None]
    assert clvs == sorted(clvs, reverse=True)
    seg = api.get("analyst", "/api/v1/customers", params={"method": "rfm", "segment": "Champions"}).json()
    assert seg["total"] == api.get("analyst", "/api/v1/segments/rfm/Champions/members").json()["total"]
    fields = {f["name"] for f in api.get("analyst", "/api/v1/customers/fields").json()["fields"]}
    assert {"revenue", "region", "clv", "risk_band", "consent_marketing"} <= fields
    assert not fields & {"name", "email", "phone", "address"}


@pytest.mark.parametrize(
    ("params", "status", "code", "words"),
    [
        ({"rule": "revenu > 1000"}, 422, "rule", "revenue"),
        ({"rule": "revenue >"}, 422, "rule", "position"),
        ({"filter": "nope:1"}, 422, "input", "nope"),
        ({"filter": "region"}, 422, "input", "column:value"),
        ({"method": "rfm"}, 422, "input", "together"),
        ({"order_by": "name"}, 422, "invalid_request", "order_by"),
        ({"page": 0}, 422, "invalid_request", "page"),
        ({"page_size": 501}, 422, "invalid_request", "page_size"),
    ],
)
def test_customer_search_errors(api: Clients, params: dict[str, Any], status: int, code: str, words: str) -> None:
    message = _error(api.get("analyst", "/api/v1/customers", params=params), status, code)
    assert words in message


def test_segments(api: Clients) -> None:
    analysis = api.service.analysis()
    methods = _page(api.get("analyst", "/api/v1/segments").json())
    assert [m["method"] for m in methods] == list(analysis.methods)
    rfm = api.get("analyst", "/api/v1/segments/rfm").json()
    assert rfm["segments"] == analysis.segment_summary("rfm").to_pylist()
    assert rfm["results"]["rfm_heatmap"] and rfm["actions"]
    assert "state_flow" in api.get("analyst", "/api/v1/segments/state").json()["results"]
    message = _error(api.get("analyst", "/api/v1/segments/rfn"), 404, "not_found")
    assert "rfm" in message


def test_segment_members_pages(api: Clients) -> None:
    summary = api.get("analyst", "/api/v1/segments/rfm").json()["segments"]
    segment = max(summary, key=lambda s: s["customers"])
    url = f"/api/v1/segments/rfm/{segment['segment']}/members"
    first = api.get("analyst", url, params={"page_size": 5}).json()
    second = api.get("analyst", url, params={"page_size": 5, "page": 2}).json()
    assert first["total"] == segment["customers"]
    ids = [i["customer_id"] for i in first["items"] + second["items"]]
    assert len(set(ids)) == 10
    members = api.service.analysis().segments("rfm")
    expected = set(members.filter(members.segment == segment["segment"]).to_pyarrow()["customer_id"].to_pylist())
    assert set(ids) <= expected
    everyone = api.get("analyst", url, params={"page_size": 500}).json()["items"]
    assert {i["customer_id"] for i in everyone} == expected
    ranks = [i["score_rank"] for i in everyone]
    assert ranks == sorted(ranks)
    beyond = api.get("analyst", url, params={"page_size": 500, "page": 99}).json()
    assert beyond["items"] == [] and beyond["total"] == segment["customers"]
    assert "Champions" in _error(api.get("analyst", "/api/v1/segments/rfm/Champion/members"), 404, "not_found")
    _error(api.get("analyst", "/api/v1/segments/nope/x/members"), 404, "not_found")


def test_migration_between_two_analyses(fresh: Clients) -> None:
    assert "before" in _error(fresh.get("analyst", "/api/v1/segments/rfm/migration"), 404, "not_found")
    job = fresh.client.post("/api/v1/analyses", json={"as_of": "2025-09-30"}, headers=fresh.headers("analyst"))
    assert job.status_code == 202
    done = fresh.service.jobs.wait(job.json()["job_id"], timeout=300)
    assert done.status == "done", done.error
    ids = [a["analysis_id"] for a in fresh.get("analyst", "/api/v1/analyses").json()["items"]]
    assert ids == ["2025-12-31.1", "2025-09-30.1"]
    body = fresh.get("analyst", "/api/v1/segments/rfm/migration").json()
    assert (body["earlier"], body["later"]) == ("2025-09-30.1", "2025-12-31.1")
    expected = fresh.service.analysis().migration("2025-09-30.1", "rfm").matrix.to_pyarrow().to_pylist()
    assert body["matrix"] == expected
    reverse = fresh.get(
        "analyst", "/api/v1/segments/rfm/migration", params={"earlier": "2025-12-31.1", "later": "2025-09-30.1"}
    ).json()
    assert sum(r["customers"] for r in reverse["matrix"]) == sum(r["customers"] for r in body["matrix"])


def test_value_routes(api: Clients) -> None:
    analysis = api.service.analysis()
    dist = api.get("sales", "/api/v1/value/distribution").json()
    assert dist["histogram"] == analysis.result("clv_histogram").to_pylist()
    assert dist["pareto"] and dist["settings"]
    top = _page(api.get("sales", "/api/v1/value/top?page_size=10").json(), page_size=10)
    best = analysis.customers().order_by([analysis.customers().clv.desc()]).limit(10).to_pyarrow()
    assert [i["clv"] for i in top] == pytest.approx(best["clv"].to_pylist())
    matrix = api.get("sales", "/api/v1/value/matrix").json()
    assert matrix["segments"] and matrix["points"] and len(matrix["points"]) <= 5000


def test_churn_routes(api: Clients) -> None:
    analysis = api.service.analysis()
    first = _page(api.get("service", "/api/v1/churn/at-risk?page_size=20").json(), page_size=20)
    assert [i["rank"] for i in first] == list(range(1, len(first) + 1))
    stakes = [i["value_at_stake"] for i in first]
    assert stakes == sorted(stakes, reverse=True)
    assert {i["risk_band"] for i in first} <= {"medium", "high", "lost"}
    expected = analysis.at_risk().count().to_pyarrow().as_py()
    assert api.get("service", "/api/v1/churn/at-risk").json()["total"] == expected
    lost = api.get("service", "/api/v1/churn/at-risk?band=lost&page_size=500").json()["items"]
    assert lost and {i["risk_band"] for i in lost} == {"lost"}
    _error(api.get("service", "/api/v1/churn/at-risk?band=doomed"), 422, "invalid_request")
    bands = api.get("service", "/api/v1/churn/risk-bands").json()
    assert bands["bands"] == analysis.result("risk_bands").to_pylist()
    assert bands["churn_rates"]


@pytest.mark.parametrize(
    ("part", "table"),
    [("index", "satisfaction_index"), ("segments", "satisfaction_by_segment"), ("ipma", "ipma"), ("kano", "kano")],
)
def test_satisfaction(api: Clients, part: str, table: str) -> None:
    body = api.get("service", f"/api/v1/satisfaction/{part}").json()
    assert body["rows"] == plain(api.service.analysis().result(table).to_pylist())


def test_satisfaction_left_out_says_why(demo_template: Any, tmp_path: Any) -> None:
    """An analysis without survey answers answers 404 with the reason it stored."""
    from custlens.analysis import analyze
    from custlens.warehouse import Workspace

    from .conftest import copy_workspace

    path = copy_workspace(demo_template, tmp_path / "ws")
    with Workspace.open(path) as ws:
        ws.raw.execute("DELETE FROM survey_answers")
        analyze(ws)
    clients = Clients(path)
    try:
        message = _error(clients.get("service", "/api/v1/satisfaction/kano"), 404, "not_found")
        assert "no survey answers" in message
        _error(clients.get("service", "/api/v1/satisfaction/nps"), 422, "invalid_request")
    finally:
        clients.close()


def test_unknown_route_and_method_keep_the_shape(api: Clients) -> None:
    _error(api.get("admin", "/api/v1/nothing"), 404, "not_found")
    _error(api.client.put("/healthz"), 405, "method_not_allowed")


def test_no_analysis_yet(tmp_path: Any) -> None:
    from custlens.warehouse import Workspace

    Workspace.init(tmp_path / "empty").close()
    clients = Clients(tmp_path / "empty")
    try:
        message = _error(clients.get("analyst", "/api/v1/overview"), 404, "not_found")
        assert "POST /api/v1/analyses" in message
        assert clients.get("analyst", "/api/v1/analyses").json()["total"] == 0
    finally:
        clients.close()


def test_reads_from_memory_and_from_a_worker_thread_agree(fresh: Clients) -> None:
    """A profile, a member page and the overview answer the same whether the service's
    in-memory indexes are current (read on the event loop) or not (read on a worker
    thread, which rebuilds them)."""
    cid = one_customer(fresh)
    summary = fresh.get("admin", "/api/v1/segments/rfm").json()["segments"]
    members = f"/api/v1/segments/rfm/{summary[0]['segment']}/members?page_size=7"
    urls = (f"/api/v1/customers/{cid}", members, "/api/v1/overview")
    warm = [fresh.get("admin", url).json() for url in urls]
    assert fresh.service.warmed()
    fresh.service.changed(analyses=True)  # as after a write: the indexes are stale
    assert not fresh.service.warmed()
    cold = fresh.get("admin", urls[0]).json()
    assert fresh.service.warmed()  # the read on the worker thread rebuilt them
    assert cold == warm[0] and "identity" in cold
    fresh.service.changed(analyses=True)
    assert [fresh.get("admin", url).json() for url in urls] == warm
    fresh.service.changed()
    assert not fresh.service.warmed("no-such-analysis")


def test_json_responses_are_compact_utf8_without_nan() -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    import numpy as np

    from custlens.api._app import JSON

    body = JSON(
        {
            "zh": "忠诚客户",
            "nan": float("nan"),
            "at": datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
            "day": date(2025, 1, 2),
            "raw": b"\x01\xff",
            "amount": Decimal("1.20"),
            "n": np.int64(3),
            "x": np.float64(0.5),
            1: "key",
        }
    ).body
    assert (
        body
        == (
            '{"zh":"忠诚客户","nan":null,"at":"2025-01-02T03:04:05.000006+00:00","day":"2025-01-02",'
            '"raw":"01ff","amount":"1.20","n":3,"x":0.5,"1":"key"}'
        ).encode()
    )
