"""The ``custlens tags`` commands: the exact CSV of ``tags list``, and one-line errors for bad input."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.tags import load_taxonomy

from .conftest import FIRST, SECOND, profiled

pytestmark = pytest.mark.xdist_group("tags")


def _run(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in argv])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _error(argv: tuple, *says: str, code: int = 2) -> str:
    exit_code, output = _run(*argv)
    assert exit_code == code, output
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for text in says:
        assert text in output, f"{text!r} not in {output}"
    return output


def test_list_csv_has_exactly_the_four_columns(demo_path: Path) -> None:
    code, output = _run("tags", "list", "--workspace", demo_path, "--format", "csv")
    assert code == 0, output
    rows = list(csv.reader(io.StringIO(output)))
    assert rows[0] == ["tag", "category", "customers", "share"]
    assert [r[0] for r in rows[1:]] == load_taxonomy().ids
    by_tag = {r[0]: r for r in rows[1:]}
    assert by_tag["corporate"][1] == "basic"
    assert 0 < int(by_tag["corporate"][2]) < 800
    from custlens.warehouse import Workspace

    with Workspace.open(demo_path, read_only=True) as ws:
        base = len(profiled(ws))
    assert float(by_tag["corporate"][3]) == pytest.approx(int(by_tag["corporate"][2]) / base)


def test_show_history_coverage_overlap_stability_lift_persona_audience(demo_path: Path, tmp_path: Path) -> None:
    w = ("--workspace", demo_path)
    for argv in (
        ("tags", "show", "C00000004", *w, "--format", "csv"),
        ("tags", "history", *w, "--format", "csv"),
        ("tags", "coverage", *w, "--format", "csv"),
        ("tags", "overlap", *w, "--category", "risk", "--format", "csv"),
        ("tags", "stability", *w, "--from", FIRST.isoformat(), "--to", SECOND.isoformat(), "--format", "csv"),
        ("tags", "lift", *w, "--as-of", FIRST.isoformat(), "--format", "csv"),
        ("tags", "persona", *w, "--method", "rfm", "--segment", "Champions", "--format", "csv"),
        ("tags", "persona", *w, "--method", "lifecycle", "--top", "2", "--format", "csv"),
        ("tags", "audience", "high_clv and not churn_risk_high", *w, "--format", "csv"),
        ("tags", "definitions", "--format", "csv"),
    ):
        code, output = _run(*argv)
        assert code == 0, (argv, output)
        assert len(output.splitlines()) > 1, argv
    code, output = _run("tags", "audience", "high_clv", *w, "--export", tmp_path / "a.csv", "--name", "vip")
    assert code == 0, output
    assert (tmp_path / "a.csv").exists() and (tmp_path / "a_summary.csv").exists()
    again = ("tags", "audience", "high_clv", *w, "--export", tmp_path / "a.csv")
    code, output = _run(*again)
    assert code != 0 and "--force" in output
    assert _run(*again, "--force")[0] == 0


def test_apply_from_the_command_line(demo_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "ws"
    shutil.copytree(demo_path, path)
    code, output = _run("tags", "apply", "--workspace", path, "--format", "json")
    assert code == 0, output
    # applying again on the latest date replaces it: the same assignments opened and closed since 2025-06-30
    from custlens.tags import tag_history

    second = tag_history(demo_path).to_pylist()[-1]
    assert '"as_of": "2025-09-30"' in output
    assert f'"opened": {second["opened"]}' in output and f'"closed": {second["closed"]}' in output


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("tags", "audience", "hihg_clv"), ("unknown tag 'hihg_clv'; did you mean 'high_clv'?",)),
        (("tags", "audience", "high_clv and"), ("expected a tag, 'not' or '('",)),
        (
            ("tags", "overlap", "--tags", "churn_risk_hihg,high_clv"),
            ("--tags: unknown tag 'churn_risk_hihg'", "did you mean"),
        ),
        (("tags", "lift", "--as-of", SECOND.isoformat(), "--days", "120"), ("--days 120 reaches past",)),
        (
            ("tags", "persona", "--method", "rfmm"),
            ("--method: analysis 2025-09-30.1 has no segmentation 'rfmm'; did you mean 'rfm'?",),
        ),
        (("tags", "persona", "--method", "rfm", "--segment", "Champs"), ("did you mean 'Champions'?",)),
        (("tags", "persona", "--method", "rfm", "--top", "0"), ("--top must be a whole number >= 1",)),
        (("tags", "show", "nobody"), ("no customer 'nobody'",)),
        (("tags", "list", "--as-of", "2020-01-01"), ("no tags applied on or before --as-of 2020-01-01",)),
        (
            ("tags", "stability", "--from", SECOND.isoformat(), "--to", SECOND.isoformat()),
            ("--to must describe a later",),
        ),
    ],
)
def test_one_line_errors(demo_path: Path, argv: tuple, says: tuple) -> None:
    _error((*argv, "--workspace", demo_path), *says)


def test_bad_definitions_and_missing_analysis(tmp_path: Path, demo_path: Path) -> None:
    bad = tmp_path / "tags.toml"
    bad.write_text(
        '[[category]]\nid = "c"\nname = "C"\n[[tag]]\nid = "x"\ncategory = "c"\nkind = "rule"\nname = "X"\n'
        'when = "revnue > 10"\n',
        encoding="utf-8",
    )
    path = tmp_path / "ws"
    shutil.copytree(demo_path, path)
    _error(("tags", "apply", "--workspace", path, "--definitions", bad), "rule 'tag x': unknown column 'revnue'",
           "did you mean 'revenue'?")  # fmt: skip
    bad.write_text('[[category]]\nid = "c"\nname = "C"\n[[tag]]\nid = "x"\ncategory = "c"\nkind = "rul"\nname = "X"\n')
    _error(("tags", "definitions", "--definitions", bad), "'kind' must be one of", "did you mean 'rule'?")
    from custlens.warehouse import Workspace

    Workspace.init(tmp_path / "empty").close()
    _error(("tags", "apply", "--workspace", tmp_path / "empty"), "no stored analysis yet", "custlens analyze")
    _error(("tags", "list", "--workspace", tmp_path / "empty"), "no tags yet", "custlens tags apply")
    _error(("tags", "list", "--workspace", tmp_path / "nowhere"), "not a custlens workspace")
