"""PLS engine against an independent textbook implementation, plus invariance properties.

The reference implementation below works on the data matrix, not on the covariance
matrix, and updates weights by least squares (mode A: the regression of each item on the
inner proxy; mode B: the multiple regression of the proxy on the block), following
Tenenhaus et al. (2005), "PLS path modeling", CSDA 48, section 2.2, and Lohmöller (1989).
It covers what the published SmartPLS/seminr output does not: formative (mode B) blocks,
raw (centred only) data and mean imputation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.errors import ConvergenceError, InputError
from custlens.satisfaction.model import ECSI, Block, ModelSpec
from custlens.satisfaction.pls import fit_pls, prepare


def textbook_pls(
    x: np.ndarray, blocks: list[np.ndarray], mode_b: list[bool], paths: np.ndarray, scheme: str, iters: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Data-level PLS (Lohmöller's simultaneous updates); returns weights (p, J) and paths."""
    n, p = x.shape
    n_lv = len(blocks)
    w = np.zeros((p, n_lv))
    for j, idx in enumerate(blocks):
        w[idx, j] = 1.0
    y = x @ w
    w = w / y.std(axis=0, ddof=1)
    adjacent = paths | paths.T
    for _ in range(iters):
        y = x @ w
        r = np.corrcoef(y, rowvar=False)
        z = np.zeros_like(y)
        for j in range(n_lv):
            for k in np.flatnonzero(adjacent[j]):
                if scheme == "centroid":
                    z[:, j] += np.sign(r[j, k]) * y[:, k]
                elif scheme == "factorial":
                    z[:, j] += r[j, k] * y[:, k]
                elif paths[j, k]:  # path scheme, k follows j
                    z[:, j] += r[j, k] * y[:, k]
            pred = np.flatnonzero(paths[:, j])
            if scheme == "path" and pred.size:
                coef, *_ = np.linalg.lstsq(y[:, pred], y[:, j], rcond=None)
                z[:, j] += y[:, pred] @ coef
        new = np.zeros_like(w)
        for j, idx in enumerate(blocks):
            xj = x[:, idx]
            if mode_b[j]:
                new[idx, j], *_ = np.linalg.lstsq(xj, z[:, j], rcond=None)
            else:
                new[idx, j] = xj.T @ z[:, j] / (z[:, j] @ z[:, j])
            new[idx, j] /= (xj @ new[idx, j]).std(ddof=1)
        if np.abs(new - w).max() < 1e-13:
            w = new
            break
        w = new
    y = x @ w
    beta = np.zeros((n_lv, n_lv))
    for j in range(n_lv):
        pred = np.flatnonzero(paths[:, j])
        if pred.size:
            beta[pred, j], *_ = np.linalg.lstsq(y[:, pred], y[:, j], rcond=None)
    return w, beta


