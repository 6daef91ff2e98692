"""Closed-form predictions against an independent implementation: numerical integration
over the latent variables with scipy.integrate (no hypergeometric functions), to 1e-6 relative."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from custlens.clv import _bgbb, _bgnbd, _gamma_gamma, _mbgnbd, _pareto_nbd, _sbg

RTOL = 1e-6
BG = (0.243, 4.414, 0.793, 2.426)  # FHL 2005 CDNOW estimates
PNBD = (0.553, 10.578, 0.606, 11.669)
CUSTOMERS = [(0, 0.0, 38.86), (2, 30.43, 38.86), (1, 1.71, 38.86), (14, 35.0, 38.0), (40, 20.0, 60.0)]


def _bg_by_quadrature(t: float, x: int, t_x: float, T: float, k: int) -> tuple[float, float]:
    """P(alive) and E[Y(t)] integrating lambda in closed gamma form and p numerically."""
    r, alpha, a, b = BG

    def lam_moment(c: float) -> float:  # int lambda^x exp(-lambda c) Gamma(lambda; r, alpha), over G(T)
        return math.exp((r + x) * (math.log(alpha + T) - math.log(alpha + c)))

    beta_pdf = stats.beta(a, b).pdf
    alive_w = lambda p: (1 - p) ** (x + k) * beta_pdf(p)  # noqa: E731
    dead_w = lambda p: (p * (1 - p) ** (x + k - 1) * beta_pdf(p) * lam_moment(t_x)) if x + k > 0 else 0.0  # noqa: E731
    opts = {"epsabs": 0, "epsrel": 1e-11, "limit": 200}
    num_alive = integrate.quad(alive_w, 0, 1, **opts)[0]
    den = num_alive + integrate.quad(dead_w, 0, 1, **opts)[0]

    def future(p: float) -> float:
        # E[Y(t) | lambda ~ Gamma(r+x, alpha+T), p, alive] = (1 - E exp(-lambda p t)) / p
        return (1 - ((alpha + T) / (alpha + T + p * t)) ** (r + x)) / p * alive_w(p)

    return num_alive / den, integrate.quad(future, 0, 1, **opts)[0] / den


@pytest.mark.parametrize("k", [0, 1])
@pytest.mark.parametrize("customer", CUSTOMERS)
def test_bg_family_conditional_predictions(customer: tuple[int, float, float], k: int) -> None:
    x, t_x, T = customer
    alive, expected = _bg_by_quadrature(39.0, x, t_x, T, k)
    assert _bgnbd.p_alive(*BG, x, t_x, T, k=k) == pytest.approx(alive, rel=RTOL)
    assert _bgnbd.conditional_expected_purchases(39.0, *BG, x, t_x, T, k=k) == pytest.approx(expected, rel=RTOL)


def test_mbgnbd_module_is_the_k1_family() -> None:
    for x, t_x, T in CUSTOMERS:
        _, mbg = _bg_by_quadrature(39.0, x, t_x, T, 1)
        assert float(_mbgnbd.conditional_expected_purchases(39.0, *BG, x, t_x, T)) == pytest.approx(mbg, rel=RTOL)
    assert float(_mbgnbd.expected_purchases(39.0, *BG)) == pytest.approx(
        float(_bgnbd.expected_purchases(39.0, *BG, k=1))
    )


@pytest.mark.parametrize("k", [0, 1])
@pytest.mark.parametrize("t", [1.0, 39.0, 78.0, 500.0])
def test_bg_family_new_customer_expectation(t: float, k: int) -> None:
    r, alpha, a, b = BG
    f = lambda p: (1 - p) ** k * (1 - (alpha / (alpha + p * t)) ** r) / p * stats.beta(a, b).pdf(p)  # noqa: E731
    expected = integrate.quad(f, 0, 1, epsabs=0, epsrel=1e-11, limit=200)[0]
    assert _bgnbd.expected_purchases(t, *BG, k=k) == pytest.approx(expected, rel=RTOL)


@pytest.mark.parametrize("k", [0, 1])
def test_bg_family_pmf_mean_matches_expectation(k: int) -> None:
    n = np.arange(0, 400)
    pmf = _bgnbd.prob_n_purchases(n, 39.0, *BG, k=k)
    assert pmf.sum() == pytest.approx(1.0, rel=1e-9)
    assert (n * pmf).sum() == pytest.approx(_bgnbd.expected_purchases(39.0, *BG, k=k), rel=RTOL)


def test_bgnbd_dert_matches_quadrature() -> None:
    # DERT = int exp(-delta t) dE[Y(t)] = delta int exp(-delta t) E[Y(t)] dt, by adaptive
    # quadrature (QUADPACK) instead of the module's Gauss-Laguerre rule.
    delta = 0.005
    for x, t_x, T in CUSTOMERS:
        f = lambda t: delta * math.exp(-delta * t) * float(_bgnbd.conditional_expected_purchases(t, *BG, x, t_x, T))  # noqa: E731
        expected = integrate.quad(f, 0, np.inf, limit=200, epsrel=1e-10)[0]
        assert float(_bgnbd.dert(delta, *BG, x, t_x, T)) == pytest.approx(expected, rel=RTOL)


def _pnbd_closed_form(x: float, t_x: float, T: float) -> float:
    """Log-likelihood by the 2F1 expressions of Fader & Hardie (2005), eqs. for alpha >= beta and alpha < beta."""
    r, alpha, s, beta = PNBD
    k = r + s + x
    if alpha >= beta:
        b_par, top = s + 1, alpha
    else:
        b_par, top = r + x, beta
    z1, z2 = abs(alpha - beta) / (top + t_x), abs(alpha - beta) / (top + T)
    a0 = special.hyp2f1(k, b_par, k + 1, z1) / (top + t_x) ** k - special.hyp2f1(k, b_par, k + 1, z2) / (top + T) ** k
    return (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * math.log(alpha)
        + s * math.log(beta)
        + math.log((alpha + T) ** -(r + x) * (beta + T) ** -s + s / k * a0)
    )


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_pareto_nbd_loglik_matches_hypergeometric_closed_form(customer: tuple[int, float, float]) -> None:
    assert float(_pareto_nbd.loglik(*PNBD, *customer)) == pytest.approx(_pnbd_closed_form(*customer), rel=1e-10)


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_pareto_nbd_predictions_by_quadrature(customer: tuple[int, float, float]) -> None:
    r, alpha, s, beta = PNBD
    x, t_x, T = customer
    alive = float(_pareto_nbd.p_alive(*PNBD, x, t_x, T))
    # alive customers: lambda ~ Gamma(r+x, alpha+T), mu ~ Gamma(s, beta+T) independently
    mu_pdf = stats.gamma(s, scale=1 / (beta + T)).pdf
    t = 39.0
    e_future = integrate.quad(lambda mu: -math.expm1(-mu * t) / mu * mu_pdf(mu), 0, np.inf, epsrel=1e-11, limit=200)[0]
    expected = alive * (r + x) / (alpha + T) * e_future
    assert float(_pareto_nbd.conditional_expected_purchases(t, *PNBD, x, t_x, T)) == pytest.approx(expected, rel=RTOL)
    delta = 0.01
    surv = lambda u: math.exp(-delta * u) * ((beta + T) / (beta + T + u)) ** s  # noqa: E731
    dert = alive * (r + x) / (alpha + T) * integrate.quad(surv, 0, np.inf, epsrel=1e-11, limit=200)[0]
    assert float(_pareto_nbd.dert(delta, *PNBD, x, t_x, T)) == pytest.approx(dert, rel=RTOL)


@pytest.mark.parametrize("t", [1.0, 39.0, 200.0])
def test_pareto_nbd_new_customer(t: float) -> None:
    r, alpha, s, beta = PNBD
    mu_pdf = stats.gamma(s, scale=1 / beta).pdf
    expected = (
        r
        / alpha
        * integrate.quad(lambda mu: -math.expm1(-mu * t) / mu * mu_pdf(mu), 0, np.inf, epsrel=1e-11, limit=200)[0]
    )
    assert float(_pareto_nbd.expected_purchases(t, *PNBD)) == pytest.approx(expected, rel=RTOL)
    n = np.arange(0, 300)
    pmf = _pareto_nbd.prob_n_purchases(n, t, *PNBD)
    assert pmf.sum() == pytest.approx(1.0, rel=1e-7)
    assert (n * pmf).sum() == pytest.approx(expected, rel=RTOL)


def test_gamma_gamma_conditional_spend_by_quadrature() -> None:
    p, q, g = 6.25, 3.74, 15.44
    for x, zbar in [(1, 10.0), (3, 40.0), (20, 25.0)]:
        post = stats.gamma(p * x + q, scale=1 / (g + x * zbar)).pdf  # nu | data
        expected = integrate.quad(lambda nu: p / nu * post(nu), 0, np.inf, epsrel=1e-11, limit=200)[0]
        assert float(_gamma_gamma.conditional_expected_spend(p, q, g, x, zbar)) == pytest.approx(expected, rel=RTOL)


BGBB = (1.204, 0.750, 0.657, 2.783)  # FHS 2010 donations estimates


def _beta_rule(a: float, b: float, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes/weights for E[f(p)], p ~ Beta(a, b): exact for polynomials of degree < 2n."""
    u, w = special.roots_jacobi(n, b - 1.0, a - 1.0)
    return (u + 1.0) / 2.0, w / w.sum()


