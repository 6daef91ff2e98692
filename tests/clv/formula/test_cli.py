"""The clv-formula commands: every documented form, and bad input (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.clv.formula import markov_value, recency_transition_matrix

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_simple_json() -> None:
    code, out, _ = run(
        "clv-formula",
        "simple",
        "--years",
        "5",
        "--annual-profit",
        "120",
        "--acquisition-cost",
        "100",
        "--format",
        "json",
    )
    assert code == 0
    assert json.loads(out)["clv"] == pytest.approx(500.0)


def test_simple_table() -> None:
    code, out, _ = run("clv-formula", "simple", "--years", "3", "--annual-profit", "10", "--acquisition-cost", "0")
    assert code == 0 and "clv" in out and "30" in out


def test_retention_infinite_and_finite() -> None:
    code, out, _ = run(
        "clv-formula", "retention", "--margin", "100", "--retention", "0.8", "--discount", "0.1", "--format", "json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["clv"] == pytest.approx(100 * 1.1 / 0.3)
    assert doc["horizon"] == "infinite" and doc["timing"] == "start"
    code, out, _ = run(
        "clv-formula",
        "retention",
        "--margin",
        "100",
        "--retention",
        "0.8",
        "--discount",
        "0.1",
        "--years",
        "3",
        "--acquisition-cost",
        "50",
        "--format",
        "json",
    )
    assert json.loads(out)["clv"] == pytest.approx(100 * (1 + 0.8 / 1.1 + (0.8 / 1.1) ** 2) - 50)


def test_retention_margin_multiple_timing() -> None:
    code, out, _ = run(
        "clv-formula",
        "retention",
        "--margin",
        "1",
        "--retention",
        "0.9",
        "--discount",
        "0.12",
        "--timing",
        "retained",
        "--format",
        "json",
    )
    assert code == 0
    assert round(json.loads(out)["clv"], 2) == 4.09  # Gupta & Lehmann (2003), Table 1


def test_migration_purchase_prob_json() -> None:
    code, out, _ = run(
        "clv-formula",
        "migration",
        "--purchase-prob",
        "0.3,0.2,0.05,0",
        "--rewards",
        "36,-4,-4,0",
        "--discount",
        "0.2",
        "--horizon",
        "4",
        "--format",
        "json",
    )
    assert code == 0
    doc = json.loads(out)
    assert list(doc) == ["values"]
    # phpOMS MetricsTest::testMailingSuccessEstimation, to half a unit of each value's last printed digit
    np.testing.assert_array_less(np.abs(np.asarray(doc["values"]) - [49.4, 2.69, -1.98, 0.0]), [5e-2, 5e-3, 5e-3, 5e-2])


def test_migration_matrix_file_forms(tmp_path: Path) -> None:
    P = recency_transition_matrix([0.5, 0.2, 0.1, 0.0])
    expected = markov_value(P, [100, 0, 0, 0], 0.1)
    plain = tmp_path / "p.csv"
    plain.write_text("\n".join(",".join(f"{v:.17g}" for v in row) for row in P))
    labelled = tmp_path / "labelled.csv"
    labelled.write_text(
        "state,r1,r2,r3,r4\n" + "\n".join(f"r{i + 1}," + ",".join(f"{v:.17g}" for v in row) for i, row in enumerate(P))
    )
    spaced = tmp_path / "p.txt"
    spaced.write_text("\n".join(" ".join(f"{v:.17g}" for v in row) for row in P))
    for f in (plain, labelled, spaced):
        code, out, err = run(
            "clv-formula",
            "migration",
            "--transition-matrix",
            str(f),
            "--rewards",
            "100,0,0,0",
            "--discount",
            "0.1",
            "--format",
            "json",
        )
        assert code == 0, err
        np.testing.assert_allclose(json.loads(out)["values"], expected)


def test_migration_table_output() -> None:
    code, out, _ = run("clv-formula", "migration", "--purchase-prob", "0.3,0", "--rewards", "10,0", "--discount", "0.1")
    assert code == 0 and "state" in out and "value" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["migration", "--purchase-prob", "0.3,1.2", "--rewards", "1,0", "--discount", "0.1"],
            "--purchase-prob must lie in [0, 1]",
        ),
        (
            ["migration", "--purchase-prob", "0.3,0.1,0", "--rewards", "1,0", "--discount", "0.1"],
            "2 rewards given for 3 states",
        ),
        (
            ["migration", "--purchase-prob", "0.3,0", "--rewards", "1,0", "--discount", "-0.1"],
            "--discount must be >= 0",
        ),
        (
            ["migration", "--purchase-prob", "0.3,x", "--rewards", "1,0", "--discount", "0.1"],
            "--purchase-prob must be comma-separated numbers; 'x' is not a number",
        ),
        (
            ["migration", "--rewards", "1,0", "--discount", "0.1"],
            "give exactly one of --purchase-prob and --transition-matrix",
        ),
        (["retention", "--margin", "10", "--retention", "1.5", "--discount", "0.1"], "--retention must lie in [0, 1]"),
        (["retention", "--margin", "10", "--retention", "0.5", "--discount", "-1"], "--discount must be >= 0"),
        (["retention", "--margin", "10", "--retention", "1", "--discount", "0"], "diverges"),
        (["simple", "--years", "-1", "--annual-profit", "10"], "--years must be >= 0"),
    ],
)
def test_bad_input_exit_2_one_line(args: list[str], message: str) -> None:
    code, out, err = run("clv-formula", *args)
    assert code == 2
    flat = " ".join(err.split())  # Rich wraps long messages at the terminal width
    assert message in flat
    assert flat.count("error:") == 1
    assert "Traceback" not in err


def test_bad_matrix_rows_named(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("0.5,0.5\n0.3,0.6\n")
    code, _, err = run(
        "clv-formula",
        "migration",
        "--transition-matrix",
        str(f),
        "--rewards",
        "1,0",
        "--discount",
        "0.1",
        "--format",
        "json",
    )
    assert code == 2
    assert "row 2 of the transition matrix sums to 0.9" in " ".join(err.split())
    code, _, err = run(
        "clv-formula",
        "migration",
        "--transition-matrix",
        str(tmp_path / "none.csv"),
        "--rewards",
        "1,0",
        "--discount",
        "0.1",
    )
    assert code == 2 and "no such file" in " ".join(err.split())


def _orders_file(tmp_path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(4)
    rows_c, rows_d = [], []
    start = np.datetime64("2023-01-01")
    for c in range(300):
        months = np.flatnonzero(rng.random(12) < 0.3)
        months = np.union1d([0], months)
        rows_c += [f"c{c}"] * months.size
        rows_d += [start.astype("datetime64[M]") + int(m) for m in months]
    dates = np.array(rows_d, dtype="datetime64[M]").astype("datetime64[D]") + 9
    path = tmp_path / "orders.csv"
    pacsv.write_csv(pa.table({"customer_id": rows_c, "ordered_at": pa.array(dates)}), path)
    return path


def test_estimate_then_migration_round_trip(tmp_path: Path) -> None:
    orders = _orders_file(tmp_path)
    matrix = tmp_path / "P.csv"
    code, _, err = run(
        "clv-formula",
        "estimate",
        str(orders),
        "--n-states",
        "3",
        "--period-column",
        "ordered_at",
        "--period-unit",
        "M",
        "--format",
        "csv",
        "--output",
        str(matrix),
    )
    assert code == 0, err
    code, out, err = run(
        "clv-formula",
        "estimate",
        str(orders),
        "--n-states",
        "3",
        "--period-column",
        "ordered_at",
        "--period-unit",
        "M",
        "--format",
        "json",
    )
    doc = json.loads(out)
    assert set(doc) >= {"counts", "matrix", "standard_errors", "lower", "upper", "purchase_prob"}
    assert doc["n_customers"] == 300
    np.testing.assert_allclose(np.sum(doc["matrix"], axis=1), 1.0)
    code, out, err = run(
        "clv-formula",
        "migration",
        "--transition-matrix",
        str(matrix),
        "--rewards",
        "30,-2,0",
        "--discount",
        "0.01",
        "--format",
        "json",
    )
    assert code == 0, err
    expected = markov_value(np.array(doc["matrix"]), [30, -2, 0], 0.01)
    np.testing.assert_allclose(json.loads(out)["values"], expected)


def test_estimate_bad_input(tmp_path: Path) -> None:
    orders = _orders_file(tmp_path)
    code, _, err = run("clv-formula", "estimate", str(orders), "--n-states", "3", "--period-column", "ordered_at")
    assert code == 2 and "give period_unit" in " ".join(err.split())
    code, _, err = run("clv-formula", "estimate", str(orders), "--n-states", "3", "--period-column", "when")
    assert code == 2 and "no column 'when'" in " ".join(err.split())
    code, _, err = run("clv-formula", "estimate", str(orders), "--period-column", "ordered_at")
    assert code == 2 and "exactly one of --n-states" in " ".join(err.split())
