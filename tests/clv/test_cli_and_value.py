"""The fit/clv commands (the form other tools script) and the CLV functions."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.clv import BetaGeo, GammaGamma, customer_lifetime_value, score_customers


def test_fit_json_keys(cdnow_summary_path) -> None:
    result = CliRunner().invoke(app, ["fit", "bgnbd", str(cdnow_summary_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"model", "params", "log_likelihood", "standard_errors", "n_customers", "converged"} <= set(out)
    assert out["params"]["r"] == pytest.approx(0.243, abs=5e-4)
    assert out["n_customers"] == 2357 and out["converged"] is True


def test_fit_sbg_and_bgbb(tmp_path, donations_path) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text("period,survivors\n0,1000\n1,631\n2,468\n3,382\n4,326\n5,289\n6,262\n7,241\n")
    out = json.loads(CliRunner().invoke(app, ["fit", "sbg", str(path), "--format", "json"]).stdout)
    assert out["params"]["alpha"] == pytest.approx(0.704, abs=5e-4)
    result = CliRunner().invoke(
        app,
        [
            "fit",
            "bgbb",
            str(donations_path),
            "--n-periods-col",
            "periods",
            "--weight-col",
            "weights",
            "--format",
            "json",
        ],
    )
    assert json.loads(result.stdout)["n_customers"] == 11104


def test_fit_missing_column_is_one_line_error(cdnow_summary_path) -> None:
    result = CliRunner().invoke(app, ["fit", "gg", str(cdnow_summary_path), "--format", "json"])
    assert result.exit_code == 2
    assert "monetary_value" in result.output and "Traceback" not in result.output


def test_clv_csv(cdnow_summary_monetary_path) -> None:
    args = [
        "clv",
        str(cdnow_summary_monetary_path),
        "--model",
        "pnbd",
        "--spend",
        "gg",
        "--horizon",
        "12",
        "--discount",
        "0.01",
        "--time-unit",
        "W",
        "--format",
        "csv",
        "--id-col",
        "ID",
        "--frequency-col",
        "x",
        "--recency-col",
        "t_x",
        "--monetary-col",
        "zbar",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pacsv.read_csv(io.BytesIO(result.stdout_bytes))
    assert table.column_names == ["customer_id", "p_alive", "expected_purchases", "expected_spend", "clv"]
    assert table.num_rows == 2357


def _cdnow_table(cdnow_money) -> pa.Table:
    return pa.table(
        {
            "customer_id": cdnow_money["ID"],
            "frequency": cdnow_money["x"],
            "recency": cdnow_money["t_x"],
            "T": cdnow_money["T"],
            "monetary_value": cdnow_money["zbar"],
        }
    )


def test_clv_definition_and_discounting(cdnow_money) -> None:
    x, t_x, T, z = cdnow_money["x"], cdnow_money["t_x"], cdnow_money["T"], cdnow_money["zbar"]
    bg = BetaGeo().fit(x, t_x, T)
    spend = GammaGamma().fit(x, z).conditional_expected_spend(x, z)
    undiscounted = customer_lifetime_value(bg, x, t_x, T, spend, horizon_months=12, monthly_discount=0.0)
    weeks = 12 * 365.25 / 12 / 7
    np.testing.assert_allclose(
        undiscounted.column("clv").to_numpy(), spend * bg.conditional_expected_purchases(weeks, x, t_x, T), rtol=1e-10
    )
    discrete = customer_lifetime_value(bg, x, t_x, T, spend, monthly_discount=0.02).column("clv").to_numpy()
    continuous = (
        customer_lifetime_value(bg, x, t_x, T, spend, monthly_discount=0.02, discounting="continuous")
        .column("clv")
        .to_numpy()
    )
    assert np.all(discrete <= undiscounted.column("clv").to_numpy() + 1e-12)
    # monthly-end discounting is slightly heavier than continuous discounting at the same rate
    assert np.all(continuous >= discrete - 1e-12)
    np.testing.assert_allclose(continuous, discrete, rtol=0.02)
    longer = customer_lifetime_value(bg, x, t_x, T, spend, horizon_months=24).column("clv").to_numpy()
    assert np.all(longer >= customer_lifetime_value(bg, x, t_x, T, spend).column("clv").to_numpy())


def test_score_customers_time_units(cdnow_money) -> None:
    weekly = score_customers(_cdnow_table(cdnow_money), model="bgnbd", time_unit="W")
    table = _cdnow_table(cdnow_money)
    days = table.set_column(2, "recency", pa.compute.multiply(table.column("recency"), 7.0))
    days = days.set_column(3, "T", pa.compute.multiply(days.column("T"), 7.0))
    daily = score_customers(days, model="bgnbd", time_unit="D")
    np.testing.assert_allclose(daily.column("clv").to_numpy(), weekly.column("clv").to_numpy(), rtol=1e-4)
    assert weekly.column_names == ["customer_id", "p_alive", "expected_purchases", "expected_spend", "clv"]


def test_fit_from_transaction_log(tmp_path) -> None:
    # three customers; weekly units: customer A bought in weeks 0, 1 and 3, B once, C twice
    log = tmp_path / "tx.csv"
    log.write_text(
        "customer_id,ordered_at,amount\n"
        "A,2024-01-01,10\nA,2024-01-08,20\nA,2024-01-22,30\n"
        "B,2024-01-03,5\n"
        "C,2024-01-02,7\nC,2024-01-16,9\nD,2024-01-29,1\n"
    )
    from custlens.clv.tables import summary_from_transactions
    from custlens.ingest.readers import read_table

    summary = summary_from_transactions(read_table(log), time_unit="W").sort_by("customer_id")
    assert summary.column("frequency").to_pylist() == [2, 0, 1, 0]
    assert summary.column("recency").to_pylist()[0] == pytest.approx(3.0)
    assert summary.column("T").to_pylist()[0] == pytest.approx(4.0)
    assert summary.column("monetary_value").to_pylist()[0] == pytest.approx(25.0)
    result = CliRunner().invoke(app, ["fit", "sbg", str(log), "--transactions", "--format", "json"])
    assert result.exit_code == 2 and "--transactions" in result.output
