"""Analytic Hessians and the Newton fits that use them.

BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma give the Hessian of their summed
log-likelihood; a fit on more rows than the warm-start subset then takes Newton steps and
reports standard errors from it. Each Hessian must equal central differences of the
analytic gradient (itself checked against finite differences of the log-likelihood in
test_fast_paths.py and test_properties.py), and a Newton fit must reach the optimum of the
L-BFGS-B fit it replaced (same parameters to 1e-6 relative, no lower log-likelihood).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import custlens
from custlens.clv import BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD, _bgnbd, _gamma_gamma, _pareto_nbd
from custlens.clv._base import _WARM_START_ROWS, MLEstimator, _newton_step

pos = st.floats(0.05, 20.0)


def _central(grad, params: np.ndarray, rel: float = 1e-5) -> np.ndarray:
    """Central differences of ``grad`` (a function of the parameter vector), column by column."""
    H = np.empty((params.size, params.size))
    for j in range(params.size):
        h = rel * params[j]
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        H[:, j] = (grad(up) - grad(down)) / (2 * h)
    return H


def _assert_hessian(H: np.ndarray, fd: np.ndarray, rtol: float = 1e-6) -> None:
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=0)
    scale = np.maximum(np.abs(fd), np.sqrt(np.outer(np.abs(np.diag(fd)), np.abs(np.diag(fd)))))
    assert np.max(np.abs(H - fd) / scale) < rtol, (H, fd)


def _customers(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.2, 60.0, n)
    sim = _bgnbd.simulate(0.5, 3.0, 0.8, 2.5, T, rng=rng)
    return sim["frequency"], sim["recency"], T, rng.uniform(0.2, 3.0, n)


@pytest.mark.parametrize("k", [0, 1])
@settings(max_examples=20, deadline=None)
@given(r=pos, alpha=pos, a=pos, b=pos, seed=st.integers(0, 10_000))
def test_bgnbd_hessian_equals_differences_of_the_gradient(
    k: int, r: float, alpha: float, a: float, b: float, seed: int
) -> None:
    x, t_x, T, w = _customers(seed, 300)
    p = np.array([r, alpha, a, b])
    out = _bgnbd.weighted_loglik_grad_hess(*p, x, t_x, T, w, k=k)
    assert out is not None
    total, grad, H = out
    plain = _bgnbd.weighted_loglik_grad(*p, x, t_x, T, w, k=k)
    assert plain is not None
    assert total == plain[0]
    np.testing.assert_array_equal(grad, plain[1])

    def g(q: np.ndarray) -> np.ndarray:
        res = _bgnbd.weighted_loglik_grad(*q, x, t_x, T, w, k=k)
        assert res is not None
        return res[1]

    _assert_hessian(H, _central(g, p), rtol=1e-5)


@settings(max_examples=20, deadline=None)
@given(p=pos, q=pos, gamma=pos, seed=st.integers(0, 10_000))
def test_gamma_gamma_hessian_equals_differences_of_the_gradient(p: float, q: float, gamma: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 40, 400).astype(float)
    z = _gamma_gamma.simulate(6.0, 3.7, 15.0, x, rng=rng)
    w = rng.uniform(0.5, 2.0, x.size)
    params = np.array([p, q, gamma])
    total, grad, H = _gamma_gamma.weighted_loglik_grad_hess(*params, x, z, w, {})
    plain_total, plain_grad = _gamma_gamma.weighted_loglik_grad(*params, x, z, w, {})
    assert total == plain_total
    np.testing.assert_array_equal(grad, plain_grad)
    fd = _central(lambda v: _gamma_gamma.weighted_loglik_grad(*v, x, z, w, {})[1], params)
    _assert_hessian(H, fd, rtol=1e-5)


def _pareto_customers() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Simulated customers plus the edge cases of the quadrature: no repeat purchase, the
    last purchase at T (``J = 0``), a frequency in the thousands, a window of a few hours."""
    rng = np.random.default_rng(4)
    T = rng.uniform(0.2, 60.0, 600)
    sim = _pareto_nbd.simulate(0.6, 4.0, 0.8, 9.0, T, rng=rng)
    x, t_x = sim["frequency"], sim["recency"]
    x[:6] = [0.0, 2.0, 3000.0, 500.0, 1.0, 7.0]
    t_x[:6] = [0.0, T[1], T[2], 0.99 * T[3], 0.0, 1e-3]
    T[5] = 0.02
    return x, t_x, T, rng.uniform(0.5, 2.0, x.size)


