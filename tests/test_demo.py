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
    assert [r["table"] for r in demo_result.imports] == list(IMPORT_ORDER)
    assert all(
        r["rows_loaded"] > 0 and r["rows_loaded"] == demo_result.row_counts[r["table"]] for r in demo_result.imports
    )


def test_headline_figures(demo_result) -> None:
    assert demo_result.overview["customers with purchases"] > 0
    assert 0 < demo_result.overview["mean P(alive)"] <= 1
    shares = demo_result.segments["abc"]["value_share"].to_pylist()
    assert sum(shares) == pytest.approx(1.0)
    assert set(demo_result.model_params) == {"BG/NBD", "Gamma-Gamma"}
    assert set(demo_result.model_params["BG/NBD"]) == {"r", "alpha", "a", "b"}
    for value in demo_result.satisfaction_index.values():
        assert 0 <= value <= 100
    found = dict(zip(demo_result.kano["attribute"].to_pylist(), demo_result.kano["category"].to_pylist()))
    assert set(found) == set(KANO_DESIGN)


def test_every_figure_is_the_stored_analysis(demo_result) -> None:
    """The demo prints what the workspace's stored analysis holds, and nothing else."""
    import pyarrow.compute as pc

    from custlens.analysis import load_analysis
    from custlens.warehouse import Workspace

    with Workspace.open(demo_result.workspace, read_only=True) as ws:
        stored = load_analysis(ws)
        assert stored.analysis_id == demo_result.analysis_id
        assert stored.as_of == demo_result.as_of
        overview = stored.details["overview"]
        assert demo_result.overview["revenue"] == overview["revenue"]
        assert demo_result.overview["mean P(alive)"] == overview["mean_p_alive"]
        for method, summary in demo_result.segments.items():
            assert summary.equals(stored.segment_summary(method)), method
        assert demo_result.model_params["BG/NBD"] == stored.models["purchase"]["params"]
        customers = stored.customers().to_pyarrow()
        top = demo_result.top_customers
        best = pc.max(customers["clv"]).as_py()
        assert top["clv"][0].as_py() == best
        assert pc.sum(customers["clv"]).as_py() == pytest.approx(
            demo_result.overview[f"{stored.config['clv']['horizon_months']:g}-month CLV, total"]
        )


def test_report_written(demo_result) -> None:
    assert demo_result.report is not None and demo_result.report.exists()
    text = demo_result.report.read_text(encoding="utf-8")
    assert text.count("plotly.js v") >= 1  # plotly.js is embedded: the file opens offline
    assert f"analysis {demo_result.analysis_id}" in text
    for heading in (
        "Lifetime value",
        "CLV matrix",
        "Customers at risk",
        "Relationship-state flow",
        "Satisfaction",
        "Kano diagram",
        "Cluster profiles",
    ):
        assert f"<h2>{heading}</h2>" in text, heading


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
