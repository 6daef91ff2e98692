"""The file commands on Spark (`--backend spark`) give what they give on DuckDB, CSV and Parquet alike."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custlens.cli import app

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

COMMANDS = {
    "summary": ["summary", "{file}", "--amount-col", "amount", "--time-unit", "W"],
    "rfm": ["segment", "rfm", "{file}", "--all-columns"],
    "lifecycle": ["segment", "lifecycle", "{file}"],
    "state": ["segment", "state", "{file}"],
}

FITS = ["bgnbd", "pnbd", "gg"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from custlens.synth import write_company

    folder = tmp_path_factory.mktemp("company")
    paths = write_company(folder, n_transactions=4_000, fmt="csv", seed=11)
    csv = paths["transactions"]
    table = pacsv.read_csv(csv, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    parquet_ns, parquet_us = folder / "transactions_ns.parquet", folder / "transactions_us.parquet"
    pq.write_table(table, parquet_ns)  # nanoseconds, as pandas writes them: Spark cannot read those
    pq.write_table(table, parquet_us, coerce_timestamps="us")  # read by Spark itself
    return {"csv": csv, "parquet_ns": parquet_ns, "parquet_us": parquet_us}


def _run(argv: list[str]) -> list[dict]:
    result = CliRunner().invoke(app, [*argv, "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    rows = json.loads(result.stdout)
    return sorted(rows, key=lambda r: str(r.get("customer_id")))


@pytest.mark.parametrize("kind", ["csv", "parquet_ns", "parquet_us"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_spark_equals_duckdb(spark_session: object, files: dict[str, Path], command: str, kind: str) -> None:
    argv = [a.format(file=files[kind]) for a in COMMANDS[command]]
    on_duckdb = _run(argv)
    on_spark = _run([*argv, "--backend", "spark"])
    assert len(on_duckdb) > 100
    assert len(on_spark) == len(on_duckdb)
    for a, b in zip(on_duckdb, on_spark, strict=True):
        assert a.keys() == b.keys()
        for key, value in a.items():
            if isinstance(value, float):
                assert b[key] == pytest.approx(value, rel=1e-9, abs=1e-9), (key, a, b)
            else:
                assert b[key] == value, (key, a, b)


def test_an_unknown_backend_is_one_error_line(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["summary", str(files["csv"]), "--backend", "oracle"])
    assert result.exit_code == 2
    assert "'oracle'" in result.output and "duckdb, spark" in result.output


def test_missing_cells_read_alike(spark_session: object, tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    lines = ["customer_id,ordered_at,amount,note"]
    lines += [
        f"00{i % 7},2024-0{1 + i % 9}-1{i % 10},{'NA' if i % 5 == 0 else i * 1.5},{'N/A' if i % 3 else 'x'}"
        for i in range(60)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["summary", str(path), "--amount-col", "amount"]
    assert _run([*argv, "--backend", "spark"]) == _run(argv)


@pytest.mark.parametrize("model", FITS)
def test_fit_from_a_log_on_spark_equals_duckdb(spark_session: object, files: dict[str, Path], model: str) -> None:
    import json

    argv = ["fit", model, str(files["parquet_us"]), "--transactions", "--format", "json"]
    runs = []
    for extra in ([], ["--backend", "spark"]):
        result = CliRunner().invoke(app, [*argv, *extra])
        assert result.exit_code == 0, result.output
        runs.append(json.loads(result.stdout))
    on_duckdb, on_spark = runs
    assert on_spark["n_customers"] == on_duckdb["n_customers"] > 100
    assert on_spark["log_likelihood"] == pytest.approx(on_duckdb["log_likelihood"], rel=1e-9)
    for name, value in on_duckdb["params"].items():
        assert on_spark["params"][name] == pytest.approx(value, rel=1e-6)
