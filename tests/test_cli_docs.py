"""Every command answers --help and is documented in docs/cli.md (Datasette's habit)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from custlens.cli import app

DOC = Path(__file__).parents[1] / "docs" / "cli.md"


def _commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, path + (name,))
        else:
            found.append(path)

    walk(root, ())
    return found


COMMANDS = _commands()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_explains(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert len(result.output.strip()) > 40


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_command_documented(command: tuple[str, ...]) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"## custlens {' '.join(command)}\n" in text, f"docs/cli.md does not document `custlens {' '.join(command)}`"


def test_reference_is_current() -> None:
    """docs/cli.md is exactly what tools/gen_cli_docs.py makes of the commands."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_cli_docs", DOC.parents[1] / "tools" / "gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert DOC.read_text(encoding="utf-8") == module.render(), "run: python tools/gen_cli_docs.py"
