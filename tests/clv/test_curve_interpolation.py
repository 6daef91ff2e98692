"""The interpolated alive-customer curve and lifetime value equal their exact evaluation.

``conditional_curve`` and ``customer_lifetime_value`` interpolate the alive-customer
expectation per frequency (``custlens.clv._chebyshev``). Each test compares them with the
previous implementation written out here: the family module's exact expectation (one
Gauss hypergeometric function per customer and time for BG/NBD) times P(alive), and the
month-by-month discounted sum of its differences. The tolerance is 1e-10 relative, the
tolerance of the interpolant's own check at run time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.clv import BetaGeo, ModifiedBetaGeo, ParetoNBD, _bgnbd, _pareto_nbd, customer_lifetime_value
from custlens.clv import _transaction as transaction
from custlens.clv._chebyshev import MIN_ROWS, chebyshev_fit, interpolate_per_count
from custlens.clv._numeric import gauss_legendre
from custlens.clv._valuemath import monthly_flows
from custlens.schema import units_per_month

RTOL = 1e-10
BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
MODELS: dict[str, tuple[type[Any], dict[str, float], Any, dict[str, int]]] = {
    "bgnbd": (BetaGeo, BG, _bgnbd, {"k": 0}),
    "mbgnbd": (ModifiedBetaGeo, {"r": 0.25, "alpha": 4.4, "a": 0.6, "b": 2.9}, _bgnbd, {"k": 1}),
    "pnbd": (ParetoNBD, {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}, _pareto_nbd, {}),
}


def _customers(n: int, seed: int, low: float = 0.1, high: float = 52.0) -> tuple[np.ndarray, ...]:
    """BG/NBD customers with continuous T (weeks) and recency: no two rows alike."""
    rng = np.random.default_rng(seed)
    sim = _bgnbd.simulate(BG["r"], BG["alpha"], BG["a"], BG["b"], rng.uniform(low, high, n), rng=rng)
    return sim["frequency"], sim["recency"], sim["T"]


def _exact(model: Any, family: Any, kw: dict[str, int], grid, x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
    """P(alive) and the curve as before interpolation: one exact evaluation per customer and time."""
    params = [model.params_[k] for k in model._param_names]
    alive = family.p_alive(*params, x, t_x, T, **kw)
    curve = family.alive_expected_purchases(grid[None, :], *params, x[:, None], T[:, None], **kw)
    return alive, alive[:, None] * curve


def _exact_value(model, family, kw, x, t_x, T, *, horizon=12.0, d=0.01, unit="W", discounting="discrete"):
    """The previous ``_value_parts``: discounted and plain expected purchases from the exact curve."""
    upm = units_per_month(unit)
    if discounting == "discrete":
        grid = np.arange(0, int(np.ceil(horizon)) + 1, dtype=float)
        _, curve = _exact(model, family, kw, np.minimum(grid, horizon) * upm, x, t_x, T)
        value = (np.diff(curve, axis=1) * (1.0 + d) ** -grid[1:]).sum(axis=1)
    else:
        delta = np.log1p(d)
        u, w = gauss_legendre(32)
        _, curve = _exact(model, family, kw, np.concatenate([u * horizon, [horizon]]) * upm, x, t_x, T)
        inner = (curve[:, :-1] * (w * horizon * np.exp(-delta * u * horizon))).sum(axis=1)
        value = np.exp(-delta * horizon) * curve[:, -1] + delta * inner
    return value, curve[:, -1]


@pytest.fixture
def interpolated_share(monkeypatch) -> list[float]:
    """Records the share of rows each call of ``interpolate_per_count`` interpolated."""
    shares: list[float] = []

    def spy(*args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        values, done = interpolate_per_count(*args, **kwargs)
        shares.append(float(done.mean()) if done.size else 1.0)
        return values, done

    monkeypatch.setattr(transaction, "interpolate_per_count", spy)
    return shares


@pytest.mark.parametrize("name", sorted(MODELS))
def test_curve_equals_the_exact_curve(name, interpolated_share) -> None:
    cls, params, family, kw = MODELS[name]
    model = cls.from_params(params)
    x, t_x, T = _customers(20_000, seed=1)
    grid = np.array([0.0, 0.5, 4.348, 13.0, 26.1, 52.18, 260.0])
    alive, curve = model.conditional_curve(grid, x, t_x, T)
    alive_ref, curve_ref = _exact(model, family, kw, grid, x, t_x, T)
    np.testing.assert_array_equal(alive, alive_ref)
    assert np.all(curve[:, 0] == 0.0)
    np.testing.assert_allclose(curve, curve_ref, rtol=RTOL, atol=0.0)
    # every frequency of MIN_ROWS customers or more passed its check; the others are exact
    sizes = np.unique(x, return_counts=True)[1]
    assert interpolated_share[-1] == sizes[sizes >= MIN_ROWS].sum() / x.size > 0.85


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize(("unit", "discounting", "horizon"), [("W", "discrete", 12.0), ("D", "continuous", 30.5)])
def test_lifetime_value_equals_the_previous_implementation(name, unit, discounting, horizon) -> None:
    cls, params, family, kw = MODELS[name]
    model = cls.from_params(params)
    x, t_x, T = _customers(12_000, seed=2)
    if unit == "D":
        t_x, T = t_x * 7.0, T * 7.0
        model = cls.from_params({**params, "alpha": params["alpha"] * 7.0} | ({"beta": 81.9} if name == "pnbd" else {}))
    table = customer_lifetime_value(
        model, x, t_x, T, 2.5, horizon_months=horizon, time_unit=unit, discounting=discounting, monthly_discount=0.02
    )
    value, plain = _exact_value(
        model, family, kw, x, t_x, T, horizon=horizon, d=0.02, unit=unit, discounting=discounting
    )
    alive = family.p_alive(*[model.params_[k] for k in model._param_names], x, t_x, T, **kw)
    np.testing.assert_allclose(table.column("p_alive").to_numpy(), alive, rtol=1e-15)
    np.testing.assert_allclose(table.column("expected_purchases").to_numpy(), plain, rtol=RTOL, atol=0.0)
    np.testing.assert_allclose(table.column("clv").to_numpy(), 2.5 * value, rtol=RTOL, atol=0.0)


def _edge_cases() -> dict[str, tuple[dict[str, float], np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    n = 3 * MIN_ROWS
    zeros = np.zeros(n)
    cases = {
        # every customer without repeat purchases (one frequency), some observed for no time
        "x = 0, T from 0": (BG, zeros, zeros, np.append(np.zeros(10), rng.uniform(0, 50, n - 10))),
        # windows from a minute to a year, in days (T up to the 1e6 limit)
        "tiny and huge T": (BG, zeros, zeros, np.exp(rng.uniform(np.log(1e-6), np.log(1e6), n))),
        # a + b >= 1e6: the expectation at the mean dropout probability
        "huge a + b": ({"r": 0.3, "alpha": 5.0, "a": 2e6, "b": 3e6}, zeros, zeros, rng.uniform(0.1, 60, n)),
        # one large frequency shared by many customers
        "x = 3000": (BG, np.full(n, 3000.0), np.full(n, 50.0), rng.uniform(50.0, 60.0, n)),
        # a whole frequency with one and the same T (no interval to interpolate on)
        "one T": (BG, np.ones(n), np.full(n, 5.0), np.full(n, 20.0)),
    }
    return cases


@pytest.mark.parametrize("case", sorted(_edge_cases()))
@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd"])
def test_edge_cases_equal_the_exact_curve(case, name, interpolated_share) -> None:
    params, x, t_x, T = _edge_cases()[case]
    _, _, family, kw = MODELS[name]
    model = MODELS[name][0].from_params(params)
    grid = np.array([0.0, 1.0, 30.4375, 365.25, 3652.5])
    alive, curve = model.conditional_curve(grid, x, t_x, T)
    alive_ref, curve_ref = _exact(model, family, kw, grid, x, t_x, T)
    np.testing.assert_array_equal(alive, alive_ref)
    np.testing.assert_allclose(curve, curve_ref, rtol=RTOL, atol=0.0)
    # t = 1 against alpha + T = 1e6: the exact values carry ~1e-8 rounding error (the
    # cancellation in 1 - (1-z)^(a-1) 2F1), so the check fails and every row is exact
    assert interpolated_share[-1] == (0.0 if case == "tiny and huge T" else 1.0)


def test_covariates_value_each_customer_exactly() -> None:
    x, t_x, T = _customers(3_000, seed=4)
    group = (np.arange(x.size) % 3).astype(float)[:, None]
    model = BetaGeo.from_params({**BG, "alpha_coef[0]": 0.3}, covariate_params=("alpha",))
    table = customer_lifetime_value(model, x, t_x, T, 1.0, covariates=group)
    for g in range(3):
        own = BetaGeo.from_params({**BG, "alpha": BG["alpha"] * np.exp(-0.3 * g)})
        rows = group[:, 0] == g
        value, plain = _exact_value(own, _bgnbd, {"k": 0}, x[rows], t_x[rows], T[rows])
        np.testing.assert_allclose(table.column("clv").to_numpy()[rows], value, rtol=1e-12)
        np.testing.assert_allclose(table.column("expected_purchases").to_numpy()[rows], plain, rtol=1e-12)


def test_repeated_rows_get_the_values_of_distinct_rows() -> None:
    """Whole-day data (many identical rows) and the same rows once give the same values."""
    x, t_x, T = _customers(4_000, seed=5)
    T = np.ceil(T * 7.0) / 7.0
    t_x = np.minimum(np.round(t_x * 7.0) / 7.0, T)
    many = np.repeat(np.arange(x.size), 5)
    for name in sorted(MODELS):
        model = MODELS[name][0].from_params(MODELS[name][1])
        once = customer_lifetime_value(model, x, t_x, T, 1.0).column("clv").to_numpy()
        repeated = customer_lifetime_value(model, x[many], t_x[many], T[many], 1.0).column("clv").to_numpy()
        np.testing.assert_allclose(repeated, once[many], rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    r=st.floats(0.05, 5.0),
    alpha=st.floats(0.1, 200.0),
    a=st.floats(0.05, 20.0),
    b=st.floats(0.05, 20.0),
    low=st.floats(0.0, 100.0),
    span=st.floats(0.01, 1000.0),
    x=st.integers(0, 200),
    k=st.sampled_from([0, 1]),
)
def test_interpolated_curve_is_exact_for_any_parameters(r, alpha, a, b, low, span, x, k) -> None:
    n = MIN_ROWS + 100
    T = np.random.default_rng(x).uniform(low, low + span, n)
    counts = np.full(n, float(x))
    model = (BetaGeo if k == 0 else ModifiedBetaGeo).from_params({"r": r, "alpha": alpha, "a": a, "b": b})
    grid = np.array([0.0, 0.7, 4.348, 52.18])
    _, curve = model.conditional_curve(grid, counts, np.where(counts > 0, T, 0.0), T)
    _, reference = _exact(model, _bgnbd, {"k": k}, grid, counts, np.where(counts > 0, T, 0.0), T)
    np.testing.assert_allclose(curve, reference, rtol=1e-9, atol=0.0)


def test_interpolation_is_used_only_where_it_checks_out() -> None:
    rng = np.random.default_rng(6)
    x = np.repeat([0.0, 1.0, 2.0], [2000, 2000, 100])
    v = rng.uniform(-1.0, 2.0, x.size)

    def smooth(count: float, points: np.ndarray) -> np.ndarray:
        return np.column_stack([np.exp(np.sin(points) + count), np.cos(3.0 * points)])

    values, done = interpolate_per_count(smooth, x, v, 2)
    assert done[:4000].all() and not done[4000:].any()  # the third count has too few rows
    truth = np.column_stack([np.exp(np.sin(v) + x), np.cos(3.0 * v)])
    np.testing.assert_allclose(values[done], truth[done], rtol=1e-11, atol=1e-12)

    def kinked(count: float, points: np.ndarray) -> np.ndarray:
        return np.abs(points - 0.3)[:, None] + 1.0

    assert chebyshev_fit(kinked, 0.0, -1.0, 2.0, 1) is None
    assert not interpolate_per_count(kinked, x, v, 1)[1].any()

    def overflowing(count: float, points: np.ndarray) -> np.ndarray:
        return np.where(points > 1.9, np.inf, 1.0)[:, None]

    assert not interpolate_per_count(overflowing, x, v, 1)[1].any()
    empty, none = interpolate_per_count(smooth, np.zeros(0), np.zeros(0), 2)
    assert empty.shape == (0, 2) and none.size == 0


@pytest.mark.parametrize("name", sorted(MODELS))
def test_monthly_survival_equals_p_alive_later(name, interpolated_share) -> None:
    """``monthly_flows`` takes P(alive) at every month end at once; each column is ``p_alive_later``."""
    model = MODELS[name][0].from_params(MODELS[name][1])
    x, t_x, T = _customers(10_000, seed=7)
    flows = monthly_flows(model, x, t_x, T, 14.5, units_per_month("W"))
    ends = np.minimum(np.arange(0, 16, dtype=float), 14.5) * units_per_month("W")
    assert flows.alive.shape == (x.size, 16)
    np.testing.assert_array_equal(flows.alive[:, 0], model.p_alive(x, t_x, T))
    for j, t in enumerate(ends[1:], start=1):
        np.testing.assert_allclose(flows.alive[:, j], model.p_alive_later(t, x, t_x, T), rtol=RTOL, atol=0.0)
    sizes = np.unique(x, return_counts=True)[1]
    assert interpolated_share[-1] == sizes[sizes >= MIN_ROWS].sum() / x.size > 0.85


def test_alive_expectation_at_a_equal_one_is_the_beta_mixture_integral() -> None:
    """``a = 1`` is a removable 0/0 of FHL (2005) eq. (9): no division by zero, and the value
    equals the mixture over p ~ Beta(1, b) of ``(1 - (alpha/(alpha + p t))^r) / p`` (the
    alive customer's expected purchases given p, integrated over the Gamma heterogeneity)."""
    import warnings

    from scipy import integrate

    from custlens.clv._bgnbd import _alive_expectation

    r, alpha, b = 0.5, 2.0, 3.0
    t = np.array([1.0, 10.0, 100.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _alive_expectation(t, np.array(r), np.array(alpha), np.array(1.0), np.array(b))
    for value, tt in zip(got, t, strict=True):
        ref = integrate.quad(
            lambda p, tt=tt: (1 - (alpha / (alpha + p * tt)) ** r) / p * b * (1 - p) ** (b - 1), 0, 1, epsrel=1e-13
        )[0]
        assert value == pytest.approx(ref, rel=1e-7)
