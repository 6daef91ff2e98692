"""A small demo workspace built once per test process, and clients for every role.

The workspace (about 600 customers: :func:`custlens.synth.write_company`, every table of
:data:`custlens.demo.IMPORT_ORDER` imported, :func:`custlens.analysis.analyze` stored) is
built once and copied for each app, so tests that write (imports, analysis runs, users)
never change what the read-only tests see. Test modules here are in the xdist group
``api``: one worker builds it once.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROLES = ("admin", "analyst", "marketing", "sales", "service")
PASSWORD = "a long enough password"


def _build(folder: Path) -> Path:
    from custlens.analysis import analyze
    from custlens.demo import IMPORT_ORDER
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company

    files = write_company(folder / "data", n_customers=600, seed=7)
    with init_workspace(folder / "workspace", key_file=folder / "workspace.key") as ws:
        for name in IMPORT_ORDER:
            import_file(ws, files[name], table=name)
        analyze(ws)
    return folder / "workspace"


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built demo workspace (closed); copy it before opening."""
    return _build(tmp_path_factory.mktemp("demo"))


def copy_workspace(template: Path, target: Path) -> Path:
    """A copy of the template workspace at ``target``."""
    shutil.copytree(template, target)
    return target


class Clients:
    """An app on a copy of the demo workspace, with one user and bearer token per role."""

    def __init__(self, workspace: Path, **options: Any) -> None:
        from fastapi.testclient import TestClient

        from custlens.api import create_app

        self.workspace = workspace
        self.app = create_app(workspace, extensions=(), **options)
        self.service = self.app.state.service
        self.tokens: dict[str, str] = {}
        for role in ROLES:
            self.service.access.add_user(role, PASSWORD, role)
            self.tokens[role] = self.service.access.issue_token(role, name="tests")
        self.client = TestClient(self.app)

    def headers(self, role: str) -> dict[str, str]:
        """``Authorization`` for ``role``."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, role: str, url: str, **kwargs: Any) -> Any:
        """GET as ``role``."""
        return self.client.get(url, headers=self.headers(role), **kwargs)

    def close(self) -> None:
        self.client.close()
        self.service.close()


@pytest.fixture(scope="session")
def api(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    """The read-only app: tests must not change its workspace."""
    clients = Clients(copy_workspace(demo_template, tmp_path_factory.mktemp("ro") / "workspace"))
    yield clients
    clients.close()


@pytest.fixture()
def fresh(demo_template: Path, tmp_path: Path) -> Iterator[Clients]:
    """An app on its own copy of the demo workspace, for tests that write."""
    clients = Clients(copy_workspace(demo_template, tmp_path / "workspace"))
    yield clients
    clients.close()


def one_customer(api: Clients) -> str:
    """A customer id of the stored analysis (the best-scored)."""
    return str(api.service.analysis().customers().order_by("score_rank").limit(1).to_pyarrow()["customer_id"][0])