@pytest.mark.parametrize(
    "params",
    [(0.6, 4.0, 0.8, 9.0), (0.6, 9.0, 0.8, 4.0), (0.6, 5.0, 0.8, 5.0), (3.0, 0.1, 0.05, 40.0), (0.05, 30.0, 5.0, 0.2)],
    ids=["alpha<beta", "alpha>beta", "alpha=beta", "small alpha", "small beta"],
)
def test_pareto_nbd_hessian_equals_differences_of_the_gradient(params: tuple[float, ...]) -> None:
    x, t_x, T, w = _pareto_customers()
    p = np.array(params)

    def rows(q: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grads = _pareto_nbd.loglik_grad(*q, x, t_x, T)
        return float((w * ll).sum()), np.array([float((w * g).sum()) for g in grads])

    total, grad, H = _pareto_nbd.weighted_loglik_grad_hess(*p, x, t_x, T, w)
    ref_total, ref_grad = rows(p)
    assert total == pytest.approx(ref_total, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-9)
    _assert_hessian(H, _central(lambda q: rows(q)[1], p), rtol=1e-6)


def test_newton_step_damps_an_indefinite_hessian_into_a_descent_direction() -> None:
    H = np.array([[1.0, 0.0], [0.0, -2.0]])
    g = np.array([0.3, -0.4])
    step = _newton_step(H, g)
    assert step is not None
    assert float(g @ step) < 0
    np.testing.assert_allclose(_newton_step(np.diag([2.0, 4.0]), g), [-0.15, 0.1])


def _without_hessian(est: MLEstimator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``est``'s class fit as before the Newton steps: L-BFGS-B, Hessian by differences."""
    monkeypatch.setattr(type(est), "_has_hessian", lambda self: False)


def _fit_both(make, fit, monkeypatch: pytest.MonkeyPatch):
    newton = fit(make())
    with monkeypatch.context() as m:
        old = make()
        _without_hessian(old, m)
        lbfgs = fit(old)
    return newton, lbfgs


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo, ParetoNBD])
def test_newton_fit_reaches_the_lbfgs_optimum(model: type[BetaGeo], monkeypatch: pytest.MonkeyPatch) -> None:
    n = _WARM_START_ROWS + 10_000
    rng = np.random.default_rng(21)
    T = rng.uniform(1.0, 52.0, n)
    sim = _bgnbd.simulate(0.25, 4.4, 0.8, 2.4, T, rng=rng)
    x, t_x = sim["frequency"], sim["recency"]
    newton, lbfgs = _fit_both(model, lambda e: e.fit(x, t_x, T), monkeypatch)
    assert newton.result_.message.startswith("Newton steps")
    assert not lbfgs.result_.message.startswith("Newton steps")
    for k, v in lbfgs.params_.items():
        assert newton.params_[k] == pytest.approx(v, rel=1e-6)
    assert newton.result_.log_likelihood >= lbfgs.result_.log_likelihood - 1e-8 * n
    # standard errors: analytic Hessian against differences of the gradient
    np.testing.assert_allclose(newton.result_.cov, lbfgs.result_.cov, rtol=1e-3)


