"""The value and lost commands on a small analysed demo workspace: each prints what its library function returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.demo import IMPORT_ORDER

pytestmark = pytest.mark.xdist_group("value_cli")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 demo customers imported and analysed once."""
    from custlens.analysis import analyze
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company

    files = write_company(tmp_path_factory.mktemp("company"), n_customers=400, seed=5)
    path = tmp_path_factory.mktemp("ws") / "ws"
    with init_workspace(path, key_file=path.parent / "workspace.key") as ws:
        for name in IMPORT_ORDER:
            import_file(ws, files[name], table=name)
        analyze(ws)
    return path


@pytest.fixture(scope="module")
def costs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("costs") / "costs.toml"
    path.write_text(
        "[cost_to_serve]\ncomplaint = 40\nservice_task = 60\nvisit = 150\n[acquisition]\ndefault = 50\n"
        "referral = 20\n[marketing]\nper_month = 2\n",
        encoding="utf-8",
    )
    return path


def _json(args: list[str]) -> object:
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_value_components(workspace: Path, costs: Path) -> None:
    rows = _json(["value", "components", "-w", str(workspace), "--costs", str(costs), "--summary"])
    assert [r["part"] for r in rows] == ["historical", "current", "potential"]
    assert all(r["acquisition_cost"] >= 0 for r in rows) and rows[0]["acquisition_cost"] > 0
    by = _json(["value", "components", "-w", str(workspace), "--costs", str(costs), "--by", "pyramid"])
    for part in ("historical", "current", "potential"):
        total = sum(r["value"] for r in by if r["part"] == part)
        assert total == pytest.approx(next(r["value"] for r in rows if r["part"] == part))
    side = _json(["value", "components", "-w", str(workspace), "--side-by-side"])
    assert set(side[0]) == {"customer_id", "historical_value", "current_value", "potential_value"}


def test_value_sensitivity_and_tornado(workspace: Path, costs: Path, tmp_path: Path) -> None:
    figure = tmp_path / "tornado.html"
    rows = _json(
        ["value", "sensitivity", "-w", str(workspace), "--costs", str(costs), "--tornado", "--figure", str(figure)]
    )
    assert len(rows) == 7 and rows[0]["swing"] >= rows[-1]["swing"]
    assert figure.read_text(encoding="utf-8").count("plotly") > 0


def test_value_wallet(workspace: Path, tmp_path: Path) -> None:
    from custlens.analysis import load_analysis

    with load_analysis(workspace) as stored:
        ids = stored.customers().filter(stored.customers().revenue > 0).customer_id.to_pyarrow().to_pylist()[:3]
    est = tmp_path / "est.csv"
    est.write_text("customer_id,category_spend\n" + "".join(f"{c},100000\n" for c in ids), encoding="utf-8")
    rows = _json(["value", "wallet", str(est), "-w", str(workspace)])
    assert [r["customer_id"] for r in rows] == sorted(ids)
    assert all(0 <= r["share_of_wallet"] <= 1 for r in rows)


def test_lost_commands(workspace: Path, tmp_path: Path) -> None:
    types = _json(["lost", "types", "-w", str(workspace)])
    assert types and {r["loss_type"] for r in types} <= {"permanent", "temporary"}
    reasons = _json(["lost", "reasons", "-w", str(workspace), "--by", "pyramid"])
    assert sum(r["customers"] for r in reasons) == len(types)
    complaints = _json(["lost", "complaints", "-w", str(workspace)])
    assert complaints[0]["segment"] == "all" and complaints[0]["benchmark_stay_resolved"] == 0.95
    conversion = _json(["lost", "conversion", "-w", str(workspace), "--periods", "2"])
    assert {r["period_end"] for r in conversion} and all(0 <= r["rate"] <= 1 for r in conversion)
    campaign = tmp_path / "campaign.csv"
    lost_ids = [r["customer_id"] for r in types[:6]]
    campaign.write_text(
        "customer_id,targeted_at,group\n"
        + "".join(f"{c},2025-06-01,{'control' if i % 2 else 'target'}\n" for i, c in enumerate(lost_ids)),
        encoding="utf-8",
    )
    summary = _json(["lost", "winback", str(campaign), "-w", str(workspace)])
    assert {r["group"] for r in summary} == {"target", "control"} and sum(r["targeted"] for r in summary) == 6


def test_errors_name_the_flag(workspace: Path) -> None:
    result = CliRunner().invoke(app, ["value", "components", "-w", str(workspace), "--current-months", "0"])
    assert result.exit_code == 2 and "--current-months" in result.output
    result = CliRunner().invoke(app, ["lost", "reasons", "-w", str(workspace), "--by", "pyramd"])
    assert result.exit_code != 0 and "did you mean 'pyramid'" in result.output
