"""A small demo company imported into a workspace, analysed once for the whole folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from custlens.demo import IMPORT_ORDER


@pytest.fixture(scope="package")
def company(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo company's files (800 customers, fixed seed)."""
    from custlens.synth import write_company

    return write_company(tmp_path_factory.mktemp("company"), n_customers=800, seed=11)


@pytest.fixture(scope="package")
def workspace_path(company: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding every table of the company and one stored analysis."""
    from custlens.analysis import analyze
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace

    path = tmp_path_factory.mktemp("ws") / "ws"
    with init_workspace(path) as ws:  # with its key (beside it): the identity table is encrypted
        for name in IMPORT_ORDER:
            import_file(ws, company[name], table=name)
        analyze(ws)
    return path


@pytest.fixture()
def workspace(workspace_path: Path) -> Iterator[object]:
    """The workspace opened read-only (tests that write open their own copy)."""
    from custlens.warehouse import Workspace

    with Workspace.open(workspace_path, read_only=True) as ws:
        yield ws
