"""Models restored from stored parameters (``from_params``) and the ``MODELS`` registry.

The stored analysis keeps ``params_`` as JSON: every family is fitted on its reference data,
its parameters go through ``json.dumps``/``json.loads``, and the restored model must predict
exactly what the fitted one does.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from custlens.clv import (
    MODELS,
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    ShiftedBetaGeometric,
)
from custlens.errors import InputError, NotFittedError

COHORT = [1000, 869, 743, 653, 593, 551, 517, 491]  # Fader & Hardie (2007), regular customers


def _json_round_trip(params: dict[str, float]) -> dict[str, float]:
    return json.loads(json.dumps(params))


def test_registry_holds_every_estimator_by_its_cli_code() -> None:
    assert MODELS == {
        "bgnbd": BetaGeo,
        "mbgnbd": ModifiedBetaGeo,
        "pnbd": ParetoNBD,
        "bgbb": BetaGeoBetaBinom,
        "sbg": ShiftedBetaGeometric,
        "gg": GammaGamma,
    }
    from custlens.cli.clv import Model

    assert set(MODELS) == {m.value for m in Model}


@pytest.mark.parametrize("code", ["bgnbd", "mbgnbd", "pnbd"])
def test_purchase_models_round_trip_on_cdnow(code: str, cdnow) -> None:
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    fitted = MODELS[code]().fit(x, t_x, T)
    restored = MODELS[code].from_params(_json_round_trip(fitted.params_))
    assert type(restored) is type(fitted) and restored.params_ == fitted.params_
    assert list(restored.params_) == list(fitted.params_)
    assert not hasattr(restored, "result_") and not hasattr(restored, "n_iter_")
    np.testing.assert_array_equal(restored.p_alive(x, t_x, T), fitted.p_alive(x, t_x, T))
    np.testing.assert_array_equal(
        restored.conditional_expected_purchases(52.0, x, t_x, T), fitted.conditional_expected_purchases(52.0, x, t_x, T)
    )
    np.testing.assert_array_equal(restored.p_alive_later(13.0, x, t_x, T), fitted.p_alive_later(13.0, x, t_x, T))
    np.testing.assert_array_equal(
        restored.expected_purchases(np.arange(1.0, 79.0)), fitted.expected_purchases(np.arange(1.0, 79.0))
    )
    np.testing.assert_array_equal(restored.loglik(x, t_x, T), fitted.loglik(x, t_x, T))


def test_gamma_gamma_round_trip_on_cdnow(cdnow_money) -> None:
    x, z = cdnow_money["x"], cdnow_money["zbar"]
    fitted = GammaGamma().fit(x, z)
    restored = MODELS["gg"].from_params(_json_round_trip(fitted.params_))
    np.testing.assert_array_equal(restored.conditional_expected_spend(x, z), fitted.conditional_expected_spend(x, z))
    assert restored.expected_spend() == fitted.expected_spend()


def test_bgbb_round_trip_on_donations(donations) -> None:
    data = (donations["frequency"], donations["recency"], donations["periods"])
    fitted = BetaGeoBetaBinom().fit(*data, weights=donations["weights"])
    restored = MODELS["bgbb"].from_params(_json_round_trip(fitted.params_))
    np.testing.assert_array_equal(restored.p_alive(*data), fitted.p_alive(*data))
    np.testing.assert_array_equal(
        restored.conditional_expected_purchases(5, *data), fitted.conditional_expected_purchases(5, *data)
    )
    np.testing.assert_array_equal(restored.prob_n_purchases(np.arange(7), 6), fitted.prob_n_purchases(np.arange(7), 6))


def test_sbg_round_trip_on_cohort() -> None:
    fitted = ShiftedBetaGeometric().fit(COHORT)
    restored = MODELS["sbg"].from_params(_json_round_trip(fitted.params_))
    t = np.arange(1, 13)
    np.testing.assert_array_equal(restored.survival(t), fitted.survival(t))
    np.testing.assert_array_equal(restored.retention_rate(t), fitted.retention_rate(t))
    np.testing.assert_array_equal(restored.derl(0.1, t), fitted.derl(0.1, t))


def test_covariate_model_round_trip_infers_covariate_params(cdnow) -> None:
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    X = np.column_stack([np.arange(x.size) % 2, np.arange(x.size) % 3 == 0]).astype(float)
    fitted = ParetoNBD(covariate_params=("alpha", "beta")).fit(x, t_x, T, covariates=X)
    params = _json_round_trip(fitted.params_)
    restored = ParetoNBD.from_params(params)  # covariate_params read from the coefficient names
    assert restored.covariate_params == ("alpha", "beta")
    explicit = ParetoNBD.from_params(params, covariate_params=["alpha", "beta"])  # a JSON list is accepted
    assert explicit.covariate_params == ("alpha", "beta")
    np.testing.assert_array_equal(restored.p_alive(x, t_x, T, covariates=X), fitted.p_alive(x, t_x, T, covariates=X))


def test_hyper_parameters_are_kept_and_checked() -> None:
    m = BetaGeo.from_params({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}, penalizer=0.1, max_iter=50)
    assert m.get_params()["penalizer"] == 0.1 and m.get_params()["max_iter"] == 50
    with pytest.raises(InputError, match=r"The 'penalizer' parameter of BetaGeo must be a float >= 0\. Got -1"):
        BetaGeo.from_params({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}, penalizer=-1)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"r": 0.24, "alpha": 4.4, "a": 0.79}, r"BetaGeo\.from_params: 'params' lacks 'b' \(expected r, alpha, a, b\)"),
        ({"r": 0.24, "alhpa": 4.4, "a": 0.79, "b": 2.4}, r"unknown parameter 'alhpa'; did you mean 'alpha'\?"),
        ({"r": -0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}, r"parameter 'r' must be a float > 0; got -0\.24"),
        ({"r": 0.24, "alpha": float("nan"), "a": 0.79, "b": 2.4}, r"parameter 'alpha' must be a float > 0; got nan"),
        ({"r": 0.24, "alpha": "4.4", "a": 0.79, "b": 2.4}, r"parameter 'alpha' must be a float > 0; got '4\.4'"),
        (
            {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4, "alpha_coef[0]": float("inf")},
            r"parameter 'alpha_coef\[0\]' must be a finite float; got inf",
        ),
        (
            {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4, "alpha_coef[1]": 0.1},
            r"unknown parameter 'alpha_coef\[1\]'; did you mean 'alpha_coef\[0\]'\?",
        ),
    ],
)
def test_bad_params_are_input_errors(params: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        BetaGeo.from_params(params)  # type: ignore[arg-type]


def test_covariate_params_without_coefficients() -> None:
    with pytest.raises(InputError, match=r"covariate_params=\('alpha',\) needs the coefficients 'alpha_coef\[0\]'"):
        BetaGeo.from_params({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}, covariate_params=("alpha",))
    with pytest.raises(InputError, match="'covariate_params' parameter of GammaGamma must be an empty tuple"):
        GammaGamma.from_params({"p": 6.0, "q": 3.7, "gamma": 15.0, "p_coef[0]": 0.1})


def test_a_restored_covariate_model_needs_covariates() -> None:
    m = BetaGeo.from_params({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4, "alpha_coef[0]": 0.3})
    with pytest.raises(InputError, match="pass 'covariates'"):
        m.p_alive([1.0], [2.0], [10.0])
    with pytest.raises(NotFittedError):
        BetaGeo().p_alive([1.0], [2.0], [10.0])
