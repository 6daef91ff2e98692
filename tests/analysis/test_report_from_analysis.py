"""The report, the demo and the CLI draw the stored analysis; they compute nothing themselves."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from custlens.analysis import load_analysis
from custlens.cli import app
from custlens.report import report_sections

pytestmark = pytest.mark.xdist_group("analysis")


def _sections(stored: object) -> dict[str, object]:
    return {s.title: s for s in report_sections(stored)}  # type: ignore[arg-type]


def test_every_section_is_drawn_from_stored_results(workspace) -> None:
    stored = load_analysis(workspace)
    sections = _sections(stored)
    for title in (
        "Key figures",
        "RFM segments: sizes and value shares",
        "Pareto curve",
        "Value pyramid",
        "RFM heat map",
        "Customer value matrix",
        "Lifetime value",
        "CLV matrix",
        "Churn risk",
        "Churn rate",
        "Customers at risk",
        "Relationship-state flow",
        "Satisfaction",
        "Importance-performance map",
        "Kano diagram",
        "Cluster profiles",
        "Important customers",
        "Playbook",
    ):
        assert title in sections, title
    pareto = stored.result("pareto")
    fig = sections["Pareto curve"].figure
    np.testing.assert_allclose(fig.data[0].y, pareto.sort_by("customer_share")["value_share"].to_numpy())
    hist = stored.result("clv_histogram")
    assert list(sections["Lifetime value"].figure.data[0].y) == hist["customers"].to_pylist()
    flow = stored.result("state_flow")
    sankey = sections["Relationship-state flow"].figure.data[0]
    assert sum(sankey.link.value) == pc.sum(flow["customers"]).as_py()
    risk = sections["Customers at risk"].figure.data[0].cells.values
    top = stored.at_risk(top=50).to_pyarrow()
    assert list(risk[1]) == top["customer_id"].to_pylist()
    sizes = sections["ABC classes: sizes and value shares"].figure.data[0]
    summary = stored.segment_summary("abc").sort_by("segment_rank")
    assert list(sizes.customdata) == summary["customers"].to_pylist()
    assert list(sizes.y) == pytest.approx(summary["share"].to_pylist())
    key_figures = sections["Key figures"].figure.data[0].cells.values
    figures = dict(zip(key_figures[0], key_figures[1]))
    assert figures["analysis"] == stored.analysis_id
    assert figures["customers"] == f"{stored.n_customers:,}"
    kano = sections["Kano diagram"].figure.data[0]
    assert sorted(kano.y) == sorted(stored.result("kano")["better"].to_pylist())


def test_drawing_computes_nothing(workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With every computing entry point broken, the report of a stored analysis still draws."""
    import custlens.analysis._pipeline as pipeline
    import custlens.clv as clv
    import custlens.features as features
    import custlens.scoring as scoring
    import custlens.segment as segment
    from custlens.report import build_report

    def broken(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the report computed something")

    for module, names in (
        (features, ("value_indicators", "purchase_history")),
        (segment, ("rfm_from_transactions", "relationship_state", "lifecycle_stage", "abc_classes", "pareto_curve")),
        (clv, ("value_customers",)),
        (scoring, ("score_customers",)),
    ):
        for name in names:
            monkeypatch.setattr(module, name, broken)
    monkeypatch.setattr(pipeline, "Pipeline", broken)
    path = build_report(load_analysis(workspace), tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    assert "<h2>Lifetime value</h2>" in text and "<h2>Customers at risk</h2>" in text


def test_cli_analyze_then_report(workspace_path: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(workspace_path, ws)
    runner = CliRunner()
    done = runner.invoke(app, ["analyze", "--workspace", str(ws), "--as-of", "2025-06-30", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert '"analysis_id": "2025-06-30.1"' in done.output
    listed = runner.invoke(app, ["analyze", "--workspace", str(ws), "--list", "--format", "csv"])
    assert listed.exit_code == 0 and "2025-06-30.1" in listed.output
    out = tmp_path / "r.html"
    drawn = runner.invoke(app, ["report", "--workspace", str(ws), "--as-of", "2025-06-30", "--out", str(out)])
    assert drawn.exit_code == 0, drawn.output
    assert "analysis 2025-06-30.1" in out.read_text(encoding="utf-8")
    from custlens.analysis import list_analyses

    first = list_analyses(ws)["analysis_id"].to_pylist()[0]  # the fixture's, as of the last day
    compared = runner.invoke(
        app,
        [
            "report",
            "--workspace",
            str(ws),
            "--analysis",
            first,
            "--compare-to",
            "2025-06-30.1",
            "--out",
            str(tmp_path / "m.html"),
        ],
    )
    assert compared.exit_code == 0, compared.output
    assert re.search(r"<h2>Segment migration \(RFM segments\)</h2>", (tmp_path / "m.html").read_text(encoding="utf-8"))


def test_cli_report_mistakes_are_one_line(workspace_path: Path, tmp_path: Path) -> None:
    from custlens.warehouse import Workspace

    Workspace.init(tmp_path / "empty").close()
    runner = CliRunner()
    for argv, says in (
        (["report", "--workspace", str(tmp_path / "empty")], "custlens analyze --workspace"),
        (["report", "--workspace", str(workspace_path), "--analysis", "nope"], "no stored analysis 'nope'"),
        (["report", "--workspace", str(workspace_path), "--ahp", "x.toml"], "--ahp set how an analysis is made"),
        (["report"], "give exactly one of --transactions FILE or --workspace W"),
        (["report", "--workspace", str(workspace_path), "--indicators", "i.csv"], "--indicators is no longer used"),
        (["analyze", "--workspace", str(workspace_path), "--as-of", "1990-01-01"], "--as-of 1990-01-01 is before"),
    ):
        result = runner.invoke(app, argv)
        assert result.exit_code == 2, (argv, result.output)
        assert says in " ".join(result.output.split()), (argv, result.output)
        assert "Traceback" not in result.output


def test_cli_report_of_a_transaction_file(company: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "t.html"
    result = CliRunner().invoke(app, ["report", "--transactions", str(company["transactions"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "<h2>Lifetime value</h2>" in text and "<h2>Left out</h2>" in text
