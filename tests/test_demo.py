"""The main job on the demo company runs end to end and refuses to overwrite user folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.demo import IMPORT_ORDER, run_demo
from custlens.errors import InputError
from custlens.synth import KANO_DESIGN


@pytest.fixture(scope="module")
def demo_result(tmp_path_factory: pytest.TempPathFactory):
    return run_demo(tmp_path_factory.mktemp("demo") / "run", n_customers=600, seed=5)


def test_every_table_imported(demo_result) -> None:
    assert set(IMPORT_ORDER) <= set(demo_result.row_counts)
    for name in IMPORT_ORDER:
        assert demo_result.row_counts[name] > 0, name
    assert all(
        r["status"] in ("imported", "committed", "ok", "loaded") or r.get("rows_loaded", 0) > 0
        for r in demo_result.imports
    )


def test_headline_figures(demo_result) -> None:
    assert demo_result.overview["customers with purchases"] > 0
    assert 0 < demo_result.overview["mean P(alive)"] <= 1
    shares = demo_result.segments["abc"]["value_share"].to_pylist()
    assert sum(shares) == pytest.approx(1.0)
    assert set(demo_result.model_params) == {"BG/NBD", "Gamma-Gamma"}
    for value in demo_result.satisfaction_index.values():
        assert 0 <= value <= 100
    found = dict(zip(demo_result.kano["attribute"].to_pylist(), demo_result.kano["category"].to_pylist()))
    assert set(found) == set(KANO_DESIGN)


def test_report_written(demo_result) -> None:
    assert demo_result.report is not None and demo_result.report.exists()
    assert demo_result.report.stat().st_size > 100_000  # plotly.js is embedded


def test_refuses_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match="not made by `custlens demo`"):
        run_demo(tmp_path, n_customers=200)
    assert (tmp_path / "mine.txt").read_text(encoding="utf-8") == "keep me"


def test_cli_demo_reports_bad_folder_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--folder", str(tmp_path), "--customers", "200"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
