"""Evaluation tables and figures on simulated calibration/holdout data."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from custlens.clv import BetaGeo, ModifiedBetaGeo, ParetoNBD, _bgnbd
from custlens.clv.evaluation import (
    compare_models,
    conditional_expectations,
    conditional_expectations_figure,
    tracking,
    tracking_figure,
)

BG = (0.243, 4.414, 0.793, 2.426)


@pytest.fixture(scope="module")
def cohort() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(8)
    T = 39.0 - rng.integers(0, 12, 20000)  # first purchases spread over 12 weeks, 39-week calibration
    return _bgnbd.simulate(*BG, T, holdout=39.0, rng=rng)


def test_conditional_expectations_track_simulated_holdout(cohort) -> None:
    m = BetaGeo().fit(cohort["frequency"], cohort["recency"], cohort["T"])
    table = conditional_expectations(
        m, cohort["frequency"], cohort["recency"], cohort["T"], cohort["holdout_frequency"], 39.0
    )
    assert table.column("frequency_bin").to_pylist()[0] == "0"
    assert table.column("customers").to_numpy().sum() == 20000
    actual, predicted = table.column("actual").to_numpy(), table.column("predicted").to_numpy()
    np.testing.assert_allclose(predicted, actual, rtol=0.25, atol=0.05)
    fig = conditional_expectations_figure(table)
    assert isinstance(fig, go.Figure) and len(fig.data) == 2


def test_tracking_sums_new_customer_expectations(cohort) -> None:
    m = BetaGeo().fit(cohort["frequency"], cohort["recency"], cohort["T"])
    T = np.array([39.0, 35.0, 35.0])
    table = tracking(m, T, np.ones(78), calibration_end=39.0)
    cum = table.column("predicted_cumulative").to_numpy()
    expected_end = m.expected_purchases(78.0) + 2 * m.expected_purchases(74.0)
    assert cum[-1] == pytest.approx(float(expected_end), rel=1e-12)
    assert np.all(np.diff(cum) >= 0)
    assert table.column("part").to_pylist()[38:40] == ["calibration", "holdout"]
    fig = tracking_figure(table)
    assert isinstance(fig, go.Figure) and len(fig.data) == 4


def test_compare_models_table(cohort) -> None:
    args = (cohort["frequency"], cohort["recency"], cohort["T"])
    models = {"bgnbd": BetaGeo().fit(*args), "mbgnbd": ModifiedBetaGeo().fit(*args), "pnbd": ParetoNBD().fit(*args)}
    table = compare_models(models, *args, holdout_frequency=cohort["holdout_frequency"], holdout_length=39.0)
    assert table.column("model").to_pylist() == ["bgnbd", "mbgnbd", "pnbd"]
    ll = table.column("log_likelihood").to_numpy()
    # the data come from BG/NBD: its likelihood is at least the others' up to sampling noise
    assert ll[0] >= ll.max() - 20
    assert np.all(table.column("holdout_mae").to_numpy() > 0)
