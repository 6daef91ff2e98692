"""`custlens generate` writes the tables, summarises them and reports bad input in one line."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from custlens.cli import app
from custlens.schema import TABLES
from custlens.synth import CompanyParams, generate_company


def _flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


def test_generate_writes_every_table(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate", str(tmp_path / "out"), "--customers", "700", "--seed", "5"])
    assert result.exit_code == 0, result.output
    memory = generate_company(700, seed=5)
    for name in TABLES:
        path = tmp_path / "out" / f"{name}.parquet"
        assert pq.read_table(path).equals(memory.tables()[name]), name
        assert name in result.output
    assert f"{memory.transactions.num_rows:,}" in result.output


def test_generate_csv_and_period(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["generate", str(tmp_path), "-n", "300", "--format", "csv", "--start", "2024-01-01", "--end", "2024-06-30"]
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "transactions.csv").read_text(encoding="utf-8")
    dates = {line.split(",")[3][:7] for line in text.splitlines()[1:]}
    assert dates <= {f"2024-0{m}" for m in range(1, 7)}


def test_generate_reports_bad_input_with_exit_code_2(tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(app, ["generate", str(tmp_path), "--customers", "10", "--transactions", "50"])
    assert both.exit_code == 2
    assert "either 'n_customers' or 'n_transactions'" in _flat(both.output)
    assert "Traceback" not in both.output
    bad_date = runner.invoke(app, ["generate", str(tmp_path), "--end", "2025-02-30"])
    assert bad_date.exit_code == 2 and "--end must be a date" in _flat(bad_date.output)


def test_generate_reads_parameters_from_toml(tmp_path: Path) -> None:
    spec = tmp_path / "params.toml"
    spec.write_text('process = "bg_nbd"\ncorporate_share = 1.0\nalpha = 4\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["generate", str(tmp_path / "out"), "-n", "200", "--params", str(spec)])
    assert result.exit_code == 0, result.output
    expected = generate_company(200, params=CompanyParams(process="bg_nbd", corporate_share=1.0, alpha=4))
    written = pq.read_table(tmp_path / "out" / "transactions.parquet")
    assert written.equals(expected.transactions)
    assert set(pq.read_table(tmp_path / "out" / "customers.parquet")["customer_type"].to_pylist()) == {"corporate"}


def test_generate_names_a_bad_parameter_file(tmp_path: Path) -> None:
    spec = tmp_path / "params.toml"
    spec.write_text("[params]\nbeta_ = 3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["generate", str(tmp_path / "out"), "--params", str(spec)])
    assert result.exit_code == 2
    assert "unknown parameter(s) 'beta_'" in _flat(result.output) and "params.toml" in result.output
    spec.write_text("return_rate = 0.9\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["generate", str(tmp_path / "out"), "--params", str(spec)])
    assert result.exit_code == 2 and "'return_rate' parameter of CompanyParams" in _flat(result.output)
    spec.write_text("return_rate = \n", encoding="utf-8")
    result = CliRunner().invoke(app, ["generate", str(tmp_path / "out"), "--params", str(spec)])
    assert result.exit_code == 2 and "not valid TOML" in _flat(result.output)
    missing = CliRunner().invoke(app, ["generate", str(tmp_path / "out"), "--params", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
