"""The fast forms of the likelihood equal the per-row ones they replace.

BG/NBD and MBG/NBD sum per-frequency terms once (``_bgnbd.weighted_loglik_grad``), BG/BB
tabulates its special functions (``_bgbb.weighted_loglik_grad``), and every fit runs its
rows in blocks on several threads: each must give the weighted sum of the per-row
log-likelihood and gradient, and the gradient must equal finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.clv import BetaGeo, ModifiedBetaGeo, ParetoNBD, _bgbb, _bgnbd, _pareto_nbd
from custlens.clv._base import _BLOCK_ROWS, _Objective
from custlens.clv._numeric import worth_compressing

pos = st.floats(0.02, 30.0)


def _customers(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.2, 60.0, n)
    sim = _bgnbd.simulate(0.5, 3.0, 0.8, 2.5, T, rng=rng)
    x = np.where(rng.random(n) < 0.02, rng.integers(0, 400, n), sim["frequency"]).astype(float)
    t_x = np.where(x > 0, np.where(sim["frequency"] > 0, sim["recency"], rng.uniform(0, 1, n) * T), 0.0)
    return x, t_x, T, rng.uniform(0.2, 3.0, n)


def _bgbb_customers(seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    parts = [_bgbb.simulate(1.2, 0.75, 0.66, 2.8, n, size=200, rng=rng) for n in (1, 3, 7, 12)]
    x, t_x, n = (np.concatenate([p[k] for p in parts]) for k in ("frequency", "recency", "n_periods"))
    return x, t_x, n, rng.integers(1, 5, x.size).astype(float)


def _finite_differences(fn, params: list[float]) -> np.ndarray:
    out = np.empty(len(params))
    for j, v in enumerate(params):
        h = 1e-4 * max(abs(v), 1e-2)
        up, down = list(params), list(params)
        up[j] += h
        down[j] -= h
        out[j] = (fn(up) - fn(down)) / (2 * h)
    return out


@pytest.mark.parametrize("k", [0, 1])
@settings(max_examples=25, deadline=None)
@given(r=pos, alpha=pos, a=pos, b=pos, seed=st.integers(0, 10_000))
def test_bgnbd_weighted_form_equals_the_rows(k: int, r: float, alpha: float, a: float, b: float, seed: int) -> None:
    x, t_x, T, w = _customers(seed, 400)
    ll, grads = _bgnbd.loglik_grad(r, alpha, a, b, x, t_x, T, k=k)
    fast = _bgnbd.weighted_loglik_grad(r, alpha, a, b, x, t_x, T, w, k=k)
    assert fast is not None
    total, grad = fast
    np.testing.assert_allclose(total, float((w * ll).sum()), rtol=1e-10)
    np.testing.assert_allclose(grad, [float((w * g).sum()) for g in grads], rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("k", [0, 1])
def test_bgnbd_weighted_gradient_equals_finite_differences(k: int) -> None:
    x, t_x, T, w = _customers(7, 500)
    params = [0.4, 2.5, 0.9, 3.1]

    def total(p: list[float]) -> float:
        out = _bgnbd.weighted_loglik_grad(*p, x, t_x, T, w, k=k)
        assert out is not None
        return out[0]

    out = _bgnbd.weighted_loglik_grad(*params, x, t_x, T, w, k=k)
    assert out is not None
    np.testing.assert_allclose(out[1], _finite_differences(total, params), rtol=1e-6)


def test_bgnbd_weighted_form_declines_a_frequency_range_too_wide_for_a_table() -> None:
    x = np.array([0.0, 1e6])
    assert (
        _bgnbd.weighted_loglik_grad(1.0, 1.0, 1.0, 1.0, x, np.array([0.0, 5.0]), np.array([9.0, 9.0]), np.ones(2))
        is None
    )


@settings(max_examples=25, deadline=None)
@given(alpha=pos, beta=pos, gamma=pos, delta=pos, seed=st.integers(0, 10_000))
def test_bgbb_weighted_form_equals_the_rows(alpha: float, beta: float, gamma: float, delta: float, seed: int) -> None:
    x, t_x, n, w = _bgbb_customers(seed)
    ll, grads = _bgbb.loglik_grad(alpha, beta, gamma, delta, x, t_x, n)
    total, grad = _bgbb.weighted_loglik_grad(alpha, beta, gamma, delta, x, t_x, n, w, {})
    np.testing.assert_allclose(total, float((w * ll).sum()), rtol=1e-10)
    np.testing.assert_allclose(grad, [float((w * g).sum()) for g in grads], rtol=1e-8, atol=1e-8)


def test_bgbb_weighted_gradient_equals_finite_differences() -> None:
    x, t_x, n, w = _bgbb_customers(3)
    params = [1.1, 0.8, 0.7, 2.5]
    cache: dict[str, object] = {}
    fd = _finite_differences(lambda p: _bgbb.weighted_loglik_grad(*p, x, t_x, n, w, cache)[0], params)
    np.testing.assert_allclose(_bgbb.weighted_loglik_grad(*params, x, t_x, n, w, cache)[1], fd, rtol=1e-6)


@pytest.mark.parametrize("model", [BetaGeo(), ModifiedBetaGeo(), ParetoNBD()])
def test_blocks_on_threads_sum_to_the_rows(model: BetaGeo | ParetoNBD) -> None:
    from concurrent.futures import ThreadPoolExecutor

    n = 2 * _BLOCK_ROWS + 1234
    x, t_x, T, w = _customers(11, n)
    data = {"x": x, "t_x": t_x, "T": T}
    nat = np.array([0.6, 2.0, 0.7, 2.2])
    family = _pareto_nbd if isinstance(model, ParetoNBD) else _bgnbd
    kw = {} if isinstance(model, ParetoNBD) else {"k": 1 if isinstance(model, ModifiedBetaGeo) else 0}
    ll, grads = family.loglik_grad(*nat, x, t_x, T, **kw)
    with ThreadPoolExecutor(2) as pool:
        objective = _Objective(model, data, w, None, (), 4, 0.0, pool)
        total, grad = objective._eval(nat)
    np.testing.assert_allclose(total, float((w * ll).sum()), rtol=1e-10)
    np.testing.assert_allclose(grad, [float((w * g).sum()) for g in grads], rtol=1e-8)


def test_compression_is_skipped_only_when_rows_are_distinct() -> None:
    rng = np.random.default_rng(5)
    T = rng.uniform(1, 365, 100_000) / 7
    distinct = np.column_stack([rng.integers(0, 5, T.size), rng.uniform(0, 1, T.size) * T, T]).astype(float)
    assert not worth_compressing(distinct)
    whole_days = np.round(distinct * 7) / 7
    assert worth_compressing(whole_days)
    assert worth_compressing(distinct[:1000])  # small data: always compressed


def test_a_fit_on_distinct_rows_equals_the_fit_on_repeated_rows() -> None:
    """Weights equal repeated rows on the fast path too (one fit compresses, one does not)."""
    x, t_x, T, _ = _customers(13, 3 * _BLOCK_ROWS)
    once = BetaGeo().fit(x, t_x, T)
    twice = BetaGeo().fit(np.tile(x, 2), np.tile(t_x, 2), np.tile(T, 2), weights=np.full(2 * x.size, 0.5))
    for k, v in once.params_.items():
        assert twice.params_[k] == pytest.approx(v, rel=1e-5)


# -- BG/NBD family summed run by run (rows sorted by frequency) ------------------------------


def _sorted_customers(seed: int, n: int, *, unit: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Customers sorted by frequency: long runs (frequencies 0-3), short ones (the 2% tail
    up to 400) and a frequency-0 run longer than one chunk of the run sums."""
    x, t_x, T, w = _customers(seed, n)
    order = np.argsort(x, kind="stable")
    return x[order], t_x[order], T[order], np.ones(n) if unit else w[order]


