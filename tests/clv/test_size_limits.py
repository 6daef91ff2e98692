"""Issue 10, defect 8: sizes that would exhaust memory or run for ever are refused at once."""

from __future__ import annotations

import time

import numpy as np
import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.clv.formula import markov_value
from custlens.clv.value import MAX_HORIZON_MONTHS, check_value_options
from custlens.errors import InputError


def test_clv_horizon_is_bounded() -> None:
    assert check_value_options(MAX_HORIZON_MONTHS, 0.01, "D", "discrete") > 0
    with pytest.raises(InputError, match=r"'horizon_months'.*<= 1200 \(100 years\). Got 1000000000"):
        check_value_options(1e9, 0.01, "D", "discrete")


def test_markov_horizon_is_bounded_and_infinite_stays_exact() -> None:
    P = np.array([[0.5, 0.5], [0.2, 0.8]])
    R = np.array([10.0, 0.0])
    started = time.perf_counter()
    with pytest.raises(InputError, match="'horizon' must be at most 10,000 periods"):
        markov_value(P, R, 0.1, horizon=1_000_000_000)
    assert time.perf_counter() - started < 1
    assert np.allclose(markov_value(P, R, 0.1, horizon=10_000), markov_value(P, R, 0.1))
    result = CliRunner().invoke(
        app,
        [
            "clv-formula",
            "migration",
            "--rewards",
            "10,0",
            "--discount",
            "0.1",
            "--purchase-prob",
            "0.5,0.2",
            "--horizon",
            "1000000000",
        ],
    )
    assert result.exit_code == 2 and "--horizon must be at most 10,000 periods" in result.output, result.output


def test_bootstrap_replicates_are_bounded() -> None:
    from custlens.clv.formula import estimate_recency_chain

    customer = np.repeat(np.arange(5), 4)
    period = np.tile(np.arange(4), 5)
    bought = (np.arange(20) % 3 == 0).astype(int)
    started = time.perf_counter()
    with pytest.raises(InputError, match="'n_boot' must be a whole number from 20 to 20,000"):
        estimate_recency_chain(customer, period, bought, method="bootstrap", n_boot=1_000_000_000)
    assert time.perf_counter() - started < 1
