"""`custlens init` and `custlens import`: exit codes, summaries, help texts."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from custlens.cli import app

runner = CliRunner()


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


HEADER = "order_id,customer_id,ordered_at,amount\n"


def test_init_then_import_with_json_summary(tmp_path: Path) -> None:
    ws = tmp_path / "shop"
    result = runner.invoke(app, ["init", str(ws), "--max-reject-rate", "0.5"])
    assert result.exit_code == 0, result.output
    assert (ws / "warehouse.duckdb").is_file()
    src = tmp_path / "t.csv"
    src.write_text(HEADER + "o1,c1,2024-01-01,1\no1,c1,2024-01-01,1\no2,,2024-01-01,1\n")
    result = runner.invoke(app, ["import", str(src), "--table", "transactions", "-w", str(ws), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows_read"], summary["rows_loaded"], summary["rows_rejected"], summary["rows_duplicate"]) == (
        3,
        1,
        1,
        1,
    )
    assert Path(summary["quarantine"]).is_file()
    # the same file again is skipped (exit 0) or refused (exit 2)
    again = runner.invoke(app, ["import", str(src), "-t", "transactions", "-w", str(ws), "-f", "json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "skipped"
    refused = runner.invoke(app, ["import", str(src), "-t", "transactions", "-w", str(ws), "--on-repeat", "error"])
    assert refused.exit_code == 2 and "already imported" in flat(refused.output)


def test_exit_codes_for_bad_input_and_too_many_rejects(tmp_path: Path) -> None:
    ws = tmp_path / "shop"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "o1,,2024-01-01,1\n")
    result = runner.invoke(app, ["import", str(bad), "-t", "transactions", "-w", str(ws)])
    assert result.exit_code == 4 and "nothing was imported" in flat(result.output)
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["import", str(bad), "-t", "orders", "-w", str(ws)])
    assert result.exit_code == 2 and "unknown table 'orders'" in flat(result.output)
    result = runner.invoke(app, ["import", str(bad), "-t", "transactions", "-w", str(tmp_path)])
    assert result.exit_code == 2 and "not a custlens workspace" in flat(result.output)
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\ncustomer = "x"\n')
    result = runner.invoke(app, ["import", str(bad), "-t", "transactions", "-w", str(ws), "-m", str(mapping)])
    assert result.exit_code == 2 and "does not have" in flat(result.output)


def test_table_summary_and_help(tmp_path: Path) -> None:
    ws = tmp_path / "shop"
    runner.invoke(app, ["init", str(ws)])
    src = tmp_path / "t.csv"
    src.write_text(HEADER + "o1,c1,2024-01-01,1\n")
    result = runner.invoke(app, ["import", str(src), "-t", "transactions", "-w", str(ws)])
    assert result.exit_code == 0 and "rows_loaded" in result.stdout
    for command in ("init", "import"):
        help_text = runner.invoke(app, [command, "--help"]).output
        assert "Examples" in help_text
    assert "quarantine" in runner.invoke(app, ["import", "--help"]).output


def test_import_mode_upsert_reports_inserted_updated_unchanged(tmp_path: Path) -> None:
    ws = tmp_path / "shop"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    src = tmp_path / "customers.csv"
    src.write_text("customer_id,customer_type\nc1,personal\nc2,personal\n")
    first = runner.invoke(app, ["import", str(src), "-t", "customers", "-w", str(ws), "--mode", "upsert", "-f", "json"])
    assert first.exit_code == 0, first.output
    src.write_text("customer_id,customer_type\nc1,personal\nc2,corporate\nc3,personal\n")
    result = runner.invoke(
        app, ["import", str(src), "-t", "customers", "-w", str(ws), "--mode", "upsert", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["mode"], summary["rows_inserted"], summary["rows_updated"], summary["rows_unchanged"]) == (
        "upsert",
        1,
        1,
        1,
    )
    assert "1 new, 1 updated, 1 unchanged" in summary["message"]
    refused = runner.invoke(app, ["import", str(src), "-t", "transactions", "-w", str(ws), "--mode", "upsert"])
    assert refused.exit_code == 2 and "supported for the tables customers and receivables" in flat(refused.output)
    assert "upsert" in flat(runner.invoke(app, ["import", "--help"]).output)