@pytest.mark.parametrize("customer", [(0, 0, 6), (3, 4, 6), (6, 6, 6), (1, 1, 6), (2, 5, 6)])
def test_bgbb_predictions_by_quadrature(customer: tuple[int, int, int]) -> None:
    # The BG/BB individual-level expressions are polynomials in p and theta, so Gauss-Jacobi
    # quadrature against the two beta mixing distributions integrates them exactly.
    a, b, g, d = BGBB
    x, t_x, n = customer
    n_star = 5
    p, wp = _beta_rule(a, b)
    th, wt = _beta_rule(g, d)
    P, TH = p[:, None], th[None, :]
    W = wp[:, None] * wt[None, :]
    alive_now = P**x * (1 - P) ** (n - x) * (1 - TH) ** n
    lik = alive_now + sum(P**x * (1 - P) ** (t_x - x + i) * TH * (1 - TH) ** (t_x + i) for i in range(n - t_x))
    total = float((W * lik).sum())
    assert float(_bgbb.loglik(*BGBB, x, t_x, n)[0]) == pytest.approx(math.log(total), rel=1e-10)
    alive = float((W * alive_now * (1 - TH)).sum()) / total
    assert float(_bgbb.p_alive(*BGBB, x, t_x, n)) == pytest.approx(alive, rel=RTOL)
    future = alive_now * P * sum((1 - TH) ** j for j in range(1, n_star + 1))
    expected = float((W * future).sum()) / total
    assert float(_bgbb.conditional_expected_purchases(n_star, *BGBB, x, t_x, n)) == pytest.approx(expected, rel=RTOL)