def _assert_same_sums(fast: tuple, rows: tuple, scales: tuple) -> None:
    # sums of terms of both signs: compared to the size of the terms, not of the result
    for got, want, scale in zip(fast, rows, scales, strict=True):
        assert np.max(np.abs(np.asarray(got) - want) / scale) < 1e-11, (got, want)


@pytest.mark.parametrize("k", [0, 1])
@pytest.mark.parametrize("unit", [True, False])
@settings(max_examples=15, deadline=None)
@given(r=pos, alpha=pos, a=pos, b=pos, seed=st.integers(0, 10_000))
def test_bgnbd_run_sums_equal_the_row_sums(
    k: int, unit: bool, r: float, alpha: float, a: float, b: float, seed: int
) -> None:
    x, t_x, T, w = _sorted_customers(seed, _bgnbd._CHUNK + 6_000, unit=unit)
    runs = _bgnbd._weighted(r, alpha, a, b, x, t_x, T, w, k, hessian=True)
    rows = _bgnbd._weighted_rows(r, alpha, a, b, x, t_x, T, w, k, hessian=True)
    assert runs is not None and rows is not None
    # the scale of each sum: the same sums with every per-row term made positive
    ll, grads = _bgnbd.loglik_grad(r, alpha, a, b, x, t_x, T, k=k)
    g_scale = np.array([float((w * np.abs(g)).sum()) for g in grads]) + 1e-300
    h_scale = np.sqrt(np.outer(g_scale, g_scale)) * (
        1.0 + np.abs(rows[2]).max() / np.sqrt(np.outer(g_scale, g_scale)).max()
    )
    ll_scale = float((w * np.abs(ll)).sum())
    _assert_same_sums(runs, rows, (ll_scale, g_scale, h_scale))
    assert abs(runs[0] - float((w * ll).sum())) < 1e-11 * ll_scale


