"""Property tests: gradients equal finite differences, probabilities in [0, 1],
monotonicity where theory says so, and finite values at extreme inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.clv import _bgbb, _bgnbd, _gamma_gamma, _pareto_nbd, _sbg

pos = st.floats(0.05, 20.0)


def _fd_check(fn, params: list[float], data: tuple, rtol: float = 1e-5) -> None:
    _, grads = fn(*params, *data)
    for j in range(len(params)):
        # five-point central stencil: truncation error O(h^4) lets h be large enough that
        # rounding in log-likelihoods of size ~1e4 stays below the tolerance
        h = 1e-3 * max(abs(params[j]), 1e-2)

        def at(step: float) -> np.ndarray:
            moved = list(params)
            moved[j] += step
            return np.asarray(fn(*moved, *data)[0])

        numeric = (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h)
        np.testing.assert_allclose(np.asarray(grads[j]).ravel(), np.ravel(numeric), rtol=rtol, atol=1e-6)


def _rft(seed: int, n: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = rng.uniform(5, 80, n)
    x = rng.integers(0, 60, n).astype(float)
    t_x = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    return x, t_x, T


@settings(max_examples=25, deadline=None)
@given(r=pos, alpha=pos, a=pos, b=pos, seed=st.integers(0, 1000), k=st.sampled_from([0, 1]))
def test_bg_family_gradient(r: float, alpha: float, a: float, b: float, seed: int, k: int) -> None:
    _fd_check(lambda *v: _bgnbd.loglik_grad(*v[:4], *v[4:], k=k), [r, alpha, a, b], _rft(seed))


@settings(max_examples=25, deadline=None)
@given(r=pos, alpha=pos, s=pos, beta=pos, seed=st.integers(0, 1000))
def test_pareto_nbd_gradient(r: float, alpha: float, s: float, beta: float, seed: int) -> None:
    _fd_check(_pareto_nbd.loglik_grad, [r, alpha, s, beta], _rft(seed))


@settings(max_examples=25, deadline=None)
@given(a=pos, b=pos, g=pos, d=pos, seed=st.integers(0, 1000))
def test_bgbb_gradient(a: float, b: float, g: float, d: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 12, 20).astype(float)
    t_x = np.floor(rng.uniform(0, 1, 20) * (n + 1))
    x = np.floor(rng.uniform(0, 1, 20) * (t_x + 1))
    t_x = np.where(x > 0, t_x, 0.0)
    _fd_check(_bgbb.loglik_grad, [a, b, g, d], (x, t_x, n))


@settings(max_examples=25, deadline=None)
@given(p=pos, q=pos, g=pos, seed=st.integers(0, 1000))
def test_gamma_gamma_gradient(p: float, q: float, g: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    _fd_check(_gamma_gamma.loglik_grad, [p, q, g], (rng.integers(1, 50, 20).astype(float), rng.uniform(1, 500, 20)))


@settings(max_examples=25, deadline=None)
@given(p=pos, q=pos, g=pos, seed=st.integers(0, 1000), whole=st.booleans())
def test_gamma_gamma_summed_objective_equals_the_row_sum(p: float, q: float, g: float, seed: int, whole: bool) -> None:
    """The sufficient-statistics objective the fit uses equals sum(w * loglik), gradient included."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 50, 300).astype(float) if whole else rng.uniform(0.5, 40, 300)
    z, w = rng.uniform(1, 500, 300), rng.uniform(0, 3, 300)
    ll, grads = _gamma_gamma.loglik_grad(p, q, g, x, z)
    total, grad = _gamma_gamma.weighted_loglik_grad(p, q, g, x, z, w, {})
    assert total == pytest.approx(float((w * ll).sum()), rel=1e-10)
    np.testing.assert_allclose(grad, [float((w * gr).sum()) for gr in grads], rtol=1e-8, atol=1e-8)

    def summed(p: float, q: float, g: float) -> tuple[float, np.ndarray]:
        return _gamma_gamma.weighted_loglik_grad(p, q, g, x, z, w, {})

    _fd_check(summed, [p, q, g], ())


def test_gamma_gamma_weights_equal_repeated_rows() -> None:
    from custlens.clv import GammaGamma

    rng = np.random.default_rng(3)
    x = rng.integers(1, 20, 400).astype(float)
    z = np.round(_gamma_gamma.simulate(6.25, 3.74, 15.44, x, rng=rng), 2)
    k = rng.integers(1, 4, 400)
    weighted = GammaGamma().fit(x, z, weights=k).params_
    repeated = GammaGamma().fit(np.repeat(x, k), np.repeat(z, k)).params_
    for name in ("p", "q", "gamma"):
        assert weighted[name] == pytest.approx(repeated[name], rel=1e-6)


@settings(max_examples=25, deadline=None)
@given(a=pos, b=pos)
def test_sbg_gradient(a: float, b: float) -> None:
    _fd_check(_sbg.loglik_grad, [a, b], (np.arange(1.0, 9.0), np.array([1, 1, 1, 0, 1, 1, 1, 0.0])))