def test_bgbb_pmf_and_dert_by_direct_sums() -> None:
    k = np.arange(0, 7)
    pmf = _bgbb.prob_n_purchases(k, 6, *BGBB)
    assert pmf.sum() == pytest.approx(1.0, rel=1e-10)
    assert (k * pmf).sum() == pytest.approx(float(_bgbb.expected_purchases(6, *BGBB)), rel=1e-10)
    # DERT as the discounted sum of expected purchases in each future opportunity
    d, x, t_x, n = 0.1, 3, 5, 6
    steps = [float(_bgbb.conditional_expected_purchases(j, *BGBB, x, t_x, n)) for j in range(3001)]
    direct = sum((steps[j] - steps[j - 1]) / (1 + d) ** j for j in range(1, 3001))
    assert float(_bgbb.dert(d, *BGBB, x, t_x, n)) == pytest.approx(direct, rel=RTOL)


def test_sbg_expressions_by_direct_sums() -> None:
    a, b = 0.668, 3.806
    t = np.arange(1, 2000)
    assert _sbg.churn_probability(t, a, b).sum() + _sbg.survival(1999, a, b) == pytest.approx(1.0, rel=1e-12)
    assert _sbg.survival(3, a, b) / _sbg.survival(2, a, b) == pytest.approx(_sbg.retention_rate(3, a, b), rel=1e-12)
    d = 0.1
    surv = _sbg.survival(np.arange(0, 5000), a, b)
    assert float(_sbg.del_(d, a, b)) == pytest.approx((surv / (1 + d) ** np.arange(0, 5000)).sum(), rel=RTOL)
    n = 4  # 3 renewals made
    direct = sum(surv[n + j] / surv[n - 1] / (1 + d) ** j for j in range(4000))
    assert float(_sbg.derl(d, n - 1, a, b)) == pytest.approx(direct, rel=RTOL)


