"""``custlens cube``: columns in each format, --no-subtotals, --where, --scheme, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custlens.cli import app

pytestmark = pytest.mark.xdist_group("cube")


def _run(*argv: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["cube", *[str(a) for a in argv]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_csv_columns_are_dimensions_grouping_measures(cube_ws_path: Path) -> None:
    code, out = _run("-w", cube_ws_path, "--measures", "revenue,customers,orders,clv", "--by",
                     "region,industry,segment,month", "--format", "csv")  # fmt: skip
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["region", "industry", "segment", "month", "grouping", "revenue", "customers", "orders",
                             "clv"]  # fmt: skip
    total = rows[-1]
    assert total["grouping"] == "region,industry,segment,month"
    assert total["region"] == total["industry"] == total["segment"] == total["month"] == ""
    assert {r["grouping"] for r in rows} == {"", "month", "segment,month", "industry,segment,month",
                                              "region,industry,segment,month"}  # fmt: skip


def test_no_subtotals_json_and_parquet(cube_ws_path: Path, tmp_path: Path) -> None:
    code, out = _run("-w", cube_ws_path, "--by", "channel", "--no-subtotals", "--format", "json")
    assert code == 0, out
    rows = json.loads(out)
    assert list(rows[0]) == ["channel", "revenue", "orders", "customers"]
    assert {r["channel"] for r in rows} == {"store", "web", "app", "phone", "partner"}
    target = tmp_path / "cube.parquet"
    code, out = _run("-w", cube_ws_path, "--by", "category", "--where", "channel = 'web'", "--format", "parquet",
                     "--output", target)  # fmt: skip
    assert code == 0, out
    table = pq.read_table(target)
    assert table.column_names == ["category", "grouping", "revenue", "orders", "customers"]
    assert table.schema.metadata[b"as_of"] == b"2025-09-30"


def test_scheme_and_list(cube_ws_path: Path) -> None:
    code, out = _run("-w", cube_ws_path, "--scheme", "hsbc", "--format", "csv")
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["basic", "relationship", "activity", "value_loyalty", "grouping", "customers", "revenue",
                             "clv"]  # fmt: skip
    assert rows[-1]["customers"] == "800"
    code, out = _run("-w", cube_ws_path, "--scheme", "hsbc", "--language", "zh", "--no-subtotals", "--format", "csv")
    assert code == 0 and "个人客户" in out and "顶级客户" in out
    code, out = _run("-w", cube_ws_path, "--list", "--format", "csv")
    assert code == 0, out
    listed = {(r["kind"], r["name"]) for r in csv.DictReader(io.StringIO(out))}
    assert {("dimension", "month"), ("dimension", "segment"), ("measure", "clv")} <= listed


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--measures", "revenu"), ("--measures: unknown measure 'revenu'; did you mean 'revenue'?",)),
        (("--by", "regoin,month"), ("--by: unknown dimension 'regoin'; did you mean 'region'?",)),
        (("--by", "region", "--where", "regoin = 'x'"), ("unknown column 'regoin'; did you mean 'region'?",)),
        (("--by", "region", "--where", "region ="), ("rule --where", "expected a column, a value or '('")),
        (("--subtotals", "rolup"), ("--subtotals must be rollup, cube or none; got 'rolup'",)),
        (("--by", "segment", "--segment-method", "rfmm"), ("--segment-method must be one of",)),
        (("--scheme", "hsbcc"), ("--scheme: the known scheme is hsbc",)),
        (("--scheme", "hsbc", "--by", "region"), ("leave out --by and --where",)),
        (("--scheme", "hsbc", "--subtotals", "cube"), ("rolls up its tree",)),
        (("--language", "zh"), ("--language applies to --scheme",)),
        (("--by", "segment", "--as-of", "2020-01-01"), ("no stored analysis as of 2020-01-01",)),
    ],
)
def test_one_line_errors(cube_ws_path: Path, argv: tuple, says: tuple) -> None:
    code, out = _run("-w", cube_ws_path, *argv)
    assert code == 2, out
    assert "Traceback" not in out
    assert len([line for line in out.splitlines() if line.startswith("error:")]) == 1, out
    for text in says:
        assert text in out, out


def test_missing_analysis(tmp_path: Path) -> None:
    from custlens.warehouse import Workspace

    Workspace.init(tmp_path / "ws").close()
    code, out = _run("-w", tmp_path / "ws", "--by", "segment")
    assert code == 2 and "no stored analysis yet" in out and "custlens analyze" in out
