"""A second writer waits for the workspace, then says it is in use (issue 10)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.errors import ConflictError
from custlens.warehouse import Workspace, WorkspaceSettings

HOLDER = textwrap.dedent("""
    import sys, time
    from custlens.warehouse import Workspace
    ws = Workspace.open(sys.argv[1])
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    ws.close()
""")


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def test_a_second_writer_waits_then_says_the_workspace_is_in_use(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws", settings=WorkspaceSettings(lock_wait=0.5)).close()
    holder = _hold(tmp_path / "ws", 30)
    try:
        started = time.perf_counter()
        with pytest.raises(ConflictError, match=r"workspace is in use \(by another custlens process\); waited 0.5 s"):
            Workspace.open(tmp_path / "ws")
        assert 0.4 < time.perf_counter() - started < 10
        result = CliRunner().invoke(app, ["privacy", "retention", "-w", str(tmp_path / "ws")])
        assert result.exit_code == ConflictError.exit_code
        assert result.output.count("\n") == 1 and "workspace is in use" in result.output
    finally:
        holder.kill()
        holder.wait()


def test_a_writer_that_waits_long_enough_gets_the_workspace(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws", settings=WorkspaceSettings(lock_wait=60)).close()
    holder = _hold(tmp_path / "ws", 1.5)
    try:
        started = time.perf_counter()
        with Workspace.open(tmp_path / "ws") as ws:
            assert ws.row_counts()["customers"] == 0
        assert time.perf_counter() - started > 0.5
    finally:
        holder.wait()