# P(alive at T + t): a hard case for 2F1(r+x, a; a+b+x; -t/(alpha+T)) evaluated directly
# (scipy returns 10240 for this probability; quadrature gives 3.1287e-4)
HARD_BG = (3.94239259921326, 11.574873455731293, 12.064671568773534, 19.250340707831402)


def _bg_alive_later_by_quadrature(params: tuple[float, ...], t: float, x: int, t_x: float, T: float, k: int) -> float:
    """P(alive at T+t | x, t_x, T) from the prior: the alive branch integrated over p, lambda
    integrated in closed gamma form with the extra exposure ``p t`` (no dropout among the
    Poisson(lambda t) purchases of (T, T+t] has probability exp(-lambda p t))."""
    r, alpha, a, b = params

    def lam_moment(c: float) -> float:  # int lambda^x exp(-lambda c) Gamma(lambda; r, alpha), over the value at T
        return math.exp((r + x) * (math.log(alpha + T) - math.log(alpha + c)))

    beta_pdf = stats.beta(a, b).pdf
    alive_w = lambda p: (1 - p) ** (x + k) * beta_pdf(p)  # noqa: E731
    dead_w = lambda p: (p * (1 - p) ** (x + k - 1) * beta_pdf(p) * lam_moment(t_x)) if x + k > 0 else 0.0  # noqa: E731
    later_w = lambda p: alive_w(p) * lam_moment(T + p * t)  # noqa: E731
    opts = {"epsabs": 0, "epsrel": 1e-11, "limit": 200}
    den = integrate.quad(alive_w, 0, 1, **opts)[0] + integrate.quad(dead_w, 0, 1, **opts)[0]
    return integrate.quad(later_w, 0, 1, **opts)[0] / den


@pytest.mark.parametrize("k", [0, 1])
@pytest.mark.parametrize("customer", CUSTOMERS)
@pytest.mark.parametrize("t", [13.0, 52.0])
def test_bg_family_p_alive_later_by_quadrature(customer: tuple[int, float, float], k: int, t: float) -> None:
    expected = _bg_alive_later_by_quadrature(BG, t, *customer, k)
    assert float(_bgnbd.p_alive_later(t, *BG, *customer, k=k)) == pytest.approx(expected, rel=RTOL)


@pytest.mark.parametrize("k", [0, 1])
def test_bg_family_p_alive_later_where_direct_2f1_fails(k: int) -> None:
    x, t_x, T, t = 17, 30.0, 49.99728236586185, 148.81949585652964
    expected = _bg_alive_later_by_quadrature(HARD_BG, t, x, t_x, T, k)
    assert float(_bgnbd.p_alive_later(t, *HARD_BG, x, t_x, T, k=k)) == pytest.approx(expected, rel=RTOL)
    r, alpha, a, b = HARD_BG
    survival = _bgnbd.alive_survival(t, *HARD_BG, x, T, k=k)
    assert 0 < survival < 1 and special.hyp2f1(r + x, a, a + b + x + k, -t / (alpha + T)) > 1  # the direct form breaks


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_pareto_nbd_p_alive_later_from_the_likelihood(customer: tuple[int, float, float]) -> None:
    # P(alive at T+t, data) = int lambda^x e^(-lambda T) e^(-mu (T+t)) dG(lambda) dG(mu), over L
    r, alpha, s, beta = PNBD
    x, t_x, T = customer
    t = 26.0
    log_joint = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * math.log(alpha)
        - (r + x) * math.log(alpha + T)
        + s * (math.log(beta) - math.log(beta + T + t))
    )
    expected = math.exp(log_joint - float(_pareto_nbd.loglik(*PNBD, x, t_x, T)))
    assert float(_pareto_nbd.p_alive_later(t, *PNBD, x, t_x, T)) == pytest.approx(expected, rel=1e-10)
