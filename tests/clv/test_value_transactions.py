"""Valuing a transaction log in its engine: the same models and values as the summary path.

``value_transactions`` fits on the engine's sufficient statistics (distinct rows with their
counts) and scores with ``value_customers``; the per-customer path (``summary_from_transactions``
then ``value_customers``) is the reference it must agree with. The Spark side is compared
with this DuckDB path in ``tests/warehouse/test_spark_clv.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.clv import value_customers, value_transactions
from custlens.clv.tables import summary_from_transactions
from custlens.errors import InputError

#: Relative tolerance between a fit on distinct rows with weights and one on every customer:
#: the likelihood is the same sum, added in another order, so the optimiser stops within this.
REL = 1e-6
#: Relative tolerance of the estimates of two fits on the same data summed in another order
#: (see :func:`assert_same_fit`).
FIT_REL = 1e-5
COLUMNS = ("customer_id", "p_alive", "expected_purchases", "expected_spend", "clv")


@pytest.fixture(scope="module")
def log(cdnow_master_path: Path) -> pa.Table:
    rows = [line.split() for line in cdnow_master_path.read_text().splitlines()[1:] if line.strip()]
    rows = [r for r in rows if float(r[3]) > 0]  # a few $0 lines would give a repeat spend of 0 (refused by GG)
    ids, days, _, amounts = zip(*rows)
    return pa.table({"customer_id": list(ids), "ordered_at": list(days), "amount": [float(a) for a in amounts]})


@pytest.mark.parametrize("model", ["bgnbd", "pnbd"])
@pytest.mark.parametrize("spend", ["gg", None])
def test_a_log_is_valued_as_its_summary(log: pa.Table, model: str, spend: str | None) -> None:
    got = value_transactions(log, model=model, spend=spend, time_unit="W", horizon_months=6, monthly_discount=0.02)
    summary = summary_from_transactions(log, time_unit="W").sort_by("customer_id")
    options = {"time_unit": "W", "horizon_months": 6, "monthly_discount": 0.02}
    # the same fitted models score the summary alike (DuckDB's means may differ in the last bit between queries) ...
    same = value_customers(summary, model=got.purchase_model, spend=got.spend_model, **options)
    assert got.table["customer_id"].equals(same.table["customer_id"])
    for name in ("p_alive", "expected_purchases", "expected_spend", "clv"):
        np.testing.assert_allclose(got.table[name].to_numpy(), same.table[name].to_numpy(), rtol=1e-12, atol=0)
    # ... and the models equal those fitted on every customer's row
    direct = value_customers(summary, model=model, spend=spend, **options)
    for mine, theirs in [(got.purchase_model, direct.purchase_model), (got.spend_model, direct.spend_model)]:
        if theirs is None:
            assert mine is None
            continue
        for name, value in theirs.params_.items():
            assert mine.params_[name] == pytest.approx(value, rel=REL), name
    assert got.table.num_rows == summary.num_rows > 23_000
    assert got.settings["model"] == model and got.settings["spend"] == spend


def test_the_options_are_checked_before_any_work(log: pa.Table) -> None:
    with pytest.raises(InputError, match="'model' must be one of"):
        value_transactions(log, model="bgbb")
    with pytest.raises(InputError, match="'horizon_months'"):
        value_transactions(log, horizon_months=0)
    with pytest.raises(InputError, match="'amount_col' 'value'"):
        value_transactions(log, amount_col="value")
    assert value_transactions(log.drop(["amount"]), spend=None, amount_col="value").table.num_rows > 23_000


def _cli(argv: list[str]) -> object:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A DuckDB workspace of the demo company (300 customers) and its transactions table as a Parquet log."""
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company

    folder = tmp_path_factory.mktemp("clv-ws")
    files = write_company(folder / "company", n_customers=300, seed=11)
    with init_workspace(folder / "ws") as ws:
        for name in ("customers", "transactions"):
            import_file(ws, files[name], table=name)
        log = ws.table("transactions").to_pyarrow()
    path = folder / "transactions.parquet"
    pq.write_table(log, path, coerce_timestamps="us")
    return folder / "ws", path


def test_fit_and_clv_on_a_workspace_equal_the_log_commands(workspace: tuple[Path, Path]) -> None:
    ws, path = workspace
    for model in ("bgnbd", "gg"):
        on_ws = _cli(["fit", model, "--workspace", str(ws), "--time-unit", "M"])
        on_log = _cli(["fit", model, str(path), "--transactions", "--time-unit", "M"])
        assert_same_fit(on_ws, on_log)
    on_ws = _cli(["clv", "-w", str(ws), "--model", "pnbd", "--format", "json"])
    on_log = _cli(["clv", str(path), "--transactions", "--model", "pnbd", "--format", "json"])
    assert_same_rows(on_ws, on_log)
    assert len(on_ws) > 200 and list(on_ws[0]) == list(COLUMNS)


