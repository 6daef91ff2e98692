"""Importing custlens.clv (and running ``custlens fit gg``) leaves the slow libraries out.

Each check runs in a fresh interpreter, so that modules other tests loaded do not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import custlens

HEAVY = ("scipy.stats", "plotly", "ibis", "pandas", "sklearn")
SRC = str(Path(custlens.__file__).resolve().parents[1])


def _loaded_after(code: str) -> set[str]:
    """The HEAVY modules loaded after running ``code`` in a new interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("package", ["custlens.clv", "custlens.churn"])
def test_import_leaves_heavy_libraries_out(package: str) -> None:
    assert _loaded_after(f"import {package}") == set()


def _fit_gg(path: Path) -> str:
    args = ["fit", "gg", str(path), "--frequency-col", "x", "--monetary-col", "zbar", "--format", "json"]
    return f"from custlens.cli import app\napp({args!r}, standalone_mode=False)"


def test_fit_gg_leaves_heavy_libraries_out(cdnow_summary_monetary_path: Path) -> None:
    assert _loaded_after(_fit_gg(cdnow_summary_monetary_path)) == set()


def test_fit_gg_leaves_ibis_out(cdnow_summary_monetary_path: Path) -> None:
    assert "ibis" not in _loaded_after(_fit_gg(cdnow_summary_monetary_path))


def test_the_formula_models_are_re_exported_on_first_use() -> None:
    """``custlens.clv`` lists the formula models' names without importing them (a fit does not need them)."""
    import custlens.clv as clv
    from custlens.clv import formula

    assert clv._FORMULA_NAMES == tuple(formula.__all__)
    assert set(formula.__all__) <= set(clv.__all__) and "formula" in dir(clv)
    for name in formula.__all__:
        assert getattr(clv, name) is getattr(formula, name)
    assert _loaded_after("import custlens.clv\nimport sys\nassert 'custlens.clv.formula' not in sys.modules") == set()