def test_newton_gamma_gamma_reaches_the_lbfgs_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(22)
    x = rng.integers(1, 30, _WARM_START_ROWS + 5_000).astype(float)
    z = _gamma_gamma.simulate(6.25, 3.74, 15.44, x, rng=rng)
    newton, lbfgs = _fit_both(GammaGamma, lambda e: e.fit(x, z), monkeypatch)
    assert newton.result_.message.startswith("Newton steps")
    for k, v in lbfgs.params_.items():
        assert newton.params_[k] == pytest.approx(v, rel=1e-6)
    assert newton.result_.log_likelihood >= lbfgs.result_.log_likelihood - 1e-8 * x.size
    np.testing.assert_allclose(newton.result_.cov, lbfgs.result_.cov, rtol=1e-3)


def test_newton_fit_with_a_penalty_and_weights_equals_repeated_rows() -> None:
    x, t_x, T, _ = _customers(23, _WARM_START_ROWS + 2_000)
    once = BetaGeo(penalizer=0.01).fit(x, t_x, T, weights=np.full(x.size, 2.0))
    twice = BetaGeo(penalizer=0.01).fit(np.tile(x, 2), np.tile(t_x, 2), np.tile(T, 2))
    for k, v in once.params_.items():
        assert twice.params_[k] == pytest.approx(v, rel=1e-6)


SRC = str(Path(custlens.__file__).resolve().parents[1])


def _modules_after(code: str, prefixes: tuple[str, ...]) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_package_loads_no_scipy() -> None:
    assert _modules_after("import custlens.clv", ("scipy", "pyarrow")) == []


def test_a_large_gamma_gamma_fit_does_not_import_scipy_optimize(tmp_path: Path) -> None:
    rng = np.random.default_rng(24)
    x = rng.integers(1, 30, _WARM_START_ROWS + 5_000).astype(float)
    z = _gamma_gamma.simulate(6.25, 3.74, 15.44, x, rng=rng)
    path = tmp_path / "spend.csv"
    # plain floats: the repr of a NumPy 2 scalar is np.float64(...), which is no number in a CSV
    rows = zip(x.tolist(), z.tolist(), strict=True)
    path.write_text("frequency,monetary_value\n" + "".join(f"{a:g},{b!r}\n" for a, b in rows))
    args = ["fit", "gg", str(path), "--format", "json"]
    # the fit must run (an error reported instead would also leave the optimiser out)
    code = (
        "import contextlib, io\nfrom custlens.cli import app\nout = io.StringIO()\n"
        f"with contextlib.redirect_stdout(out):\n    app({args!r}, standalone_mode=False)\n"
        "assert '\"converged\": true' in out.getvalue(), out.getvalue()"
    )
    loaded = _modules_after(code, ("scipy.optimize", "scipy.fft", "pyarrow.compute", "scipy.special"))
    assert "scipy.optimize" not in loaded
    assert "scipy.special" not in loaded
    assert "scipy.fft" not in loaded


def test_spread_subsets_are_distinct_ordered_rows_of_the_data() -> None:
    from custlens.clv._base import _spread_subset

    for n, size in [(20_001, 20_000), (1_000_000, 100_000), (341_675, 20_000)]:
        for seed in (0, 1):
            pick = _spread_subset(n, size, seed=seed)
            assert pick.size == size
            assert pick[0] >= 0 and pick[-1] < n
            assert np.all(np.diff(pick) >= 1)


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo])
def test_a_large_fit_stops_at_a_newton_step_below_1e_10(model: type[BetaGeo]) -> None:
    """The gradient test alone may stop 1e-8 from the optimum; the fit takes the last step."""
    from custlens.clv._base import _LAST_STEP, _newton_step, _Objective

    x, t_x, T, _ = _customers(29, 3 * _WARM_START_ROWS)
    fitted = model().fit(x, t_x, T)
    assert fitted.result_.message.startswith("Newton steps")
    theta = np.log([fitted.params_[k] for k in model._param_names])
    objective = _Objective(fitted, {"x": x, "t_x": t_x, "T": T}, np.ones(x.size), None, (), 4, 0.0)
    ev = objective.scaled_hess(theta)
    assert ev is not None
    step = _newton_step(ev[2], ev[1])
    assert step is not None
    assert np.max(np.abs(step)) <= 10 * _LAST_STEP
