"""The role x route matrix, generated from the app's route table, and the documents that show it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from custlens.access import PERMISSIONS, ROLE_PERMISSIONS, ROLES
from custlens.api import AUTHENTICATED, PERMISSION_KEY, PUBLIC

from .conftest import Clients, copy_workspace

pytestmark = pytest.mark.xdist_group("api")

DOCS = Path(__file__).parents[2] / "docs"


def _app_routes() -> list[APIRoute]:
    """The API's route table: every route of every router the app includes."""
    from custlens.api._routes import routers

    return [r for router in routers() for r in router.routes if isinstance(r, APIRoute)]


ROUTES = [(next(iter(r.methods)), r.path, (r.openapi_extra or {}).get(PERMISSION_KEY)) for r in _app_routes()]
API_ROUTES = [r for r in ROUTES if r[1].startswith("/api/v1/") and r[2] != PUBLIC]


def test_every_route_declares_a_known_permission() -> None:
    assert len(ROUTES) >= 30
    for method, path, permission in ROUTES:
        assert permission is not None, f"{method} {path} declares no permission (use custlens.api.secured)"
        assert permission in (*PERMISSIONS, PUBLIC, AUTHENTICATED), f"{method} {path}: {permission!r}"
    public = {(m, p) for m, p, perm in ROUTES if perm == PUBLIC}
    assert public == {("GET", "/healthz"), ("POST", "/api/v1/token"), ("POST", "/api/v1/session")}


def test_the_route_table_is_the_app_s(api: Clients) -> None:
    spec = api.client.get("/openapi.json").json()["paths"]
    published = {(m.upper(), p) for p, ops in spec.items() for m in ops}
    assert published == {(m, p) for m, p, _ in ROUTES}
    for method, path, permission in ROUTES:
        assert spec[path][method.lower()][PERMISSION_KEY] == permission


def test_a_route_without_permission_is_found() -> None:
    """The check above fails for a route added without ``secured``."""
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/api/v1/bare")
    def bare() -> dict[str, str]:
        return {}

    route = next(r for r in router.routes if isinstance(r, APIRoute))
    assert (route.openapi_extra or {}).get(PERMISSION_KEY) is None


@pytest.fixture(scope="module")
def matrix(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    clients = Clients(copy_workspace(demo_template, tmp_path_factory.mktemp("matrix") / "workspace"))
    yield clients
    clients.close()


def _url(path: str, customer_id: str) -> str:
    values = {
        "customer_id": customer_id,
        "method": "rfm",
        "segment": "Champions",
        "analysis_id": "latest",
        "job_id": "import-999",
        "token_id": "000000000000",
        "username": "nobody",
        "part": "index",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _call(clients: Clients, method: str, url: str, headers: dict[str, str]) -> Any:
    params = {"method": "rfm"} if url.endswith("/exports/campaign") else None
    body: Any = None if method in ("GET", "DELETE") else {}
    if url.endswith("/analyses") and method == "POST":
        body = {"as_of": "not a date"}  # refused before a job is queued
    return clients.client.request(method, url, headers=headers, params=params, json=body)


@pytest.mark.parametrize(("method", "path", "permission"), API_ROUTES, ids=[f"{m} {p}" for m, p, _ in API_ROUTES])
def test_role_route_matrix(matrix: Clients, method: str, path: str, permission: str) -> None:
    from .conftest import one_customer

    url = _url(path, one_customer(matrix))
    anonymous = _call(matrix, method, url, {})
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"]["code"] == "authentication"
    bad = _call(matrix, method, url, {"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    for role in ROLES:
        response = _call(matrix, method, url, matrix.headers(role))
        allowed = permission == AUTHENTICATED or permission in ROLE_PERMISSIONS[role]
        if allowed:
            assert response.status_code not in (401, 403), (role, response.text)
            assert response.status_code < 500, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert permission in response.json()["error"]["message"]


def _doc_matrix() -> dict[str, set[str]]:
    """Permission -> roles, from the table under '## Roles and permissions' in docs/security.md."""
    text = (DOCS / "security.md").read_text(encoding="utf-8")
    section = text.split("## Roles and permissions", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header[0] == "permission" and header[1:6] == list(ROLES), header
    out: dict[str, set[str]] = {}
    for line in rows[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        name = cells[0].strip("`")
        out[name] = {role for role, cell in zip(ROLES, cells[1:6]) if cell == "yes"}
        assert all(cell in ("yes", "") for cell in cells[1:6]), line
    return out


def test_security_doc_shows_the_permission_matrix() -> None:
    documented = _doc_matrix()
    actual = {p: {r for r in ROLES if p in ROLE_PERMISSIONS[r]} for p in PERMISSIONS}
    assert documented == actual


def test_api_doc_lists_every_route_with_its_permission() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = {
        (m, p): perm
        for m, p, perm in re.findall(
            r"^\|\s*`(GET|POST|PUT|PATCH|DELETE)`\s*\|\s*`([^`]+)`\s*\|\s*`([^`]+)`", text, re.M
        )
    }
    missing = [f"{m} {p}" for m, p, _ in ROUTES if (m, p) not in documented]
    assert not missing, f"routes missing from docs/api.md: {missing}"
    wrong = [f"{m} {p}" for m, p, perm in ROUTES if documented[(m, p)] != perm]
    assert not wrong, f"routes documented with another permission: {wrong}"
    stale = [f"{m} {p}" for (m, p) in documented if (m, p, documented[(m, p)]) not in ROUTES]
    assert not stale, f"docs/api.md lists routes the app does not have: {stale}"
