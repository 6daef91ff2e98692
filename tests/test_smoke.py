"""The package imports without side effects and the CLI answers."""

from __future__ import annotations

from typer.testing import CliRunner

import custlens
from custlens.cli import app


def test_version_command() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == custlens.__version__


def test_errors_subclass_builtins() -> None:
    assert issubclass(custlens.InputError, ValueError)
    assert issubclass(custlens.ConfigError, custlens.InputError)
    assert custlens.InputError.exit_code != 0
