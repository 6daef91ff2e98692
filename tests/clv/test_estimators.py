"""One conformance test over every estimator, plus fitting behaviour (compression,
covariates, errors) and recovery of simulated parameters."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from custlens.clv import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    ShiftedBetaGeometric,
    _bgnbd,
    _pareto_nbd,
)
from custlens.errors import ConvergenceError, InputError, NotFittedError

X = np.array([0, 1, 2, 2, 5, 0, 3, 1, 7, 2], dtype=float)
TX = np.array([0, 4.0, 10.0, 10.0, 30.0, 0, 20.0, 2.0, 35.0, 18.0])
TT = np.array([40.0, 40, 40, 40, 40, 38, 39, 40, 40, 36])
MONEY = np.array([0, 10.0, 20.0, 20.0, 35.0, 0, 12.0, 50.0, 22.0, 15.0])
N = np.array([6, 6, 6, 6, 6, 6, 6, 6, 6, 6.0])
BX = np.array([0, 1, 2, 2, 5, 0, 3, 1, 6, 2.0])
BT = np.array([0, 2, 5, 5, 6, 0, 4, 1, 6, 3.0])
SURV = np.array([1000, 869, 743, 653, 593, 551, 517, 491.0])

# (estimator factory, positional data, how to repeat rows, a prediction call)
CASES = {
    "bgnbd": (BetaGeo, (X, TX, TT), lambda m: m.p_alive(X, TX, TT)),
    "mbgnbd": (ModifiedBetaGeo, (X, TX, TT), lambda m: m.p_alive(X, TX, TT)),
    "pnbd": (ParetoNBD, (X, TX, TT), lambda m: m.p_alive(X, TX, TT)),
    "gg": (GammaGamma, (X, MONEY), lambda m: m.conditional_expected_spend(X, MONEY)),
    "bgbb": (BetaGeoBetaBinom, (BX, BT, N), lambda m: m.p_alive(BX, BT, N)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_conformance(name: str) -> None:
    cls, data, predict = CASES[name]
    est = cls(penalizer=0.01)
    with pytest.raises(NotFittedError):
        predict(est)
    before = est.get_params()
    assert est.fit(*data) is est
    assert est.get_params() == before
    assert set(est.params_) == set(cls._param_names)
    # weights equal repeated rows
    w = np.arange(1, len(data[0]) + 1, dtype=float)
    weighted = cls(penalizer=0.01).fit(*data, weights=w)
    repeated = cls(penalizer=0.01).fit(*(np.repeat(d, w.astype(int)) for d in data))
    for k in weighted.params_:
        assert weighted.params_[k] == pytest.approx(repeated.params_[k], rel=1e-5)
    assert weighted.result_.log_likelihood == pytest.approx(repeated.result_.log_likelihood, rel=1e-9)
    # pickles with the standard library and predicts the same after a round trip
    clone = pickle.loads(pickle.dumps(weighted))
    np.testing.assert_allclose(predict(clone), predict(weighted))
    assert "estimate" in weighted.result_.summary().column_names
    # restored from its parameters (and hyper-parameters) it predicts the same, without a fit result
    restored = cls.from_params(weighted.params_, **weighted.get_params())
    assert restored.get_params() == weighted.get_params()
    np.testing.assert_array_equal(predict(restored), predict(weighted))
    assert not hasattr(restored, "result_")
    # a restored estimator is an ordinary one: fitted again, it matches a fresh fit
    assert restored.fit(*data).params_ == cls(penalizer=0.01).fit(*data).params_


def test_sbg_conformance() -> None:
    est = ShiftedBetaGeometric()
    with pytest.raises(NotFittedError):
        est.survival(3)
    before = est.get_params()
    est.fit(SURV)
    assert est.get_params() == before
    # survivors given out of order with their periods
    order = np.array([3, 0, 1, 2, 7, 4, 5, 6])
    same = ShiftedBetaGeometric().fit(SURV[order], periods=order.astype(float))
    assert same.params_ == pytest.approx(est.params_)
    assert pickle.loads(pickle.dumps(est)).survival(10) == pytest.approx(est.survival(10))
    restored = ShiftedBetaGeometric.from_params(est.params_)
    assert restored.survival(10) == est.survival(10) and not hasattr(restored, "result_")


def test_hyper_parameter_message() -> None:
    with pytest.raises(
        InputError, match=r"The 'penalizer' parameter of BetaGeo must be a float >= 0\. Got -1 instead\."
    ):
        BetaGeo(penalizer=-1).fit(X, TX, TT)
    with pytest.raises(InputError, match="'max_iter' parameter of ParetoNBD must be an int >= 1"):
        ParetoNBD(max_iter=0).fit(X, TX, TT)


def test_input_messages() -> None:
    bad_T = TT.copy()
    bad_T[[3, 5]] = 1.0
    with pytest.raises(InputError, match=r"'recency' must be <= 'T'; 1 row break this \(first: row 3"):
        BetaGeo().fit(X, TX, bad_T)
    with pytest.raises(InputError, match="'frequency' must be a whole number >= 0"):
        BetaGeo().fit(X - 0.5, TX, TT)
    with pytest.raises(InputError, match="'monetary_value' must be > 0 where 'frequency' > 0"):
        GammaGamma().fit(X, MONEY * 0)
    with pytest.raises(InputError, match="must not increase"):
        ShiftedBetaGeometric().fit([100, 90, 95])


def test_convergence_error_is_clear() -> None:
    with pytest.raises(ConvergenceError, match="did not converge after 1 iterations"):
        BetaGeo(max_iter=1).fit(X, TX, TT)


def test_compression_sees_distinct_rows_only() -> None:
    m = BetaGeo().fit(np.tile(X, 50), np.tile(TX, 50), np.tile(TT, 50))
    assert m.result_.n_unique == 9 and m.result_.n_obs == 500


def test_recovers_simulated_parameters() -> None:
    true = {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 2.5}
    sim = _bgnbd.simulate(*true.values(), np.round(np.random.default_rng(3).uniform(20, 60, 20000)), rng=11)
    m = BetaGeo().fit(sim["frequency"], sim["recency"], sim["T"])
    for k, v in true.items():
        lo, hi = m.result_.conf_int(0.999)[k]
        assert lo < v < hi, (k, m.params_[k], lo, hi)


def test_pareto_nbd_covariates_recovered() -> None:
    rng = np.random.default_rng(5)
    n = 6000
    group = rng.integers(0, 2, n).astype(float)
    # alpha_i = alpha_0 exp(-0.7 x_i): group 1 buys about twice as often
    out = {"frequency": [], "recency": [], "T": []}
    for g in (0.0, 1.0):
        m = int((group == g).sum())
        s = _pareto_nbd.simulate(0.8, 10.0 * np.exp(-0.7 * g), 0.7, 12.0, 52.0, size=m, rng=int(g) + 1)
        for k in out:
            out[k].append(s[k])
    cov = np.concatenate([np.zeros((group == 0).sum()), np.ones((group == 1).sum())])
    data = {k: np.concatenate(v) for k, v in out.items()}
    m = ParetoNBD(covariate_params=("alpha",)).fit(data["frequency"], data["recency"], data["T"], covariates=cov)
    lo, hi = m.result_.conf_int(0.999)["alpha_coef[0]"]
    assert lo < 0.7 < hi
    plain = ParetoNBD().fit(data["frequency"], data["recency"], data["T"])
    assert m.result_.log_likelihood > plain.result_.log_likelihood
    with pytest.raises(InputError, match="pass 'covariates'"):
        m.p_alive(data["frequency"], data["recency"], data["T"])
    alive = m.p_alive(data["frequency"], data["recency"], data["T"], covariates=cov)
    assert alive.shape == cov.shape and np.all((alive >= 0) & (alive <= 1))


def test_bgnbd_covariate_gradient_matches_finite_differences() -> None:
    from custlens.clv._base import _Objective

    rng = np.random.default_rng(2)
    Xc = rng.normal(size=(X.size, 2))
    est = BetaGeo(covariate_params=("alpha", "b"))
    obj = _Objective(est, {"x": X, "t_x": TX, "T": TT}, np.ones(X.size), Xc, ("alpha", "b"), 4, 0.0)
    nat = np.array([0.4, 5.0, 0.9, 2.0, 0.3, -0.2, 0.1, 0.5])
    _, g = obj._eval(nat)
    for j in range(nat.size):
        up, down = nat.copy(), nat.copy()
        up[j] += 1e-6
        down[j] -= 1e-6
        assert g[j] == pytest.approx((obj._eval(up)[0] - obj._eval(down)[0]) / 2e-6, rel=1e-5, abs=1e-6)


def test_warm_start_on_large_data_reaches_the_same_optimum(monkeypatch) -> None:
    from custlens.clv import _base

    sim = _bgnbd.simulate(0.4, 6.0, 0.8, 2.5, np.random.default_rng(1).uniform(20, 60, 4000), rng=2)
    args = (sim["frequency"], sim["recency"], sim["T"])
    monkeypatch.setattr(_base, "_WARM_START_ROWS", 500)  # force the subset + BFGS polish path
    warm = BetaGeo().fit(*args)
    monkeypatch.setattr(_base, "_WARM_START_ROWS", 10**9)
    direct = BetaGeo().fit(*args)
    for k in direct.params_:
        assert warm.params_[k] == pytest.approx(direct.params_[k], rel=1e-5)
    assert warm.result_.log_likelihood == pytest.approx(direct.result_.log_likelihood, abs=1e-6)


def test_first_purchase_at_the_end_is_a_new_customer(cdnow_summary_path) -> None:
    """T == 0 (first purchase on the observation end) adds nothing to the fit and is scored
    as a new customer: P(alive) = 1 and the conditional expectation equals E[X(t)]."""
    import pandas as pd

    from custlens.clv import BetaGeo, ParetoNBD

    d = pd.read_csv(cdnow_summary_path)
    for model in (BetaGeo, ParetoNBD):
        plain = model().fit(d["frequency"], d["recency"], d["T"])
        padded = model().fit(np.r_[d["frequency"], 0, 0], np.r_[d["recency"], 0, 0], np.r_[d["T"], 0, 0])
        for name, value in plain.params_.items():
            assert padded.params_[name] == pytest.approx(value, rel=1e-6)
        zero = np.zeros(1)
        assert plain.p_alive(zero, zero, zero)[0] == pytest.approx(1.0)
        assert plain.conditional_expected_purchases(10.0, zero, zero, zero)[0] == pytest.approx(
            float(plain.expected_purchases(10.0)), rel=1e-9
        )
    with pytest.raises(InputError, match="'frequency' must be 0 where 'T' is 0"):
        BetaGeo().fit([1, 0], [0, 0], [0, 5])
