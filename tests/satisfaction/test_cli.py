"""The pls and kano commands: JSON shape, table output, errors as one line with an exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens.cli import app

from .conftest import read_smartpls


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def test_pls_json_holds_the_promised_keys(runner: CliRunner, mobi_path: Path) -> None:
    result = runner.invoke(app, ["pls", str(mobi_path), "--model", "ecsi", "--scheme", "centroid", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"path_coefficients", "outer_weights", "loadings", "r2", "quality", "index"} <= set(out)
    ref = read_smartpls("centroid", "pathCoefficients")
    assert out["path_coefficients"]["Satisfaction -> Loyalty"] == pytest.approx(
        ref["Satisfaction"]["Loyalty"], abs=1e-6
    )
    assert 0 < out["index"]["Satisfaction"] < 100
    assert "bootstrap" not in out


def test_pls_bootstrap_is_seeded(runner: CliRunner, mobi_path: Path) -> None:
    args = ["pls", str(mobi_path), "--model", "acsi", "--bootstrap", "30", "--seed", "5", "--format", "json"]
    a = json.loads(runner.invoke(app, args).stdout)
    b = json.loads(runner.invoke(app, args).stdout)
    assert a["bootstrap"]["paths"] == b["bootstrap"]["paths"]
    assert a["bootstrap"]["n_boot"] == 30


def test_pls_table_and_toml_model(runner: CliRunner, mobi_path: Path, tmp_path: Path) -> None:
    spec = tmp_path / "model.toml"
    spec.write_text(
        '[blocks.Value]\nitems = "PERV*"\n[blocks.Satisfaction]\nitems = "CUSA*"\n'
        '[[paths]]\nfrom = "Value"\nto = "Satisfaction"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["pls", str(mobi_path), "--model", str(spec), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "Value -> Satisfaction" in result.stdout and "kind,name,value" in result.stdout.replace('"', "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nope"], "unknown model 'nope'"),
        (["--model", "missing.toml"], "no such file"),
        (["--scale-min", "1", "--scale-max", "5", "--format", "json"], None),
    ],
)
def test_pls_errors_are_one_line(runner: CliRunner, mobi_path: Path, args: list[str], message: str | None) -> None:
    result = runner.invoke(app, ["pls", str(mobi_path), *args])
    if message is None:  # answers outside the scale: the report says why there is no index
        out = json.loads(result.stdout)
        assert out["index"] is None and "scale 1-5" in out["notes"][0]
        return
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_kano_command(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "kano.csv"
    path.write_text(
        "respondent,attribute,functional,dysfunctional\n"
        "1,fast delivery,like,dislike\n2,fast delivery,我喜欢,我不喜欢\n3,fast delivery,1,3\n"
        "1,gift wrap,like,neutral\n2,gift wrap,neutral,neutral\n3,gift wrap,like,能忍受\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["kano", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["fast delivery"]["counts"]["O"] == 2 and out["fast delivery"]["category"] == "O"
    assert out["gift wrap"]["category"] == "A"
    assert out["gift wrap"]["better"] == pytest.approx(2 / 3) and out["gift wrap"]["worse"] == 0
    assert runner.invoke(app, ["kano", str(path)]).exit_code == 0
    table = runner.invoke(app, ["kano", str(path), "--format", "csv"])
    assert table.exit_code == 0 and "gift wrap" in table.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("attribute,functional,dysfunctional\nx,like,perhaps\n", encoding="utf-8")
    result = runner.invoke(app, ["kano", str(bad)])
    assert result.exit_code == 2 and "perhaps" in result.output
