"""Sign-in, sessions and CSRF, login limits, tokens, users, and the headers on every response."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custlens.access import LoginPolicy
from custlens.api import CSRF_HEADER, SECURITY_HEADERS, SESSION_COOKIE

from .conftest import PASSWORD, Clients, copy_workspace, one_customer

pytestmark = pytest.mark.xdist_group("api")


def _login(client: TestClient, username: str = "analyst", password: str = PASSWORD) -> Any:
    return client.post("/api/v1/session", json={"username": username, "password": password})


def test_session_cookie_flags(fresh: Clients) -> None:
    response = _login(fresh.client)
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "analyst" and body["csrf_token"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http here
    assert body["csrf_token"] not in cookie
    tls = TestClient(fresh.app, base_url="https://testserver")
    assert "secure" in _login(tls).headers["set-cookie"].lower()
    assert tls.get("/api/v1/me").status_code == 200  # the cookie comes back over TLS


def test_cookie_reads_need_no_csrf_but_changes_do(fresh: Clients) -> None:
    client = fresh.client
    csrf = _login(client, "admin").json()["csrf_token"]
    assert client.get("/api/v1/me").json()["csrf_token"] == csrf
    assert client.get(f"/api/v1/customers/{one_customer(fresh)}").status_code == 200
    body = {"username": "newbie", "password": "another long password", "role": "analyst"}
    refused = client.post("/api/v1/users", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    wrong = client.post("/api/v1/users", json=body, headers={CSRF_HEADER: "x" * 43})
    assert wrong.status_code == 403
    made = client.post("/api/v1/users", json=body, headers={CSRF_HEADER: csrf})
    assert made.status_code == 201, made.text
    form = client.post("/api/v1/analyses", data={"csrf_token": "wrong"})
    assert form.status_code == 403
    signed_out = client.delete("/api/v1/session")
    assert signed_out.status_code == 403  # signing out is a change too
    assert client.delete("/api/v1/session", headers={CSRF_HEADER: csrf}).json()["signed_out"] is True
    assert client.get("/api/v1/me").status_code == 401


def test_form_sign_in_redirects_and_form_csrf_field_is_read(fresh: Clients) -> None:
    client = fresh.client
    response = client.post(
        "/api/v1/session",
        data={"username": "analyst", "password": PASSWORD, "next": "/segments"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/segments"
    outside = client.post(
        "/api/v1/session",
        data={"username": "analyst", "password": PASSWORD, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert outside.status_code == 200  # never redirected off the site
    csrf = outside.json()["csrf_token"]
    upload = client.post(
        "/api/v1/imports",
        data={"table": "customers", "csrf_token": csrf},
        files={"file": ("c.csv", b"customer_id,customer_type\nZ1,personal\n", "text/csv")},
    )
    assert upload.status_code == 202, upload.text
    assert fresh.service.jobs.wait(upload.json()["job_id"], timeout=120).status == "done"


def test_sign_in_errors(fresh: Clients) -> None:
    assert _login(fresh.client, password="wrong password!").status_code == 401
    assert fresh.client.post("/api/v1/session", content=b"not json").status_code == 422
    assert fresh.client.post("/api/v1/token", json={"username": "analyst"}).status_code == 422


@pytest.fixture()
def strict(demo_template: Path, tmp_path: Path) -> Iterator[Clients]:
    policy = LoginPolicy(max_failures_per_user=3, max_failures_per_client=50, lockout_after=4, window_seconds=60)
    clients = Clients(copy_workspace(demo_template, tmp_path / "workspace"), policy=policy)
    yield clients
    clients.close()


def test_login_rate_limit_and_lock_out(strict: Clients) -> None:
    client = strict.client
    for _ in range(3):
        assert client.post("/api/v1/token", json={"username": "sales", "password": "wrong!"}).status_code == 401
    limited = client.post("/api/v1/token", json={"username": "sales", "password": PASSWORD})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.json()["error"]["code"] == "rate_limited"
    assert _login(client, "sales").status_code == 429  # the session sign-in shares the limits
    # the lock-out: consecutive failures lock the account, even for the right password
    strict.service.access.policy = LoginPolicy(max_failures_per_user=100, lockout_after=4, lockout_seconds=600)
    for _ in range(4):
        client.post("/api/v1/token", json={"username": "service", "password": "wrong!"})
    locked = client.post("/api/v1/token", json={"username": "service", "password": PASSWORD})
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 601
    assert "locked" in locked.json()["error"]["message"]
    admin = strict.headers("admin")
    client.put("/api/v1/users/service/password", json={"password": "a brand new password"}, headers=admin)
    again = client.post("/api/v1/token", json={"username": "service", "password": "a brand new password"})
    assert again.status_code == 200


def test_tokens_own_and_all(fresh: Clients) -> None:
    client = fresh.client
    token = client.post("/api/v1/token", json={"username": "analyst", "password": PASSWORD}).json()["access_token"]
    mine = {"Authorization": f"Bearer {token}"}
    own = client.get("/api/v1/tokens", headers=mine).json()["items"]
    assert {t["username"] for t in own} == {"analyst"} and len(own) == 2
    assert not any("hash" in k or "access_token" in k for t in own for k in t)
    everyone = client.get("/api/v1/tokens", headers=fresh.headers("admin")).json()["items"]
    assert {t["username"] for t in everyone} == {"admin", "analyst", "marketing", "sales", "service"}
    sales_token = next(t["token_id"] for t in everyone if t["username"] == "sales")
    assert client.delete(f"/api/v1/tokens/{sales_token}", headers=mine).status_code == 404
    login_token = next(t["token_id"] for t in own if t["name"] == "api login")
    assert client.delete(f"/api/v1/tokens/{login_token}", headers=mine).status_code == 200
    assert client.get("/api/v1/me", headers=mine).status_code == 401  # revoked at once
    assert client.delete(f"/api/v1/tokens/{sales_token}", headers=fresh.headers("admin")).status_code == 200
    assert fresh.get("sales", "/api/v1/me").status_code == 401


def test_user_admin(fresh: Clients) -> None:
    client, admin = fresh.client, fresh.headers("admin")
    made = client.post(
        "/api/v1/users", json={"username": "ann", "password": "ann's long password", "role": "marketing"}, headers=admin
    )
    assert made.status_code == 201 and made.json() == {"username": "ann", "role": "marketing"}
    taken = client.post(
        "/api/v1/users", json={"username": "ann", "password": "ann's long password", "role": "sales"}, headers=admin
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "conflict"
    short = client.post("/api/v1/users", json={"username": "bob", "password": "short", "role": "sales"}, headers=admin)
    assert short.status_code == 422 and "10 characters" in short.json()["error"]["message"]
    assert (
        client.post(
            "/api/v1/users", json={"username": "bob", "password": "x" * 12, "role": "boss"}, headers=admin
        ).status_code
        == 422
    )
    users = client.get("/api/v1/users", headers=admin).json()
    assert "ann" in {u["username"] for u in users["items"]} and not any(
        "password" in k for u in users["items"] for k in u
    )
    assert client.patch("/api/v1/users/ann", json={"role": "sales"}, headers=admin).json()["role"] == "sales"
    token = client.post("/api/v1/token", json={"username": "ann", "password": "ann's long password"}).json()[
        "access_token"
    ]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["role"] == "sales"
    assert client.patch("/api/v1/users/ann", json={"disabled": True}, headers=admin).json()["disabled"] is True
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.patch("/api/v1/users/nobody", json={"disabled": True}, headers=admin).status_code == 404
    last = client.patch("/api/v1/users/admin", json={"role": "analyst"}, headers=admin)
    assert last.status_code == 409 and "last enabled admin" in last.json()["error"]["message"]
    assert client.patch("/api/v1/users/admin", json={"disabled": True}, headers=admin).status_code == 409


def test_security_headers_on_every_response(api: Clients) -> None:
    responses = [
        api.client.get("/healthz"),
        api.client.get("/api/v1/me"),  # 401
        api.get("analyst", "/api/v1/users"),  # 403
        api.get("analyst", "/api/v1/customers/none"),  # 404
        api.get("analyst", "/api/v1/customers?page=0"),  # 422
        api.get("analyst", "/api/v1/overview"),
        api.get("admin", "/api/v1/exports/campaign?method=rfm&segment=Champions"),
        api.client.get("/openapi.json"),
        api.client.get("/docs"),
    ]
    for response in responses:
        for name in SECURITY_HEADERS:
            assert name in response.headers, (response.url, name)
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    strict_csp = responses[5].headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in strict_csp and "unsafe-inline" not in strict_csp.split("style-src")[0]
    assert responses[5].headers["Cache-Control"] == "no-store"
    assert "cdn.jsdelivr.net" in responses[-1].headers["Content-Security-Policy"]
    assert "cdn.jsdelivr.net" not in strict_csp
