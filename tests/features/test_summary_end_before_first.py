"""`custlens summary --end` before the first purchase is an input error, not an empty table."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from custlens.cli import app


def test_end_before_first_transaction(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("customer,date,amount\nc1,2024-03-01,10\nc1,2024-04-01,5\n", encoding="utf-8")
    args = ["summary", str(path), "--customer-col", "customer", "--date-col", "date", "--format", "csv"]
    result = CliRunner().invoke(app, [*args, "--end", "2024-01-01"])
    assert result.exit_code == 2
    assert "before the first transaction (2024-03-01)" in " ".join(result.output.split())
    ok = CliRunner().invoke(app, [*args, "--end", "2024-03-01"])
    assert ok.exit_code == 0 and "c1,0,0,0" in ok.stdout.replace('"', "")