def test_as_of_cuts_the_log_on_a_workspace_and_a_file_alike(workspace: tuple[Path, Path]) -> None:
    """``--as-of`` is the library's ``as_of``: later lines left out, T measured to that day."""
    from custlens.clv.tables import fit_summary, summary_from_transactions

    ws, path = workspace
    log = pq.read_table(path)
    day = "2024-06-30"
    by_library = fit_summary("bgnbd", summary_from_transactions(log, time_unit="M", as_of=day))
    on_ws = _cli(["fit", "bgnbd", "-w", str(ws), "--time-unit", "M", "--as-of", day])
    on_log = _cli(["fit", "bgnbd", str(path), "--transactions", "--time-unit", "M", "--as-of", day])
    assert_same_fit(by_library, on_ws)
    assert_same_fit(on_ws, on_log)
    whole = _cli(["fit", "bgnbd", "-w", str(ws), "--time-unit", "M"])
    assert on_ws["n_customers"] < whole["n_customers"]  # customers who first bought later are left out
    on_ws = _cli(["clv", "-w", str(ws), "--model", "bgnbd", "--spend", "none", "--as-of", day, "--format", "json"])
    on_log = _cli(
        ["clv", str(path), "--transactions", "--model", "bgnbd", "--spend", "none", "--as-of", day, "--format", "json"]
    )
    assert_same_rows(on_ws, on_log)
    assert len(on_ws) == on_ws_customers(log, day)


def on_ws_customers(log: pa.Table, day: str) -> int:
    """Customers with a purchase on or before ``day`` (UTC)."""
    import datetime as dt

    import pyarrow.compute as pc

    end = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    kept = log.filter(pc.less(log["ordered_at"], pa.scalar(end, log.schema.field("ordered_at").type)))
    return len(pc.unique(kept["customer_id"]))


def assert_same_fit(a: Any, b: Any) -> None:
    """Two ``custlens fit`` outputs on the same data summed in another order.

    The log-likelihoods agree to 1e-9 relative; the estimates to :data:`FIT_REL` (the
    Gamma-Gamma likelihood is flat along a ridge of (p, q, gamma), so last-bit differences
    in the mean spends move the optimiser's stopping point by about 1e-6 relative);
    ``n_iter`` and ``standard_errors`` may differ and are not compared.
    """
    assert a["model"] == b["model"] and a["n_customers"] == b["n_customers"] and a["converged"] and b["converged"]
    assert b["log_likelihood"] == pytest.approx(a["log_likelihood"], rel=1e-9)
    assert a["params"].keys() == b["params"].keys()
    for name, value in a["params"].items():
        assert b["params"][name] == pytest.approx(value, rel=FIT_REL), name


def assert_same_rows(a: Any, b: Any) -> None:
    """Two ``custlens clv`` outputs: the same customers in the same order, values within :data:`REL`."""
    assert [r["customer_id"] for r in a] == [r["customer_id"] for r in b]
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for key, value in x.items():
            if isinstance(value, float):
                assert y[key] == pytest.approx(value, rel=REL, abs=1e-12), (key, x, y)
            else:
                assert y[key] == value


ERRORS = {
    "fit, neither": (["fit", "bgnbd"], "give either DATA_FILE or --workspace W (exactly one)"),
    "fit, both": (["fit", "bgnbd", "x.csv", "-w", "ws"], "give either DATA_FILE or --workspace W (exactly one)"),
    "clv, neither": (["clv"], "give either DATA_FILE or --workspace W (exactly one)"),
    "clv, both": (["clv", "x.csv", "--workspace", "ws"], "give either DATA_FILE or --workspace W (exactly one)"),
    "fit bgbb on a workspace": (["fit", "bgbb", "-w", "ws"], "fit bgbb needs a summary file, not --workspace"),
    "fit sbg on a workspace": (["fit", "sbg", "-w", "ws"], "fit sbg needs a summary file, not --workspace"),
    "fit --backend on a workspace": (["fit", "gg", "-w", "{ws}", "--backend", "spark"], "applies to a data file"),
    "clv --backend on a workspace": (["clv", "-w", "{ws}", "--backend", "spark"], "applies to a data file"),
    "clv --backend on a summary": (["clv", "x.csv", "--backend", "spark"], "--backend applies to a transaction log"),
    "fit --as-of on a summary": (
        ["fit", "bgnbd", "x.csv", "--as-of", "2024-06-30"],
        "--as-of applies to a transaction",
    ),
    "clv --as-of on a summary": (["clv", "x.csv", "--as-of", "2024-06-30"], "--as-of applies to a transaction log"),
    "clv --as-of not a date": (["clv", "-w", "{ws}", "--as-of", "2024-13-01"], "--as-of"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_a_wrong_source_is_one_error_line(case: str, workspace: tuple[Path, Path]) -> None:
    argv, message = ERRORS[case]
    result = CliRunner().invoke(app, [a.format(ws=workspace[0]) for a in argv])
    assert result.exit_code == InputError.exit_code, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
