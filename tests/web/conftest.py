"""A small demo workspace built once, the dashboard on it, and signed-in clients per role.

The workspace (600 customers from :func:`custlens.synth.write_company`, every table of
:data:`custlens.demo.IMPORT_ORDER` imported, two analyses stored so that migration has two
dates; currency CNY) is built once per test process and copied for each app, so tests that
write (users, imports) never change what the read-only tests see. Every module here is in
the xdist group ``web``: one worker builds the workspace once.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROLES = ("admin", "analyst", "marketing", "sales", "service")
PASSWORD = "a long enough password"
EARLIER_AS_OF = "2025-06-30"


def _build(folder: Path) -> Path:
    from custlens.analysis import analyze
    from custlens.demo import IMPORT_ORDER
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company
    from custlens.warehouse import WorkspaceSettings

    files = write_company(folder / "data", n_customers=600, seed=7)
    settings = WorkspaceSettings(currency="CNY")
    with init_workspace(folder / "workspace", settings=settings, key_file=folder / "workspace.key") as ws:
        for name in IMPORT_ORDER:
            import_file(ws, files[name], table=name)
        analyze(ws, as_of=EARLIER_AS_OF)
        analyze(ws)
    return folder / "workspace"


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built demo workspace (closed); copy it before opening."""
    return _build(tmp_path_factory.mktemp("web-demo"))


def csrf_of(html: str) -> str:
    """The ``csrf_token`` of the first form of a page."""
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Site:
    """The API with the pages installed on a workspace, one user per role (named after it)."""

    def __init__(self, workspace: Path, **options: Any) -> None:
        from custlens.api import create_app
        from custlens.web import install

        self.workspace = workspace
        self.app = install(create_app(workspace, **options))
        self.service = self.app.state.service
        for role in ROLES:
            self.service.access.add_user(role, PASSWORD, role)
        self._clients: list[Any] = []

    def anonymous(self, **kwargs: Any) -> Any:
        """A browser-like client without a session (redirects are not followed)."""
        from fastapi.testclient import TestClient

        client = TestClient(self.app, follow_redirects=False, **kwargs)
        self._clients.append(client)
        return client

    def signed_in(self, role: str, lang: str = "zh", **kwargs: Any) -> Any:
        """A client signed in through the sign-in form as the user of ``role``, pages in ``lang``."""
        client = self.anonymous(**kwargs)
        form = client.get("/login", params={"lang": lang})
        answer = client.post(
            "/login",
            data={"username": role, "password": PASSWORD, "csrf_token": csrf_of(form.text), "next": "/"},
        )
        assert answer.status_code == 303, answer.text
        return client

    def one_customer(self) -> str:
        """The customer of the best importance rank in the latest analysis."""
        c = self.service.analysis().customers()
        return str(c.order_by("score_rank").limit(1).to_pyarrow()["customer_id"][0])

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self.service.close()


@pytest.fixture(scope="session")
def site(web_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The read-only site: tests must not change its workspace."""
    target = tmp_path_factory.mktemp("web-ro") / "workspace"
    shutil.copytree(web_template, target)
    built = Site(target)
    yield built
    built.close()


@pytest.fixture(scope="session")
def clients(site: Site) -> dict[tuple[str, str], Any]:
    """A signed-in client per role and language, shared by the read-only tests."""
    return {(role, lang): site.signed_in(role, lang) for role in ROLES for lang in ("zh", "en")}


@pytest.fixture()
def fresh(web_template: Path, tmp_path: Path) -> Iterator[Site]:
    """A site on its own copy of the demo workspace, for tests that write."""
    shutil.copytree(web_template, tmp_path / "workspace")
    built = Site(tmp_path / "workspace")
    yield built
    built.close()


def page_urls(site: Site) -> list[str]:
    """One URL of every page a GET opens (path parameters filled from the stored analysis)."""
    from custlens.web import PAGES

    customer = site.one_customer()
    fills = {
        "/customers/{customer_id}": f"/customers/{customer}",
        "/segments/members": "/segments/members?method=rfm&segment=Champions",
    }
    urls = []
    for (method, path), permission in sorted(PAGES.items()):
        if method != "GET" or permission == "public" or path.startswith("/imports/jobs/"):
            continue
        urls.append(fills.get(path, path))
    return urls
