"""Issue 10, defect 7: fits do not report "converged" on data that cannot identify the model."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pytest

from custlens.clv import BetaGeo, ParetoNBD
from custlens.clv.tables import fit_summary, value_customers
from custlens.errors import InputError


@pytest.mark.parametrize("model", [BetaGeo, ParetoNBD])
def test_no_repeat_buyers_is_refused(model: type) -> None:
    x = np.zeros(50)
    with pytest.raises(InputError, match="no customer made a repeat purchase"):
        model().fit(x, x, np.full(50, 30.0))


@pytest.mark.parametrize("model", [BetaGeo, ParetoNBD])
def test_no_observed_time_is_refused(model: type) -> None:
    x = np.zeros(20)
    with pytest.raises(InputError, match="'T' is 0 for every customer"):
        model().fit(x, x, x)


def test_implausible_counts_are_refused() -> None:
    with pytest.raises(InputError, match="'frequency' must be <= 1e6"):
        BetaGeo().fit([1e9, 1.0], [10.0, 5.0], [10.0, 10.0])
    with pytest.raises(InputError, match="'T' must be <= 1e6"):
        BetaGeo().fit([1.0, 1.0], [10.0, 5.0], [1e9, 10.0])


def test_unidentified_parameters_are_reported_as_not_converged(caplog: pytest.LogCaptureFixture) -> None:
    """Steady buyers who never drop out: heterogeneity and dropout cannot be told apart."""
    rng = np.random.default_rng(1)
    T = np.full(300, 50.0)
    x = np.minimum(rng.poisson(5, 300), 40).astype(float)
    t_x = np.where(x > 0, T, 0.0)
    with caplog.at_level(logging.WARNING, logger="custlens.clv._base"):
        fitted = BetaGeo().fit(x, t_x, T)
    assert fitted.result_.converged is False
    assert "do not identify" in fitted.result_.message
    assert "not reliable" in caplog.text


def test_a_clean_fit_still_converges(cdnow_summary_path: object) -> None:
    import pyarrow.csv as pacsv

    summary = pacsv.read_csv(cdnow_summary_path)
    result = fit_summary("bgnbd", summary, columns={"frequency": "frequency", "recency": "recency", "T": "T"})
    assert result["converged"] is True


def test_duplicate_customer_ids_in_a_summary_are_refused() -> None:
    summary = pa.table(
        {
            "customer_id": ["a", "b", "a"],
            "frequency": [1.0, 2.0, 0.0],
            "recency": [3.0, 4.0, 0.0],
            "T": [5.0, 6.0, 7.0],
            "monetary_value": [10.0, 20.0, 0.0],
        }
    )
    with pytest.raises(InputError, match=r"1 id\(s\) appear more than once \(first: 'a'\)"):
        fit_summary("bgnbd", summary)
    with pytest.raises(InputError, match="appear more than once"):
        value_customers(summary, spend=None)