def _reference(data: pd.DataFrame, model: ModelSpec, scheme: str, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    pm = prepare(model, list(data.columns))
    x = data[pm.items].to_numpy(float)
    x = x - x.mean(axis=0)
    if standardize:
        x = x / x.std(axis=0, ddof=1)
    blocks = [np.flatnonzero(pm.blocks[:, j]) for j in range(len(pm.constructs))]
    w, beta = textbook_pls(x, blocks, list(pm.mode_b), pm.paths, scheme)
    # same sign convention as the engine: the dominant item loads positively
    y = x @ w
    for j, idx in enumerate(blocks):
        cors = np.array([np.corrcoef(x[:, h], y[:, j])[0, 1] for h in idx])
        if cors[np.argmax(np.abs(cors))] < 0:
            w[:, j] *= -1
    y = x @ w
    for j in range(len(blocks)):
        pred = np.flatnonzero(pm.paths[:, j])
        if pred.size:
            beta[pred, j], *_ = np.linalg.lstsq(y[:, pred], y[:, j], rcond=None)
    return w, beta


def _with_modes(modes: dict[str, str]) -> ModelSpec:
    blocks = tuple(Block(b.name, b.items, modes.get(b.name, b.mode)) for b in ECSI.blocks)
    return ModelSpec("ecsi-mixed", blocks, ECSI.paths)


@pytest.mark.parametrize("scheme", ["path", "centroid", "factorial"])
@pytest.mark.parametrize("standardize", [True, False])
def test_mixed_mode_a_and_b_matches_textbook_implementation(mobi: pd.DataFrame, scheme: str, standardize: bool) -> None:
    model = _with_modes({"Image": "B", "Value": "B", "Loyalty": "B"})
    res = fit_pls(mobi, model, scheme=scheme, standardize=standardize, tol=1e-12, max_iter=1000)
    w_ref, beta_ref = _reference(mobi, model, scheme, standardize)
    np.testing.assert_allclose(res.weights, w_ref, atol=1e-8)
    np.testing.assert_allclose(res.path_matrix, beta_ref, atol=1e-8)


def test_raw_data_weights_rescale_standardised_ones_for_mode_b(mobi: pd.DataFrame) -> None:
    """Mode B weights are scale-equivariant: raw weights x item sd = standardised weights."""
    model = _with_modes({b.name: "B" for b in ECSI.blocks})
    std = fit_pls(mobi, model, standardize=True, tol=1e-12, max_iter=1000)
    raw = fit_pls(mobi, model, standardize=False, tol=1e-12, max_iter=1000)
    np.testing.assert_allclose(raw.weights * raw.sd[:, None], std.weights, atol=1e-8)
    np.testing.assert_allclose(raw.path_matrix, std.path_matrix, atol=1e-8)


def test_duplicated_rows_equal_weighted_fit(mobi: pd.DataFrame) -> None:
    """Stacking the data twice leaves every standardised estimate unchanged."""
    a = fit_pls(mobi, "ecsi", tol=1e-12)
    b = fit_pls(pd.concat([mobi, mobi], ignore_index=True), "ecsi", tol=1e-12, ddof=0)
    c = fit_pls(mobi, "ecsi", tol=1e-12, ddof=0)
    np.testing.assert_allclose(b.path_matrix, c.path_matrix, atol=1e-10)
    np.testing.assert_allclose(a.path_matrix, c.path_matrix, atol=1e-10)


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(0.1, 50), shift=st.floats(-100, 100), seed=st.integers(0, 10_000))
def test_standardised_results_invariant_to_item_units(
    mobi: pd.DataFrame, scale: float, shift: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    cols = rng.choice(mobi.columns, size=5, replace=False)
    changed = mobi.copy()
    changed[cols] = changed[cols] * scale + shift
    a = fit_pls(mobi, "ecsi", tol=1e-12)
    b = fit_pls(changed, "ecsi", tol=1e-12)
    np.testing.assert_allclose(a.path_matrix, b.path_matrix, atol=1e-8)
    np.testing.assert_allclose(a.cross_loadings_matrix, b.cross_loadings_matrix, atol=1e-8)
    assert np.all((a.r2_vector >= 0) & (a.r2_vector <= 1))


def test_sign_fix_makes_dominant_loading_positive(mobi: pd.DataFrame) -> None:
    flipped = mobi.copy()
    for c in [c for c in mobi.columns if c.startswith("CUSA")]:
        flipped[c] = 11 - flipped[c]  # reverse-coded satisfaction items
    res = fit_pls(flipped, "ecsi", scheme="centroid")
    for construct, block in res.loadings().items():
        values = np.array(list(block.values()))
        assert values[np.argmax(np.abs(values))] > 0, construct
    base = fit_pls(mobi, "ecsi", scheme="centroid")
    np.testing.assert_allclose(np.abs(res.path_matrix), np.abs(base.path_matrix), atol=1e-9)


def test_listwise_deletion_equals_fit_on_complete_rows(mobi: pd.DataFrame) -> None:
    holes = mobi.copy()
    holes.loc[[3, 50, 51, 200], "PERQ2"] = np.nan
    holes.loc[[7], "CUSL1"] = np.nan
    res = fit_pls(holes, "ecsi", tol=1e-12)
    ref = fit_pls(holes.dropna(), "ecsi", tol=1e-12)
    assert res.n_obs == 245 and res.n_dropped == 5
    np.testing.assert_allclose(res.path_matrix, ref.path_matrix, atol=1e-12)


def test_mean_imputation_equals_fit_on_filled_data(mobi: pd.DataFrame) -> None:
    holes = mobi.copy()
    holes.loc[[3, 50], "PERQ2"] = np.nan
    filled = holes.fillna(holes.mean())
    res = fit_pls(holes, "ecsi", missing="mean", tol=1e-12)
    ref = fit_pls(filled, "ecsi", tol=1e-12)
    assert res.n_obs == 250
    np.testing.assert_allclose(res.path_matrix, ref.path_matrix, atol=1e-12)


def test_unconverged_fit_raises(mobi: pd.DataFrame) -> None:
    with pytest.raises(ConvergenceError, match="max_iter=2"):
        fit_pls(mobi, "ecsi", max_iter=2, tol=1e-12)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("scheme", "pathway", "'scheme' parameter"),
        ("missing", "drop", "'missing' parameter"),
        ("tol", 0, "'tol' parameter"),
        ("max_iter", 0, "'max_iter' parameter"),
        ("sign", "last", "'sign' parameter"),
    ],
)
def test_bad_parameters_name_the_parameter(mobi: pd.DataFrame, option: str, value: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        fit_pls(mobi, "ecsi", **{option: value})


def test_non_numeric_answers_are_reported(mobi: pd.DataFrame) -> None:
    bad = mobi.astype(object)
    bad.loc[4, "CUSA2"] = "very"
    with pytest.raises(InputError, match=r"'CUSA2'.*row 5, 'very'"):
        fit_pls(bad, "ecsi")


def test_constant_item_is_reported(mobi: pd.DataFrame) -> None:
    const = mobi.copy()
    const["PERV1"] = 5
    with pytest.raises(InputError, match="PERV1.*zero variance"):
        fit_pls(const, "ecsi")


def test_numeric_strings_are_accepted(mobi: pd.DataFrame) -> None:
    text = mobi.astype(str)
    a = fit_pls(text, "ecsi")
    b = fit_pls(mobi, "ecsi")
    np.testing.assert_allclose(a.path_matrix, b.path_matrix)
