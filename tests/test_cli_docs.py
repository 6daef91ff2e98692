"""Every command answers --help and is documented in docs/cli.md (Datasette's habit)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from custlens.cli import COMMANDS as TOP_LEVEL
from custlens.cli import app, load_all

DOC = Path(__file__).parents[1] / "docs" / "cli.md"


def _commands() -> list[tuple[str, ...]]:
    root = load_all()
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


@pytest.mark.parametrize("name", sorted(TOP_LEVEL))
def test_listing_line_is_the_commands_own(name: str) -> None:
    """`custlens --help` lists commands without importing them: each line must be the command's own."""
    command = load_all().commands[name]
    own = " ".join((command.help or "").strip().split("\n\n")[0].split())
    assert TOP_LEVEL[name][1] == own, f"update custlens.cli.COMMANDS[{name!r}] to: {own!r}"


def test_every_command_is_listed() -> None:
    root = typer.main.get_command(app)
    listed = set(root.list_commands(None))  # type: ignore[attr-defined]
    assert listed == set(load_all().commands)


@pytest.mark.parametrize("argv", [["--help"], ["version"]])
def test_start_imports_nothing_heavy(argv: list[str]) -> None:
    """`custlens --help` and `custlens version` load no command module and no data library."""
    import subprocess
    import sys

    # main() ends the process itself (custlens.cli._exit), after the exit functions: the
    # check runs as one of them
    code = (
        "import atexit, sys; from custlens.cli import main; sys.argv = ['custlens', *sys.argv[1:]]\n"
        "def report():\n"
        "    heavy = sorted(m for m in ('numpy', 'pyarrow', 'ibis', 'pandas', 'scipy', 'plotly', 'sklearn', "
        "'pyspark', 'duckdb', 'custlens.cli._common') if m in sys.modules)\n"
        "    sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
        "atexit.register(report)\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    assert done.stderr.strip().endswith("HEAVY="), done.stderr