@settings(max_examples=30, deadline=None)
@given(r=pos, alpha=pos, a=pos, b=pos, s=pos, beta=pos, seed=st.integers(0, 1000))
def test_probabilities_in_unit_interval(r, alpha, a, b, s, beta, seed) -> None:
    x, t_x, T = _rft(seed)
    for k in (0, 1):
        p = _bgnbd.p_alive(r, alpha, a, b, x, t_x, T, k=k)
        assert np.all((p >= 0) & (p <= 1))
    p = _pareto_nbd.p_alive(r, alpha, s, beta, x, t_x, T)
    assert np.all((p >= 0) & (p <= 1 + 1e-12))
    pmf = _pareto_nbd.prob_n_purchases(np.arange(5), 10.0, r, alpha, s, beta)
    assert np.all((pmf >= 0) & (pmf <= 1 + 1e-12))
    n = np.full(x.size, 8.0)
    t_bb = np.where(x > 0, np.minimum(np.ceil(t_x / T * 8), 8), 0.0)
    x_bb = np.minimum(x, t_bb)
    alive = _bgbb.p_alive(a, b, s, beta, x_bb, t_bb, n)
    assert np.all((alive >= 0) & (alive <= 1 + 1e-12))


@settings(max_examples=30, deadline=None)
@given(r=pos, alpha=pos, a=pos, b=pos, s=pos, beta=pos, seed=st.integers(0, 1000))
def test_p_alive_later_is_a_falling_probability_below_p_alive(r, alpha, a, b, s, beta, seed) -> None:
    x, t_x, T = _rft(seed)
    t = np.array([0.0, 1.0, 10.0, 100.0, 1e4])[:, None]
    for later, now in (
        (_bgnbd.p_alive_later(t, r, alpha, a, b, x, t_x, T), _bgnbd.p_alive(r, alpha, a, b, x, t_x, T)),
        (_bgnbd.p_alive_later(t, r, alpha, a, b, x, t_x, T, k=1), _bgnbd.p_alive(r, alpha, a, b, x, t_x, T, k=1)),
        (_pareto_nbd.p_alive_later(t, r, alpha, s, beta, x, t_x, T), _pareto_nbd.p_alive(r, alpha, s, beta, x, t_x, T)),
    ):
        assert np.all(np.isfinite(later)) and np.all(later >= 0)
        np.testing.assert_allclose(later[0], now, rtol=1e-12)  # t = 0: alive later is alive now
        assert np.all(np.diff(later, axis=0) <= 1e-12 * now)


def test_p_alive_falls_as_T_grows_and_expectation_grows_with_horizon() -> None:
    T = np.linspace(40, 400, 30)
    for fn, params in (
        (lambda *v: _bgnbd.p_alive(*v), (0.243, 4.414, 0.793, 2.426)),
        (lambda *v: _bgnbd.p_alive(*v, k=1), (0.525, 6.183, 0.891, 1.614)),
        (_pareto_nbd.p_alive, (0.553, 10.578, 0.606, 11.669)),
    ):
        alive = fn(*params, 5.0, 30.0, T)
        assert np.all(np.diff(alive) < 0)
    t = np.linspace(1, 200, 40)
    assert np.all(np.diff(_bgnbd.conditional_expected_purchases(t, 0.243, 4.414, 0.793, 2.426, 5, 30.0, 38.0)) > 0)
    assert np.all(
        np.diff(_pareto_nbd.conditional_expected_purchases(t, 0.553, 10.578, 0.606, 11.669, 5, 30.0, 38.0)) > 0
    )
    assert np.all(np.diff(_bgbb.expected_purchases(np.arange(1, 30), 1.204, 0.750, 0.657, 2.783)) > 0)


