"""`fit` and `clv` on a Spark workspace and on a log read by Spark give what they give on DuckDB."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custlens.cli import app

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

#: Relative tolerance of the values: the engines sum in another order (Spark's partitions,
#: DuckDB's threads), so the statistics and the estimates fitted on them agree to the last
#: digits, not bits.
REL = 1e-6
#: Relative tolerance of the estimates: the Gamma-Gamma likelihood is flat along a ridge of
#: (p, q, gamma), and last-bit differences in the mean spends move the optimiser's stopping
#: point by about 1e-6 relative (the log-likelihoods agree to 1e-9).
FIT_REL = 1e-5


def _cli(argv: list[str]) -> Any:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def workspaces(spark_session: object, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo company (300 customers) in a DuckDB workspace and in a Spark workspace made from it."""
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company

    folder = tmp_path_factory.mktemp("spark-clv")
    files = write_company(folder / "company", n_customers=300, seed=11)
    duck, spark = folder / "duck", folder / "spark"
    with init_workspace(duck) as ws:
        for name in ("customers", "transactions"):
            import_file(ws, files[name], table=name)
    result = CliRunner().invoke(app, ["init", str(spark), "--backend", "spark", "--from", str(duck)])
    assert result.exit_code == 0, result.output
    return duck, spark


def _same_fit(a: Any, b: Any) -> None:
    assert a["model"] == b["model"] and a["n_customers"] == b["n_customers"] > 100
    assert a["converged"] and b["converged"]
    assert b["log_likelihood"] == pytest.approx(a["log_likelihood"], rel=1e-9)
    assert a["params"].keys() == b["params"].keys()
    for name, value in a["params"].items():
        assert b["params"][name] == pytest.approx(value, rel=FIT_REL), name


def _same_rows(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert len(a) > 200
    assert [r["customer_id"] for r in a] == [r["customer_id"] for r in b]  # the same order
    for x, y in zip(a, b, strict=True):
        assert list(x) == list(y) == ["customer_id", "p_alive", "expected_purchases", "expected_spend", "clv"]
        for key in list(x)[1:]:
            assert y[key] == pytest.approx(x[key], rel=REL, abs=1e-12), (key, x, y)


@pytest.mark.parametrize("model", ["bgnbd", "gg"])
def test_fit_on_a_spark_workspace_equals_duckdb(workspaces: tuple[Path, Path], model: str) -> None:
    duck, spark = workspaces
    argv = ["fit", model, "--time-unit", "W", "-w"]
    _same_fit(_cli([*argv, str(duck)]), _cli([*argv, str(spark)]))


def test_clv_on_a_spark_workspace_equals_duckdb(workspaces: tuple[Path, Path]) -> None:
    duck, spark = workspaces
    argv = ["clv", "--model", "pnbd", "--horizon", "24", "--format", "json", "-w"]
    _same_rows(_cli([*argv, str(duck)]), _cli([*argv, str(spark)]))


def test_clv_of_a_log_on_spark_equals_duckdb(workspaces: tuple[Path, Path], tmp_path: Path) -> None:
    """The Spark workspace's own transactions file as a log: Spark scores it on the executors."""
    duck, spark = workspaces
    log = spark / "tables" / "transactions.parquet"
    argv = ["clv", str(log), "--transactions", "--time-unit", "D", "--format", "json"]
    on_duckdb = _cli(argv)
    _same_rows(on_duckdb, _cli([*argv, "--backend", "spark"]))
    # the output path writes the Spark result like any other
    out = tmp_path / "clv.parquet"
    result = CliRunner().invoke(app, [*argv[:-2], "--backend", "spark", "--format", "parquet", "-o", str(out)])
    assert result.exit_code == 0, result.output
    _same_rows(on_duckdb, pq.read_table(out).to_pylist())
