"""The churn command."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from custlens.cli import app

runner = CliRunner()


def write_summary(path: Path) -> Path:
    pacsv.write_csv(
        pa.table(
            {
                "customer_id": ["a", "b", "c", "d", "e"],
                "frequency": [2, 0, 5, 1, 3],
                "recency": [20.0, 0.0, 50.0, 5.0, 30.0],
                "T": [40.0, 30.0, 52.0, 60.0, 31.0],
                "p_alive": [0.8, 0.5, 0.95, 0.1, 0.3],
                "clv": [100.0, 20.0, 300.0, 50.0, 80.0],
            }
        ),
        path,
    )
    return path


def test_churn_with_p_alive_in_file(tmp_path: Path) -> None:
    f = write_summary(tmp_path / "s.csv")
    result = runner.invoke(app, ["churn", str(f), "--as-of", "2024-06-30", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["customer_id"] for r in rows] == ["e", "d", "b"]
    assert rows[0]["rank"] == 1 and rows[0]["value_at_stake"] == pytest.approx(56.0)
    # the default time unit is the week, as in the library: e bought last 31 - 30 = 1 week ago,
    # and its next order (gap 30 / 3 = 10 weeks) is due 9 weeks = 63 days after the as-of date
    assert rows[0]["days_since_last"] == pytest.approx(7.0)
    assert str(rows[0]["expected_next_order"]).startswith("2024-09-01")


def test_churn_thresholds_and_top(tmp_path: Path) -> None:
    f = write_summary(tmp_path / "s.csv")
    result = runner.invoke(
        app, ["churn", str(f), "--band-on", "overdue", "--bands", "lost,high", "--top", "1", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 1 and rows[0]["customer_id"] == "d"  # 55 weeks since last vs a 5-week rhythm


def test_churn_bad_input(tmp_path: Path) -> None:
    f = write_summary(tmp_path / "s.csv")
    result = runner.invoke(app, ["churn", str(f), "--p-alive-thresholds", "0.2,0.5,0.1"])
    assert result.exit_code == 2 and "strictly decreasing" in " ".join(result.stderr.split())
    result = runner.invoke(app, ["churn", str(f), "--columns", "customer_id"])
    assert result.exit_code == 2 and "NAME=COLUMN" in " ".join(result.stderr.split())
    result = runner.invoke(app, ["churn", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2


def test_churn_fits_a_model_when_p_alive_is_missing(cdnow_summary_monetary_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "churn",
            str(cdnow_summary_monetary_path),
            "--time-unit",
            "W",
            "--top",
            "10",
            "--columns",
            "customer_id=ID,frequency=x,recency=t_x,monetary_value=zbar",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 10
    stakes = [r["value_at_stake"] for r in rows]
    assert stakes == sorted(stakes, reverse=True)
    assert all(0 <= r["p_alive"] <= 1 for r in rows)