@pytest.mark.parametrize("beta", [0.01, 11.669, 1e4])
def test_pareto_nbd_extreme_inputs_finite_without_warnings(beta: float) -> None:
    # frequency 5000 over 10000 time units: the hypergeometric form overflows here
    x = np.array([5000.0, 5000.0, 0.0, 3000.0])
    t_x = np.array([9999.0, 100.0, 0.0, 10000.0])
    T = np.array([10000.0, 10000.0, 10000.0, 10000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ll, grads = _pareto_nbd.loglik_grad(0.553, 10.578, 0.606, beta, x, t_x, T)
        alive = _pareto_nbd.p_alive(0.553, 10.578, 0.606, beta, x, t_x, T)
        ey = _pareto_nbd.conditional_expected_purchases(52.0, 0.553, 10.578, 0.606, beta, x, t_x, T)
    assert np.all(np.isfinite(ll)) and all(np.all(np.isfinite(g)) for g in grads)
    assert np.all((alive >= 0) & (alive <= 1)) and np.all(np.isfinite(ey))
    assert alive[0] > 0.9 and alive[1] < 1e-10  # active buyer vs long silence after 5000 purchases


def test_bgnbd_extreme_inputs_finite_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ll, grads = _bgnbd.loglik_grad(0.243, 4.414, 0.793, 2.426, 5000.0, 9999.0, 10000.0)
        ey = _bgnbd.conditional_expected_purchases(52.0, 0.243, 4.414, 0.793, 2.426, 5000.0, 9999.0, 10000.0)
    assert np.isfinite(ll) and all(np.isfinite(g) for g in grads) and np.isfinite(ey) and ey > 0


def test_simulators_match_expectations() -> None:
    bg = (0.243, 4.414, 0.793, 2.426)
    sim = _bgnbd.simulate(*bg, 39.0, size=200_000, rng=7, holdout=39.0)
    assert sim["frequency"].mean() == pytest.approx(_bgnbd.expected_purchases(39.0, *bg), rel=0.03)
    assert np.all(sim["recency"] <= sim["T"])
    pn = (0.553, 10.578, 0.606, 11.669)
    sim = _pareto_nbd.simulate(*pn, 39.0, size=200_000, rng=7, holdout=39.0)
    assert sim["frequency"].mean() == pytest.approx(_pareto_nbd.expected_purchases(39.0, *pn), rel=0.03)
    both = sim["frequency"] + sim["holdout_frequency"]
    assert both.mean() == pytest.approx(_pareto_nbd.expected_purchases(78.0, *pn), rel=0.03)
    bb = (1.204, 0.750, 0.657, 2.783)
    sim = _bgbb.simulate(*bb, 6, size=200_000, rng=7)
    assert sim["frequency"].mean() == pytest.approx(float(_bgbb.expected_purchases(6, *bb)), rel=0.03)
    surv = _sbg.simulate(0.668, 3.806, 7, size=200_000, rng=7) / 200_000
    np.testing.assert_allclose(surv, _sbg.survival(np.arange(8), 0.668, 3.806), atol=0.01)


def test_numeric_helpers_match_direct_evaluation() -> None:
    from scipy import special

    from custlens.clv._numeric import per_count, unique_rows

    rng = np.random.default_rng(4)
    M = np.column_stack([rng.integers(0, 5, 5000), rng.integers(0, 3, 5000) / 7, rng.integers(1, 4, 5000)]).astype(
        float
    )
    uniq, inverse = unique_rows(M)
    expected, expected_inverse = np.unique(M, axis=0, return_inverse=True)
    np.testing.assert_array_equal(uniq, expected)
    np.testing.assert_array_equal(inverse, expected_inverse.ravel())
    x = rng.integers(3, 400, 1000).astype(float)
    np.testing.assert_allclose(per_count(special.digamma, 0.7, x), special.digamma(0.7 + x), rtol=1e-15)
    np.testing.assert_allclose(per_count(np.log, 0.0, x), np.log(x), rtol=1e-15)


def test_bg_expectation_with_homogeneous_dropout_is_finite() -> None:
    # a, b in the millions (a fit on data without dropout heterogeneity): 2F1 overflows;
    # the fixed-p evaluation agrees with the exact form at a 1000 times smaller scale
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        huge = _bgnbd.expected_purchases(np.array([10.0, 52.0]), 2.6, 16.7, 1495188.69, 14564569.18)
    moderate = _bgnbd.expected_purchases(np.array([10.0, 52.0]), 2.6, 16.7, 1495.18869, 14564.56918)
    np.testing.assert_allclose(huge, moderate, rtol=1e-4)


def test_bgbb_expectations_at_gamma_equal_one_are_the_limit() -> None:
    """``gamma = 1`` is a removable 0/0 of FHS (2010)'s ``delta/(gamma-1) [...]``: no division
    by zero, and the value is the limit. With ``gamma = 1`` the chance of being alive at
    opportunity ``i`` is ``B(1, delta+i)/B(1, delta) = delta/(delta+i)``, so
    ``E[X(n)] = alpha/(alpha+beta) sum_{i<=n} delta/(delta+i)``."""
    a, b, d = 1.2, 0.8, 2.5
    n = np.array([1.0, 5.0, 30.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        at_one = _bgbb.expected_purchases(n, a, b, 1.0, d)
        cond = _bgbb.conditional_expected_purchases(10.0, a, b, 1.0, d, 3.0, 4.0, 6.0)
    sums = [a / (a + b) * sum(d / (d + i) for i in range(1, int(m) + 1)) for m in n]
    np.testing.assert_allclose(at_one, sums, rtol=1e-12)
    sides = [_bgbb.conditional_expected_purchases(10.0, a, b, 1.0 + h, d, 3.0, 4.0, 6.0) for h in (-1e-5, 1e-5)]
    np.testing.assert_allclose(cond, 0.5 * (sides[0] + sides[1]), rtol=1e-7)
