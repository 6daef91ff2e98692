"""Library hygiene that every package must keep (see STYLE.md)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import custlens

SRC = Path(custlens.__file__).parent


def _modules() -> list[str]:
    names = [custlens.__name__]
    for info in pkgutil.walk_packages(custlens.__path__, prefix="custlens."):
        names.append(info.name)
    return names


def test_no_print_in_library() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.parts[-2] == "cli":
            continue  # the CLI edge writes to the terminal through Rich/typer
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders, f"print() in the library: {offenders}"


def test_every_module_imports_and_has_future_annotations() -> None:
    missing = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if text.strip() and "from __future__ import annotations" not in text:
            missing.append(str(path.relative_to(SRC)))
    assert not missing, f"modules without `from __future__ import annotations`: {missing}"
    for name in _modules():
        importlib.import_module(name)


def test_import_changes_no_global_state() -> None:
    """Importing every module leaves warning filters, logging and numpy settings alone."""
    code = (
        "import warnings, logging, numpy as np, pkgutil, importlib\n"
        "# third-party libraries may set their own filters when imported; load them first\n"
        "import scipy.stats, scipy.optimize, scipy.special, scipy.integrate, pandas, pyarrow, polars\n"
        "import sklearn.cluster, sklearn.metrics, plotly.graph_objects, ibis, duckdb, typer, rich\n"
        "before = (list(warnings.filters), logging.root.level, list(logging.root.handlers), np.geterr())\n"
        "import custlens\n"
        "for m in pkgutil.walk_packages(custlens.__path__, prefix='custlens.'):\n"
        "    importlib.import_module(m.name)\n"
        "after = (list(warnings.filters), logging.root.level, list(logging.root.handlers), np.geterr())\n"
        "assert before == after, (before, after)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize(
    "package", [m for m in _modules() if m.count(".") == 1 and not m.endswith(("errors", "schema"))]
)
def test_packages_declare_public_api(package: str) -> None:
    module = importlib.import_module(package)
    if not hasattr(module, "__path__"):
        return
    assert hasattr(module, "__all__"), f"{package} has no curated __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which it does not define"
