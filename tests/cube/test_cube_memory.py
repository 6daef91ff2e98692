"""``custlens cube`` works within the one-shot memory bound (600 MB, a quarter of the machine, the
workspace's limit if lower, or --memory-limit), and its sizes are read as DuckDB reads them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

import custlens.cli._memory as memory
from custlens.cli import app
from custlens.cli.cube import _bounded
from custlens.errors import InputError
from custlens.warehouse import Workspace, WorkspaceSettings

pytestmark = pytest.mark.xdist_group("cube")


def _engine_limit(ws: Workspace) -> str:
    return str(ws.raw.execute("SELECT current_setting('memory_limit')").fetchone()[0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("600MB", 600 * 1000**2), ("2GB", 2 * 1000**3), ("1.5GiB", int(1.5 * 1024**3)), (" 512 kib ", 512 * 1024)],
)
def test_sizes_as_duckdb_reads_them(text: str, expected: int) -> None:
    assert memory.size_bytes(text) == expected


def test_a_share_is_of_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "machine_memory", lambda: 8 * 1000**3)
    assert memory.size_bytes("25%") == 2 * 1000**3


@pytest.mark.parametrize("text", ["600", "lots", "0MB", "-1GB", "2 GBs"])
def test_other_sizes_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="--memory-limit must be a size above zero"):
        memory.size_bytes(text)


def test_the_least_bound_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "machine_memory", lambda: 24 * 1024**3)
    assert memory.one_shot_memory_limit(None, "2GB") == f"{600 * 1000**2}B"
    assert memory.one_shot_memory_limit(None, "100MB") == f"{100 * 1000**2}B"
    assert memory.one_shot_memory_limit("3GB", "100MB") == f"{3 * 1000**3}B"  # given: as given
    monkeypatch.setattr(memory, "machine_memory", lambda: 1000**3)  # a small machine: a quarter of it
    assert memory.one_shot_memory_limit(None, "2GB") == f"{250 * 1000**2}B"
    monkeypatch.setattr(memory, "machine_memory", lambda: None)
    assert memory.one_shot_memory_limit(None, None) == f"{600 * 1000**2}B"


def test_machine_memory_is_known_here() -> None:
    found = memory.machine_memory()
    assert found is None or found > 0


def test_the_cube_engine_is_bounded(cube_ws_path: Path) -> None:
    with _bounded(cube_ws_path, None) as ws:
        assert ws.settings.memory_limit == "2GB"  # the workspace's own, for imports and analyses
        assert _engine_limit(ws) == "572.2 MiB"  # 600 MB
    with _bounded(cube_ws_path, "1GiB") as ws:
        assert _engine_limit(ws) == "1.0 GiB"


def test_a_lower_workspace_limit_is_kept(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws", settings=WorkspaceSettings(memory_limit="100MB")).close()
    with _bounded(tmp_path / "ws", None) as ws:
        assert _engine_limit(ws) == "95.3 MiB"  # 100 MB


def test_cli_refuses_a_wrong_memory_limit(cube_ws_path: Path) -> None:
    result = CliRunner().invoke(app, ["cube", "-w", str(cube_ws_path), "--memory-limit", "plenty"])
    assert result.exit_code == InputError.exit_code
    assert "--memory-limit must be a size above zero such as 600MB, 2GB or 25%; got 'plenty'" in result.output


def test_cli_same_cube_at_any_limit(cube_ws_path: Path) -> None:
    tables = []
    for extra in ([], ["--memory-limit", "2GB"], ["--memory-limit", "64MB"]):
        result = CliRunner().invoke(
            app, ["cube", "-w", str(cube_ws_path), "--by", "category,month", "--format", "csv", *extra]
        )
        assert result.exit_code == 0, result.output
        tables.append(list(csv.reader(io.StringIO(result.output))))
    first = tables[0]
    for other in tables[1:]:
        assert other[0] == first[0] and len(other) == len(first)
        for row, expected in zip(other[1:], first[1:], strict=True):
            assert row[:3] == expected[:3] and row[4:] == expected[4:]  # cells, grouping, counts: equal
            assert float(row[3]) == pytest.approx(float(expected[3]), rel=1e-12)  # revenue: a sum in any order