def test_bgnbd_runs_are_used_only_on_sorted_rows_in_long_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = _bgnbd._weighted_runs

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_bgnbd, "_weighted_runs", spy)
    x, t_x, T, w = _sorted_customers(3, 5_000, unit=True)
    assert _bgnbd.weighted_loglik_grad(0.5, 3.0, 0.8, 2.5, x, t_x, T, w) is not None
    assert calls == [1]
    shuffled = np.random.default_rng(0).permutation(x.size)
    assert _bgnbd.weighted_loglik_grad(0.5, 3.0, 0.8, 2.5, x[shuffled], t_x[shuffled], T[shuffled], w) is not None
    assert calls == [1]  # unsorted: row by row


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo])
def test_a_fit_does_not_depend_on_the_order_of_the_rows(model: type[BetaGeo]) -> None:
    """The fit sorts the rows by frequency; given sorted, shuffled or weighted, the optimum is one."""
    x, t_x, T, _ = _customers(17, 2 * _BLOCK_ROWS + 5_000)
    plain = model().fit(x, t_x, T)
    order = np.argsort(x, kind="stable")
    ordered = model().fit(x[order], t_x[order], T[order])
    weighted = model().fit(x, t_x, T, weights=np.full(x.size, 3.0))
    for k, v in plain.params_.items():
        assert ordered.params_[k] == pytest.approx(v, rel=1e-8)
        assert weighted.params_[k] == pytest.approx(v, rel=1e-8)
    assert ordered.result_.log_likelihood == pytest.approx(plain.result_.log_likelihood, rel=1e-12)


def test_scratch_is_reused_by_a_thread_and_not_shared() -> None:
    import threading

    from custlens.clv._numeric import SCRATCH_LIMIT, scratch

    a = scratch(3, 1000)
    assert a.shape == (3, 1000) and all(row.flags.c_contiguous for row in a)
    assert np.shares_memory(a, scratch(2, 500))  # the same thread: the same memory
    other: list[np.ndarray] = []
    thread = threading.Thread(target=lambda: other.append(scratch(3, 1000)))
    thread.start()
    thread.join()
    assert not np.shares_memory(a, other[0])
    assert not np.shares_memory(scratch(2, SCRATCH_LIMIT), scratch(2, SCRATCH_LIMIT))  # too large to keep
