"""Fixtures of the import tests: a fresh workspace and a helper that writes files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from custlens.warehouse import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh workspace in a temporary folder."""
    with Workspace.init(tmp_path / "ws") as workspace:
        yield workspace


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` in ``encoding`` and return the path."""
    path.write_bytes(text.encode(encoding))
    return path


def rows(ws: Workspace, table: str, order: str | None = None) -> list[dict]:
    """All rows of a canonical table as dicts (ordered by ``order`` when given)."""
    sql = f'SELECT * FROM "{table}"' + (f" ORDER BY {order}" if order else "")
    return ws.raw.sql(sql).to_arrow_table().to_pylist()


def quarantine(path: str | None) -> list[dict]:
    """Records of a quarantine file."""
    import pyarrow.csv as pacsv

    assert path is not None, "expected a quarantine file"
    return pacsv.read_csv(path).to_pylist()
