"""The data-protection routes (erase, access, correction, retention, look-up) and the audit log."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PASSWORD, Clients, one_customer

pytestmark = pytest.mark.xdist_group("api")


def _with_identity(clients: Clients, offset: int = 0) -> str:
    """A customer of the stored analysis that has an identity row."""
    a = clients.service.analysis().customers().select("customer_id")
    ids = clients.service.table("identity").select("customer_id").semi_join(a, "customer_id")
    return str(ids.order_by("customer_id").limit(1, offset=offset).to_pyarrow()["customer_id"][0])


def _audit(clients: Clients, **params: Any) -> list[dict[str, Any]]:
    response = clients.get("admin", "/api/v1/audit", params={"page_size": 500, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_erase_removes_the_person_everywhere_and_is_audited(fresh: Clients) -> None:
    cid = _with_identity(fresh)
    assert fresh.get("admin", f"/api/v1/customers/{cid}").status_code == 200
    response = fresh.client.post(
        f"/api/v1/privacy/customers/{cid}/erase", headers=fresh.headers("admin"), json={"purpose": "ticket 42"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["customer_id"] == cid and report["identity_rows"] == 1
    assert report["rows"] and all(n >= 0 for n in report["rows"].values())
    # the stored analysis no longer knows the id: the service's caches renewed
    assert fresh.get("admin", f"/api/v1/customers/{cid}").status_code == 404
    assert fresh.get("admin", f"/api/v1/privacy/customers/{cid}/export").status_code == 404
    [entry] = _audit(fresh, action="erase")
    assert entry["actor"] == "api:admin" and entry["purpose"] == "ticket 42"
    assert cid not in str(entry), "the audit log keeps a keyed reference, not the id"


def test_access_export_holds_identity_and_rows(api: Clients) -> None:
    cid = _with_identity(api, offset=3)
    body = api.get("admin", f"/api/v1/privacy/customers/{cid}/export", params={"purpose": "request"}).json()
    assert body["customer_id"] == cid
    assert body["identity"] and body["identity"]["name"]
    assert any(rows for rows in body["tables"].values())
    err = api.get("admin", "/api/v1/privacy/customers/C404/export")
    assert err.status_code == 404 and err.json()["error"]["code"] == "not_found"


def test_correction_changes_the_field_keeps_history_and_finds_by_index(fresh: Clients) -> None:
    cid = _with_identity(fresh, offset=1)
    url = f"/api/v1/privacy/customers/{cid}/identity"
    response = fresh.client.patch(
        url, headers=fresh.headers("admin"), json={"changes": {"phone": "13800138000"}, "reason": "moved"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"customer_id": cid, "changed": ["phone"]}
    assert fresh.get("admin", f"/api/v1/customers/{cid}").json()["identity"]["phone"] == "13800138000"
    found = fresh.get("service", "/api/v1/privacy/find", params={"phone": "13800138000"}).json()
    assert found == {"customer_ids": [cid]}
    history = fresh.get("admin", f"/api/v1/privacy/customers/{cid}/export").json()["identity_history"]
    assert [h["field"] for h in history] == ["phone"]
    bad = fresh.client.patch(url, headers=fresh.headers("admin"), json={"changes": {"salary": "1"}})
    assert bad.status_code == 422 and "salary" in bad.json()["error"]["message"]
    assert fresh.client.patch(url, headers=fresh.headers("sales"), json={"changes": {"phone": "1"}}).status_code == 403


def test_retention_counts_in_a_dry_run(fresh: Clients) -> None:
    response = fresh.client.post("/api/v1/privacy/retention", headers=fresh.headers("admin"), json={"dry_run": True})
    assert response.status_code == 200, response.text
    assert {"today", "dry_run"} <= set(response.json())
    assert response.json()["dry_run"] is True


def test_logins_and_identity_reads_reach_the_audit_log_and_it_verifies(fresh: Clients) -> None:
    ok = fresh.client.post("/api/v1/token", json={"username": "sales", "password": PASSWORD})
    assert ok.status_code == 200
    failed = fresh.client.post("/api/v1/token", json={"username": "sales", "password": "wrong password"})
    assert failed.status_code == 401
    fresh.get("sales", f"/api/v1/customers/{one_customer(fresh)}")
    logins = _audit(fresh, action="login")  # the group: login and login.failed
    assert sorted(e["action"] for e in logins) == ["login", "login.failed"]
    assert {e["actor"] for e in logins} == {"api:sales"}
    assert any(e["actor"] == "api:sales" for e in _audit(fresh, action="identity.read"))
    page = fresh.get("admin", "/api/v1/audit", params={"page_size": 2}).json()
    assert len(page["items"]) == 2 and page["total"] >= 3
    verified = fresh.get("admin", "/api/v1/audit/verify").json()
    assert verified["ok"] is True and verified["entries"] >= 3
    assert fresh.get("analyst", "/api/v1/audit").status_code == 403
    bad = fresh.get("admin", "/api/v1/audit", params={"since": "yesterday"})
    assert bad.status_code in (400, 422) and bad.json()["error"]["code"]
