"""Published estimates and log-likelihoods, reproduced on the papers' own data sets.

Tolerances follow the precision printed in each source (3 decimals for FHL 2005 and
FHS 2010, 2 for the Gamma-Gamma estimates, 3 for FH 2007).
"""

from __future__ import annotations

import numpy as np
import pytest

from custlens.clv import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    ShiftedBetaGeometric,
    _pareto_nbd,
)


def _close(params: dict[str, float], expected: dict[str, float], decimals: int) -> None:
    for name, value in expected.items():
        assert round(params[name], decimals) == pytest.approx(value, abs=10.0**-decimals * 1.01), name


def test_bgnbd_cdnow(cdnow) -> None:
    # Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science
    # 24(2), section 4 (CDNOW, 2,357 customers, 39-week calibration): r = 0.243,
    # alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
    m = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    _close(m.params_, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, 3)
    assert round(m.result_.log_likelihood, 1) == -9582.4


def test_pareto_nbd_cdnow(cdnow) -> None:
    # Fader & Hardie's Pareto/NBD implementation notes (2005, "A note on implementing the
    # Pareto/NBD model in MATLAB"; the same estimates are used in Fader, Hardie & Lee 2005,
    # "RFM and CLV") on CDNOW: r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669.
    m = ParetoNBD().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    _close(m.params_, {"r": 0.553, "alpha": 10.578, "s": 0.606}, 3)
    # beta is weakly identified (standard error ~6); our optimum lies 0.0011 from the printed
    # value and has a (slightly) higher likelihood than the printed estimates.
    assert m.params_["beta"] == pytest.approx(11.669, abs=0.005)
    published = _pareto_nbd.loglik(0.553, 10.578, 0.606, 11.669, cdnow["frequency"], cdnow["recency"], cdnow["T"]).sum()
    assert m.result_.log_likelihood >= published
    # -9594.97 at both our estimates and the printed ones (two code paths agree: see
    # test_pareto_nbd.py::test_loglik_matches_hypergeometric_closed_form).
    assert m.result_.log_likelihood == pytest.approx(-9594.97, abs=0.01)


def test_mbgnbd_cdnow(cdnow) -> None:
    # Batislam, Denizel & Filiztekin (2007) fit MBG/NBD on Turkish grocery data, not CDNOW;
    # the CDNOW figures are the documented output of the lifetimes package 0.11.3
    # (the expected values of ModifiedBetaGeoFitter on CDNOW in its test suite,
    # lifetimes/tests/test_estimation.py): r = 0.525, alpha = 6.183, a = 0.891, b = 1.614.
    m = ModifiedBetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    _close(m.params_, {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}, 3)


def test_bgbb_donations(donations) -> None:
    # Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time noncontractual
    # setting", Marketing Science 29(6), section 4 (11,104 donors, 6 opportunities):
    # alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783, LL = -33225.6.
    m = BetaGeoBetaBinom().fit(
        donations["frequency"], donations["recency"], donations["periods"], weights=donations["weights"]
    )
    _close(m.params_, {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}, 3)
    assert round(m.result_.log_likelihood, 1) == -33225.6
    assert m.result_.n_obs == 11104


# Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1),
# table 1 (survivors of a 1,000-customer cohort, years 0-7, the calibration years) and the
# estimates of section 3: regular alpha = 0.668, beta = 3.806; high end alpha = 0.704, beta = 1.182.
REGULAR = [1000, 869, 743, 653, 593, 551, 517, 491]
HIGH_END = [1000, 631, 468, 382, 326, 289, 262, 241]


@pytest.mark.parametrize(("survivors", "alpha", "beta"), [(REGULAR, 0.668, 3.806), (HIGH_END, 0.704, 1.182)])
def test_sbg_cohorts(survivors: list[int], alpha: float, beta: float) -> None:
    m = ShiftedBetaGeometric().fit(survivors)
    _close(m.params_, {"alpha": alpha, "beta": beta}, 3)


def test_gamma_gamma_cdnow(cdnow_money) -> None:
    # Fader, Hardie & Lee (2005), "RFM and CLV", JMR 42(4), section "spend" (946 CDNOW
    # customers with repeat purchases), and Fader & Hardie (2013), "The Gamma-Gamma model of
    # monetary value", p. 4: p = 6.25, q = 3.74, gamma = 15.44.
    m = GammaGamma().fit(cdnow_money["x"], cdnow_money["zbar"])
    _close(m.params_, {"p": 6.25, "q": 3.74, "gamma": 15.44}, 2)
    assert m.result_.n_obs == 946
    assert m.expected_spend() == pytest.approx(m.params_["p"] * m.params_["gamma"] / (m.params_["q"] - 1.0))


def test_standard_errors_are_finite(cdnow) -> None:
    m = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    se = m.result_.std_errors
    assert all(np.isfinite(v) and v > 0 for v in se.values())
    lo, hi = m.result_.conf_int()["r"]
    assert lo < m.params_["r"] < hi
