"""The README's tour runs as written (on a smaller company), so the front page stays true."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens.cli import app

README = Path(__file__).parents[1] / "README.md"


def _block(heading: str, fence: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    body = text[start:].split(f"```{fence}\n", 1)[1]
    return body.split("```", 1)[0]


def _console_commands() -> list[list[str]]:
    """`$ custlens ...` lines (with `>` continuations); the import loop is expanded."""
    lines = _block("### The command line", "console").splitlines()
    commands: list[str] = []
    loop: list[str] | None = None
    for line in lines:
        if line.startswith("$ for t in"):
            loop = line.split(" in ", 1)[1].split(";", 1)[0].split()
            continue
        if line.startswith("> ") and loop is not None and "custlens" in line:
            template = line[2:].strip()
            commands += [template.replace("$t", name) for name in loop]
            continue
        if line.startswith("> done"):
            loop = None
            continue
        if line.startswith("> ") and commands:
            commands[-1] = commands[-1].rstrip("\\").rstrip() + " " + line[2:].strip()
            continue
        if line.startswith("$ custlens"):
            commands.append(line[2:].split("#", 1)[0].strip())
    return [shlex.split(c.rstrip("\\"))[1:] for c in commands]


def test_console_tour_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    commands = _console_commands()
    assert len(commands) >= 10
    for args in commands:
        args = [("600" if a == "20000" else a) for a in args]  # a smaller company, same steps
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, f"custlens {' '.join(args)}\n{result.output}"
    for name in ("summary.csv", "rfm.csv", "clv.csv", "report.html"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_library_snippet_runs(tmp_path: Path) -> None:
    code = _block("### The library", "python")
    assert CliRunner().invoke(app, ["generate", str(tmp_path / "company"), "--customers", "600"]).exit_code == 0
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"'r': \d", result.stdout)
