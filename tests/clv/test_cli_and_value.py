"""The fit/clv commands (the form other tools script) and the CLV functions."""

from __future__ import annotations

import inspect
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from custlens.churn import churn_report, churn_table
from custlens.cli import app, load_all
from custlens.clv import BetaGeo, GammaGamma, customer_lifetime_value, fit_summary, value_customers
from custlens.clv.tables import summary_from_transactions


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


def test_value_customers_time_units(cdnow_money) -> None:
    weekly = value_customers(_cdnow_table(cdnow_money), model="bgnbd", time_unit="W").table
    table = _cdnow_table(cdnow_money)
    days = table.set_column(2, "recency", pa.compute.multiply(table.column("recency"), 7.0))
    days = days.set_column(3, "T", pa.compute.multiply(days.column("T"), 7.0))
    daily = value_customers(days, model="bgnbd", time_unit="D").table
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
    # the library names its parameter ('transactions'); the CLI layer may show it as --transactions
    assert result.exit_code == 2 and "transactions" in result.output and "not sbg" in result.output


CDNOW_COLUMNS = ["--id-col", "ID", "--frequency-col", "x", "--recency-col", "t_x", "--monetary-col", "zbar"]


def _clv_cli(path, *options: str) -> pa.Table:
    result = CliRunner().invoke(app, ["clv", str(path), *CDNOW_COLUMNS, "--format", "csv", *options])
    assert result.exit_code == 0, result.output
    return pacsv.read_csv(io.BytesIO(result.stdout_bytes))


def test_clv_cli_margin_and_defaults(cdnow_summary_monetary_path, cdnow_money) -> None:
    library = value_customers(_cdnow_table(cdnow_money)).table.column("clv").to_numpy()
    # no option at all: the library defaults (12 months, 1% a month, margin 1, gg, weeks)
    plain = _clv_cli(cdnow_summary_monetary_path).column("clv").to_numpy()
    np.testing.assert_allclose(plain, library, rtol=1e-6)
    # the options of docs/cli.md before the defaults existed still work and agree
    spelled = _clv_cli(cdnow_summary_monetary_path, "--horizon", "12", "--discount", "0.01", "--spend", "gg")
    np.testing.assert_allclose(spelled.column("clv").to_numpy(), library, rtol=1e-6)
    margin = _clv_cli(cdnow_summary_monetary_path, "--margin", "0.3").column("clv").to_numpy()
    np.testing.assert_allclose(margin, 0.3 * library, rtol=1e-6)
    observed = _clv_cli(cdnow_summary_monetary_path, "--spend", "none")
    np.testing.assert_allclose(observed.column("expected_spend").to_numpy(), cdnow_money["zbar"], rtol=1e-6)
    result = CliRunner().invoke(app, ["clv", str(cdnow_summary_monetary_path), *CDNOW_COLUMNS, "--margin", "-1"])
    assert result.exit_code == 2 and "--margin" in result.output and "-1" in result.output


def _cli_defaults(command: str) -> dict[str, object]:
    group = load_all()
    params = group.commands[command].params  # type: ignore[attr-defined]
    return {p.name: getattr(p.default, "value", p.default) for p in params}


def _library_defaults(*functions) -> dict[str, object]:
    out: dict[str, object] = {}
    for fn in functions:
        out |= {name: p.default for name, p in inspect.signature(fn).parameters.items()}
    return out


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


# command -> (library functions it calls, {CLI parameter: (library parameter, CLI text -> library value)})
SAME = None
CLI_TO_LIBRARY = {
    "clv": (
        (value_customers,),
        {
            "horizon": ("horizon_months", SAME),
            "discount": ("monthly_discount", SAME),
            "margin": ("margin", SAME),
            "model": ("model", SAME),
            "spend": ("spend", lambda v: None if v == "none" else v),  # --spend none is spend=None
            "time_unit": ("time_unit", SAME),
        },
    ),
    "fit": (
        (fit_summary, summary_from_transactions),
        {"penalizer": ("penalizer", SAME), "time_unit": ("time_unit", SAME)},
    ),
    # churn --model is left out on purpose: the CLI fits bgnbd when the file has no p_alive,
    # the library (churn_table(model=None)) only when asked to
    "churn": (
        (churn_table, churn_report),
        {
            "time_unit": ("time_unit", SAME),
            "horizon": ("horizon_months", SAME),
            "discount": ("monthly_discount", SAME),
            "margin": ("margin", SAME),
            "value_column": ("value_column", SAME),
            "band_on": ("band_on", SAME),
            "as_of": ("as_of", SAME),
            "top": ("top", SAME),
            "p_alive_thresholds": ("p_alive_thresholds", _floats),
            "overdue_thresholds": ("overdue_thresholds", _floats),
            "bands": ("bands", _words),
        },
    ),
}


@pytest.mark.parametrize("command", list(CLI_TO_LIBRARY))
def test_cli_defaults_equal_library_defaults(command: str) -> None:
    functions, mapping = CLI_TO_LIBRARY[command]
    library = _library_defaults(*functions)
    cli = _cli_defaults(command)
    for option, (parameter, convert) in mapping.items():
        got = cli[option] if convert is SAME else convert(cli[option])
        expected = library[parameter]
        expected = tuple(expected) if isinstance(expected, (list, tuple)) else expected
        assert got == expected, f"custlens {command} --{option.replace('_', '-')}: {got!r} != {parameter}={expected!r}"
