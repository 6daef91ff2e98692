"""custlens.cli._coercion converts every option value exactly as Typer's own conversion.

The command line gives each Typer parameter a :class:`LeanCoercion` (no pydantic adapter
unless needed). For every parameter of every command (and the ``--help`` options), the
value it gives, or the error and its message, must equal those of Typer's conversion
(``build_runtime_param``) on defaults, typed texts, paths and bad values. And
``custlens fit gg`` must run without importing pydantic, Rich or ``scipy.special``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.testing import CliRunner

import custlens
from custlens.cli import app, load_all
from custlens.cli._coercion import LeanCoercion

SRC = str(Path(custlens.__file__).resolve().parents[1])


def _parameters() -> list[tuple[str, Any, Any]]:
    """(command path, command, parameter) for every Typer parameter, the ``--help`` options included."""
    root = load_all()
    ctx = Context(root, info_name="custlens")
    found: list[tuple[str, Any, Any]] = []

    def walk(name: str, command: Any) -> None:
        for param in [*command.params, command.get_help_option(ctx)]:
            if param is not None and hasattr(param, "type_descriptor"):
                found.append((name, command, param))
        for sub_name, sub in getattr(command, "commands", {}).items():
            walk(f"{name} {sub_name}", sub)

    for name, command in root.commands.items():
        walk(name, command)
    return found


def _texts(param: Any, tmp: Path) -> list[Any]:
    """Values to convert: the default, typed texts of every kind, paths that exist or not."""
    values: list[Any] = [param.default, None, "", " ", "abc", "1", "2.5", "-3", "1e3", " 7 ", "inf", "nan", "1_000"]
    values += ["true", "False", "yes", "0", "W", "w", "json", "JSON", "Table", "csv", "bgnbd", "gg", "none"]
    values += [str(tmp / "file.csv"), str(tmp), str(tmp / "missing.csv"), str(tmp / "dir") + "/", "./a/../b.csv"]
    values += ["~/x.csv", "-", "a\x00b", 3, 2.5, True, Path("p.csv")]
    choices = param.type_descriptor.choices or ()
    for choice in choices:
        text = str(getattr(choice, "value", choice))
        values += [choice, text, text.upper(), text.lower()]
    return [v for v in values if not callable(v)]


def _outcome(convert: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        result = convert.coerce(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "error", exc.format_message()
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        return "raised", (type(exc).__name__, str(exc))
    return "value", (type(result), repr(result))  # repr: nan equals nan


def test_every_parameter_converts_as_typer_does(tmp_path: Path) -> None:
    (tmp_path / "file.csv").write_text("a\n1\n")
    (tmp_path / "dir").mkdir()
    params = _parameters()
    assert len(params) > 500  # every command's options, not a few
    compared = 0
    for name, command, param in params:
        ctx = Context(command, info_name=name.split()[-1])
        ours, typers = LeanCoercion(param), build_runtime_param(param.type_descriptor)
        for value in _texts(param, tmp_path):
            expected = _outcome(typers, value, param, ctx)
            assert _outcome(ours, value, param, ctx) == expected, (name, param.name, value)
            compared += 1
    assert compared > 10_000


def test_the_fast_path_builds_no_adapter_for_fit_defaults() -> None:
    """``fit``'s options as the benchmark gives them convert without Typer's adapters."""
    root = load_all()
    fit = root.commands["fit"]
    ctx = Context(fit, info_name="fit")
    for param in fit.params:
        lean = LeanCoercion(param)
        value = "gg" if param.name == "model" else "data.csv" if param.name == "data_file" else param.default
        lean.coerce(value, param, ctx)
        assert lean._full is None, param.name


def test_help_of_every_command_still_works() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "fit" in result.output
    for name in sorted({path for path, _, _ in _parameters()}):
        result = runner.invoke(app, [*name.split(), "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output, name


def _flat(text: str) -> str:
    """Rich's error box as one line of words."""
    return " ".join(text.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


def test_bad_values_keep_typers_messages(tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "s.csv"
    path.write_text("frequency,monetary_value\n1,10\n2,12\n")
    bad_choice = runner.invoke(app, ["fit", "gg", str(path), "--format", "xml"])
    assert bad_choice.exit_code == 2
    assert "'xml' is not one of 'table', 'csv', 'json', 'parquet'" in _flat(bad_choice.output)
    bad_float = runner.invoke(app, ["fit", "gg", str(path), "--penalizer", "lots"])
    assert bad_float.exit_code == 2
    assert "Invalid value for '--penalizer': Input should be a valid number" in _flat(bad_float.output)
    bad_model = runner.invoke(app, ["fit", "xyz", str(path)])
    assert bad_model.exit_code == 2 and "'xyz' is not one of 'bgnbd'," in _flat(bad_model.output)
    folder = runner.invoke(app, ["fit", "gg", str(path), "-o", str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder; --output expects a file name" in _flat(folder.output)


def _spend_file(tmp_path: Path) -> Path:
    """Repeat buyers enough for the Newton path (more than the warm-start subset, no SciPy optimiser)."""
    import numpy as np

    from custlens.clv import _gamma_gamma
    from custlens.clv._base import _WARM_START_ROWS

    rng = np.random.default_rng(24)
    x = rng.integers(1, 30, _WARM_START_ROWS + 5_000).astype(float)
    z = _gamma_gamma.simulate(6.25, 3.74, 15.44, x, rng=rng)
    path = tmp_path / "spend.csv"
    path.write_text(
        "frequency,monetary_value\n" + "".join(f"{a:g},{b!r}\n" for a, b in zip(x.tolist(), z.tolist(), strict=True))
    )
    return path


def test_fit_gg_leaves_pydantic_rich_and_scipy_special_out(tmp_path: Path) -> None:
    path = _spend_file(tmp_path)
    args = ["fit", "gg", str(path), "--format", "json", "--penalizer", "0.0"]
    probe = (
        f"import sys\nfrom custlens.cli import app\napp({args!r}, standalone_mode=False)\n"
        "import json\nprint(json.dumps(sorted(m for m in ('pydantic', 'rich', 'scipy.special', 'scipy.optimize') "
        "if m in sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # --penalizer typed on the command line goes through Typer's own conversion (pydantic, Rich)
    assert set(json.loads(proc.stdout.strip().splitlines()[-1])) <= {"pydantic", "rich"}
    args = ["fit", "gg", str(path), "--format", "json"]
    probe = probe.replace(repr(["fit", "gg", str(path), "--format", "json", "--penalizer", "0.0"]), repr(args))
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '"converged": true' in proc.stdout  # the fit ran (an error would load Rich to report it)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_fit_output_is_unchanged_by_the_fast_path(tmp_path: Path, fmt: str) -> None:
    """The same output as with Typer's conversion for every parameter (LeanCoercion disabled)."""
    path = tmp_path / "spend.csv"
    path.write_text("frequency,monetary_value\n" + "".join(f"{1 + i % 7},{10 + i % 13}\n" for i in range(300)))
    runner = CliRunner()
    args = ["fit", "gg", str(path), "--format", fmt, "--monetary-col", "monetary_value", "--time-unit", "D"]
    fast = runner.invoke(app, args)
    import custlens.cli._coercion as coercion

    original = coercion.LeanCoercion._fast
    try:
        coercion.LeanCoercion._fast = lambda self, value, param, ctx: coercion._MISSING  # type: ignore[method-assign]
        slow = runner.invoke(app, args)
    finally:
        coercion.LeanCoercion._fast = original  # type: ignore[method-assign]
    assert fast.exit_code == slow.exit_code == 0, (fast.output, slow.output)
    assert fast.output == slow.output
