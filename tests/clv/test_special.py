"""custlens.clv._special against scipy.special, and the Gamma-Gamma fit that uses it.

The Gamma-Gamma fit takes log-gamma, digamma and trigamma from ``custlens.clv._special``
(no ``scipy.special`` import on ``custlens fit gg``); they must equal SciPy's to rounding,
and the fit's sums and optimum must equal those computed with SciPy's functions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from custlens.clv import GammaGamma, _gamma_gamma, _special

# positive arguments from 1e-8 to 1e8, the region around digamma's root and the minimum of
# log-gamma, whole and half-whole numbers, and the grid p*x + q of a fit
_Z = np.concatenate(
    [
        np.logspace(-8, 8, 4001),
        np.linspace(0.5, 3.0, 2001),
        np.arange(1, 200) * 0.5,
        np.arange(1, 2000) * 6.23 + 3.75,
        [1.4616321449683622, 9.999999999999998, 10.0, 10.000000000000002],
    ]
)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (_special.gammaln, special.gammaln),
        (_special.digamma, special.digamma),
        (_special.trigamma, lambda z: special.polygamma(1, z)),
    ],
    ids=["gammaln", "digamma", "trigamma"],
)
def test_equal_to_scipy_to_rounding(ours, theirs) -> None:  # type: ignore[no-untyped-def]
    a, b = ours(_Z), theirs(_Z)
    # relative error, or absolute where the value is below 1 (log-gamma and digamma cross 0)
    err = np.abs(a - b) / np.maximum(np.abs(b), 1.0)
    assert err.max() < 4e-15, (_Z[err.argmax()], a[err.argmax()], b[err.argmax()])


def test_scalars_and_shapes() -> None:
    assert _special.digamma(3.7).shape == ()
    assert float(_special.digamma(np.float64(1.0))) == pytest.approx(-np.euler_gamma, rel=1e-15)
    assert float(_special.trigamma(1.0)) == pytest.approx(np.pi**2 / 6, rel=1e-15)
    assert float(_special.gammaln(5.0)) == pytest.approx(np.log(24.0), rel=1e-15)
    z = np.array([[0.25, 4.0], [11.0, 1e5]])
    assert _special.trigamma(z).shape == (2, 2)
    np.testing.assert_allclose(_special.gammaln(z), special.gammaln(z), rtol=1e-15)
    assert _special.digamma(np.array([])).shape == (0,)


def _scipy_weighted(
    p: float, q: float, gamma: float, x: np.ndarray, z: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """The summed log-likelihood, gradient and Hessian written out with scipy.special, row by row."""
    px = p * x
    den = gamma + x * z
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + px * np.log(x)
        + (px - 1) * np.log(z)
        - (px + q) * np.log(den)
    )
    psi_pq, psi_p, psi_q = special.digamma(px + q), special.digamma(px), special.digamma(q)
    d_p = x * (psi_pq - psi_p + np.log(x) + np.log(z) - np.log(den))
    d_q = psi_pq - psi_q + np.log(gamma) - np.log(den)
    d_g = q / gamma - (px + q) / den
    t_pq, t_p, t_q = special.polygamma(1, px + q), special.polygamma(1, px), special.polygamma(1, q)
    H = np.empty((3, 3))
    H[0, 0] = np.sum(w * x * x * (t_pq - t_p))
    H[0, 1] = H[1, 0] = np.sum(w * x * t_pq)
    H[1, 1] = np.sum(w * (t_pq - t_q))
    H[0, 2] = H[2, 0] = -np.sum(w * x / den)
    H[1, 2] = H[2, 1] = np.sum(w * (1 / gamma - 1 / den))
    H[2, 2] = np.sum(w * (-q / gamma**2 + (px + q) / den**2))
    grad = np.array([np.sum(w * d_p), np.sum(w * d_q), np.sum(w * d_g)])
    return float(np.sum(w * ll)), grad, H


@settings(max_examples=40, deadline=None)
@given(
    p=st.floats(0.05, 50.0),
    q=st.floats(0.05, 50.0),
    gamma=st.floats(0.05, 500.0),
    top=st.sampled_from([3, 40, 2_000]),
    seed=st.integers(0, 10_000),
)
def test_gamma_gamma_sums_equal_those_with_scipy(p: float, q: float, gamma: float, top: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, top, 500).astype(float)
    z = _gamma_gamma.simulate(6.0, 3.7, 15.0, x, rng=rng)
    w = rng.uniform(0.5, 2.0, x.size)
    total, grad, H = _gamma_gamma.weighted_loglik_grad_hess(p, q, gamma, x, z, w, {})
    ref_total, ref_grad, ref_H = _scipy_weighted(p, q, gamma, x, z, w)
    # the sums cancel large terms (log-gamma of p*x near 1e5), so the scale is the terms' size
    scale = np.sum(w * (np.abs(special.gammaln(p * x + q)) + np.abs(special.gammaln(p * x)) + 1.0))
    assert abs(total - ref_total) <= 1e-12 * scale
    g_scale = np.sum(w * x * (np.abs(special.digamma(p * x + q)) + 1.0))
    np.testing.assert_allclose(grad, ref_grad, rtol=0, atol=1e-12 * g_scale)
    np.testing.assert_allclose(H, ref_H, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref_H)))


def test_gamma_gamma_fit_equals_the_scipy_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optimum with custlens' special functions equals the optimum with SciPy's.

    Parameters within 1e-6 relative and the log-likelihood within 1e-9 nats per customer,
    on 60,000 simulated repeat buyers (above the warm-start subset: Newton steps).
    """
    rng = np.random.default_rng(7)
    x = rng.integers(1, 60, 60_000).astype(float)
    z = _gamma_gamma.simulate(6.25, 3.74, 15.44, x, rng=rng)
    ours = GammaGamma().fit(x, z)
    scipy_fns = {"gammaln": special.gammaln, "digamma": special.digamma, "trigamma": lambda v: special.polygamma(1, v)}
    for name, fn in scipy_fns.items():
        monkeypatch.setattr(_special, name, fn)
    monkeypatch.setattr(_gamma_gamma.math, "lgamma", lambda v: float(special.gammaln(v)))
    theirs = GammaGamma().fit(x, z)
    for name, value in theirs.params_.items():
        assert ours.params_[name] == pytest.approx(value, rel=1e-6)
    assert abs(ours.result_.log_likelihood - theirs.result_.log_likelihood) <= 1e-9 * x.size
