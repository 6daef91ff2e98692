"""`custlens summary`: the scripted form on the CDNOW log, date forms, errors, workspaces."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from custlens.cli import app

from .test_history import independent_summary

runner = CliRunner()


def _csv(output: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(output), dtype={"customer_id": str})


@pytest.mark.parametrize(
    ("freq", "flags"), [("D", ("--end", "--freq")), ("W", ("--as-of", "--time-unit")), ("M", ("--end", "--time-unit"))]
)
def test_scripted_form_on_cdnow(
    cdnow_master_path: Path, cdnow_master: pd.DataFrame, freq: str, flags: tuple[str, str]
) -> None:
    """Both spellings of the as-of and time-unit options (--end and --freq are aliases)."""
    result = runner.invoke(
        app,
        [
            "summary",
            str(cdnow_master_path),
            "--customer-col",
            "customer_id",
            "--date-col",
            "date",
            "--amount-col",
            "dollar_value",
            flags[0],
            "1998-06-30",
            flags[1],
            freq,
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    got = _csv(result.stdout)
    assert list(got.columns) == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert len(got) == 23_570 and got["customer_id"].iloc[0] == "00001"  # zeros kept
    want = independent_summary(cdnow_master, "1998-06-30", freq)
    got = got.set_index("customer_id")
    assert got.index.equals(want.index)
    np.testing.assert_allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float), atol=1e-6)


@pytest.mark.parametrize(
    ("dates", "extra"),
    [
        (["2024-01-01", "2024-01-08 10:30:00", "2024-01-15T23:00:00+08:00"], []),
        ([20240101, 20240108, 20240115], []),
        (["01/01/2024", "08/01/2024", "15/01/2024"], ["--date-format", "%d/%m/%Y"]),
        (["2024/01/01", "20240108", "2024-01-15 10:00:00.250"], []),
    ],
)
def test_date_forms(tmp_path: Path, dates: list, extra: list[str]) -> None:
    path = tmp_path / "tx.csv"
    pd.DataFrame({"cust": ["k", "k", "k"], "when": dates, "spend": [1, 2, 4]}).to_csv(path, index=False)
    result = runner.invoke(
        app,
        [
            "summary",
            str(path),
            "--customer-col",
            "cust",
            "--date-col",
            "when",
            "--amount-col",
            "spend",
            "--time-unit",
            "D",
            "--format",
            "csv",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    # 2024-01-15T23:00+08:00 is 15:00 UTC, still the 15th: days 0, 7, 14
    assert _csv(result.stdout).iloc[0].tolist() == ["k", 2, 14.0, 14.0, 3.0]


def test_parquet_input_and_no_amount(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "tx.parquet"
    pq.write_table(
        pa.table(
            {
                "c": [1, 1, 2],
                "d": pa.array([pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01")]),
            }
        ),
        path,
    )
    result = runner.invoke(
        app, ["summary", str(path), "--customer-col", "c", "--date-col", "d", "--freq", "M", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    got = _csv(result.stdout)
    assert got["customer_id"].tolist() == ["1", "2"]
    assert got["T"].tolist() == [2.0, 0.0] and got["monetary_value"].isna().all()


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (
            "customer,d\n1,2024-01-01\n",
            ["--customer-col", "custmer", "--date-col", "d"],
            "did you mean 'customer'? (columns: customer, d)",
        ),
        ("c,d\n1,2024-01-01\n2,2024-02-30\n", ["--customer-col", "c", "--date-col", "d"], "row 3, value '2024-02-30'"),
        ("c,d\n1,2024-01-01\n2,soon\n", ["--customer-col", "c", "--date-col", "d"], "row 3, value 'soon'"),
        (
            "c,d,a\n1,2024-01-01,x1\n",
            ["--customer-col", "c", "--date-col", "d", "--amount-col", "a"],
            "row 2, value 'x1'",
        ),
        # the library names 'time_unit' and 'as_of'; the error reporter may spell them as the flags
        ("c,d\n1,2024-01-01\n", ["--customer-col", "c", "--date-col", "d", "--freq", "Y"], "must be one of D (days)"),
        (
            "c,d\n1,2024-01-01\n",
            ["--customer-col", "c", "--date-col", "d", "--end", "31.1.2024"],
            "must be a date (ISO like 2024-01-31",
        ),
        (
            "c,d\n1,2024-01-01\n",
            ["--customer-col", "c", "--date-col", "d", "--date-format", "%d/%Q/%Y"],
            "unknown directive '%Q'",
        ),
    ],
)
def test_errors_are_one_line_with_exit_code_2(tmp_path: Path, content: str, args: list[str], message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["summary", str(path), *args, "--format", "csv"])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_needs_exactly_one_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["summary", "--format", "csv"])
    assert result.exit_code == 2
    assert "TRANSACTIONS_FILE or --workspace" in " ".join(result.output.split())


def test_workspace_option(tmp_path: Path) -> None:
    from custlens.warehouse import Workspace

    lines = pa.table(
        {
            "order_id": ["o1", "o2", "o3"],
            "line": [1, 1, 1],
            "customer_id": ["a", "a", "b"],
            "ordered_at": pa.array(
                [
                    pd.Timestamp("2024-01-01", tz="UTC"),
                    pd.Timestamp("2024-01-11", tz="UTC"),
                    pd.Timestamp("2024-01-05", tz="UTC"),
                ]
            ),
            "amount": [5.0, 8.0, 3.0],
            "return_flag": [False, False, False],
        }
    )
    with Workspace.init(tmp_path / "ws") as ws:
        ws.raw.register("incoming", lines)
        ws.raw.execute(
            "INSERT INTO transactions (order_id, line, customer_id, ordered_at, "
            "amount, return_flag) SELECT * FROM incoming"
        )
    result = runner.invoke(app, ["summary", "--workspace", str(tmp_path / "ws"), "--time-unit", "D", "--format", "csv"])
    assert result.exit_code == 0, result.output
    got = _csv(result.stdout)
    assert got.values.tolist() == [["a", 1, 10.0, 10.0, 8.0], ["b", 0, 0.0, 6.0, 0.0]]


def test_default_time_unit_is_the_week(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("c,d\nk,2024-01-01\nk,2024-01-15\nk,2024-01-29\n", encoding="utf-8")
    args = ["summary", str(path), "--customer-col", "c", "--date-col", "d", "--format", "csv"]
    weekly = runner.invoke(app, args)
    assert weekly.exit_code == 0, weekly.output
    assert _csv(weekly.stdout).iloc[0].tolist()[:4] == ["k", 2, 4.0, 4.0]
    assert runner.invoke(app, [*args, "--time-unit", "W"]).stdout == weekly.stdout
