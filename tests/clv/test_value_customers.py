"""value_customers and CLVResult: the table, the models behind it, the settings; covariates
through lifetime value; the public conditional_curve."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from custlens.clv import (
    MODELS,
    BetaGeo,
    CLVResult,
    GammaGamma,
    ParetoNBD,
    customer_lifetime_value,
    value_customers,
)
from custlens.errors import InputError, NotFittedError

OPTIONS = ("horizon_months", "monthly_discount", "time_unit", "margin", "discounting")


@pytest.fixture(scope="module")
def summary(cdnow_money) -> pa.Table:
    return pa.table(
        {
            "customer_id": cdnow_money["ID"].astype(str),
            "frequency": cdnow_money["x"],
            "recency": cdnow_money["t_x"],
            "T": cdnow_money["T"],
            "monetary_value": cdnow_money["zbar"],
            # time-invariant covariates: two groups and three tiers, 6 distinct parameter sets
            "group": (cdnow_money["ID"] % 2).astype(float),
            "tier": (cdnow_money["ID"] % 3).astype(float),
        }
    )


def _arrays(summary: pa.Table) -> tuple[np.ndarray, ...]:
    return tuple(summary.column(c).to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))


def test_result_models_reproduce_the_table(summary) -> None:
    res = value_customers(summary, model="pnbd", horizon_months=18, monthly_discount=0.02, margin=0.4)
    assert isinstance(res, CLVResult)
    assert isinstance(res.purchase_model, ParetoNBD) and isinstance(res.spend_model, GammaGamma)
    assert res.table.column_names == ["customer_id", "p_alive", "expected_purchases", "expected_spend", "clv"]
    assert res.table.column("customer_id").equals(summary.column("customer_id"))
    x, t_x, T, z = _arrays(summary)
    options = {k: res.settings[k] for k in OPTIONS}
    spend = res.spend_model.conditional_expected_spend(x, z)
    again = customer_lifetime_value(res.purchase_model, x, t_x, T, spend, customer_id=summary["customer_id"], **options)
    assert again.equals(res.table)
    # the stored analysis: parameters and settings as JSON, models restored with from_params
    stored = json.loads(
        json.dumps({"settings": res.settings, "purchase": res.purchase_model.params_, "spend": res.spend_model.params_})
    )
    restored = value_customers(
        summary,
        **{
            **stored["settings"],
            "model": MODELS[stored["settings"]["model"]].from_params(stored["purchase"]),
            "spend": MODELS["gg"].from_params(stored["spend"]),
        },
    )
    assert restored.table.equals(res.table)
    # the settings alone (refitting) give the same table as well
    assert value_customers(summary, **stored["settings"]).table.equals(res.table)


def test_settings_are_the_resolved_options(summary) -> None:
    res = value_customers(summary, time_unit="w", spend=None, columns={"customer_id": "customer_id"})
    assert res.settings == {
        "model": "bgnbd",
        "spend": None,
        "horizon_months": 12.0,
        "monthly_discount": 0.01,
        "time_unit": "W",
        "margin": 1.0,
        "discounting": "discrete",
        "columns": {k: k for k in ("customer_id", "frequency", "recency", "T", "monetary_value")},
        "covariates": None,
        "covariate_params": None,
        "penalizer": 0.0,
    }
    assert res.spend_model is None
    np.testing.assert_array_equal(
        res.table.column("expected_spend").to_numpy(), summary.column("monetary_value").to_numpy()
    )


def test_fitted_models_are_used_as_given(summary) -> None:
    x, t_x, T, z = _arrays(summary)
    bg = BetaGeo().fit(x, t_x, T)
    gg = GammaGamma().fit(x, z)
    res = value_customers(summary, model=bg, spend=gg)
    assert res.purchase_model is bg and res.spend_model is gg
    assert res.table.equals(value_customers(summary).table)
    with pytest.raises(NotFittedError):
        value_customers(summary, model=BetaGeo())


@pytest.mark.parametrize(
    ("model", "targets", "discounting"),
    [("bgnbd", ("alpha", "b"), "discrete"), ("pnbd", ("alpha", "beta"), "continuous")],
)
def test_covariate_clv_uses_each_customers_own_parameters(summary, model, targets, discounting) -> None:
    """A covariate model's CLV equals the plain model's CLV at each customer's row parameters."""
    res = value_customers(
        summary, model=model, covariates=["group", "tier"], covariate_params=targets, discounting=discounting
    )
    fitted = res.purchase_model
    assert fitted.covariate_params == targets
    assert res.settings["covariates"] == ["group", "tier"] and res.settings["covariate_params"] == list(targets)
    x, t_x, T, _ = _arrays(summary)
    X = np.column_stack([summary.column("group").to_numpy(), summary.column("tier").to_numpy()])
    spend = res.table.column("expected_spend").to_numpy()
    clv = res.table.column("clv").to_numpy()
    signs = type(fitted)._covariate_signs
    for g in (0.0, 1.0):
        for tier in (0.0, 1.0, 2.0):
            rows = (X[:, 0] == g) & (X[:, 1] == tier)
            own = {k: fitted.params_[k] for k in type(fitted)._param_names}
            for name in targets:
                coef = fitted.params_[f"{name}_coef[0]"] * g + fitted.params_[f"{name}_coef[1]"] * tier
                own[name] *= np.exp(signs[name] * coef)
            plain = MODELS[model].from_params(own)
            expected = customer_lifetime_value(
                plain, x[rows], t_x[rows], T[rows], spend[rows], discounting=discounting
            ).column("clv")
            np.testing.assert_allclose(clv[rows], expected.to_numpy(), rtol=1e-12)
    # the groups really differ: the covariates move the values
    assert not np.allclose(clv[X[:, 0] == 0].mean(), clv[X[:, 0] == 1].mean(), rtol=1e-3)
    # a covariate model given back must come with its covariates
    with pytest.raises(InputError, match="'covariates' must name the covariate columns"):
        value_customers(summary, model=fitted)
    again = value_customers(summary, model=fitted, covariates=["group", "tier"], discounting=discounting)
    np.testing.assert_array_equal(again.table.column("clv").to_numpy(), clv)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"model": "bgnd"},
            r"'model' must be one of bgnbd, mbgnbd, pnbd or a fitted purchase model; got 'bgnd'; did you mean 'bgnbd'\?",
        ),
        (
            {"model": GammaGamma()},
            r"'model' must be one of bgnbd, mbgnbd, pnbd or a fitted purchase model; got GammaGamma",
        ),
        ({"spend": "mean"}, r"'spend' must be 'gg', None or a fitted GammaGamma; got 'mean'"),
        (
            {"columns": {"frequncy": "x"}},
            r"'columns' keys must be among .*; got 'frequncy'; did you mean 'frequency'\?",
        ),
        ({"columns": {"frequency": "x"}}, r"the summary has no column 'x' \(for frequency\)"),
        ({"covariate_params": ("alpha",)}, r"'covariate_params' needs 'covariates'"),
        ({"covariates": ["nosuch"]}, r"the summary has no column 'nosuch' \(for covariates\)"),
        (
            {"horizon_months": -12},
            r"The 'horizon_months' parameter of customer_lifetime_value must be a float > 0 and <= 1200 \(100 years\)\. Got -12",
        ),
        ({"monthly_discount": -0.5}, r"'monthly_discount' parameter .* must be a float >= 0\. Got -0\.5"),
        ({"margin": -1.0}, r"'margin' parameter .* must be a float >= 0\. Got -1\.0"),
        ({"time_unit": "Y"}, r"'time_unit' must be one of D \(days\), W .*; got 'Y'"),
        ({"discounting": "yearly"}, r"'discounting' must be 'discrete' or 'continuous'; got 'yearly'"),
    ],
)
def test_errors_name_the_library_parameter(summary, options, message) -> None:
    with pytest.raises(InputError, match=message):
        value_customers(summary, **options)


def test_conditional_curve_is_the_conditional_expectation_on_a_grid(summary) -> None:
    x, t_x, T, _ = _arrays(summary)
    X = np.column_stack([summary.column("group").to_numpy(), summary.column("tier").to_numpy()])
    times = np.array([0.0, 4.348, 13.0, 52.18])
    for model, cov in (
        (BetaGeo().fit(x, t_x, T), None),
        (ParetoNBD(covariate_params=("beta",)).fit(x, t_x, T, covariates=X), X),
    ):
        alive, curve = model.conditional_curve(times, x, t_x, T, covariates=cov)
        assert alive.shape == x.shape and curve.shape == (x.size, times.size)
        np.testing.assert_allclose(alive, model.p_alive(x, t_x, T, covariates=cov), rtol=1e-13)
        for j, t in enumerate(times):
            np.testing.assert_allclose(
                curve[:, j], model.conditional_expected_purchases(t, x, t_x, T, covariates=cov), rtol=1e-12, atol=1e-300
            )
    with pytest.raises(InputError, match="'times' must be one-dimensional"):
        BetaGeo.from_params({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}).conditional_curve([[1.0]], x, t_x, T)
    with pytest.raises(InputError, match="'times' must be finite numbers >= 0"):
        BetaGeo.from_params({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}).conditional_curve([-1.0], x, t_x, T)


def test_expected_spend_shape_is_checked(summary) -> None:
    x, t_x, T, _ = _arrays(summary)
    bg = BetaGeo.from_params({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4})
    one = customer_lifetime_value(bg, x, t_x, T, 10.0)
    assert np.all(one.column("expected_spend").to_numpy() == 10.0)
    with pytest.raises(InputError, match=r"'expected_spend' must be one value or one per customer \(2357\)"):
        customer_lifetime_value(bg, x, t_x, T, np.ones(3))
    with pytest.raises(
        InputError, match="'model' must be a fitted BetaGeo, ModifiedBetaGeo or ParetoNBD; got GammaGamma"
    ):
        customer_lifetime_value(GammaGamma.from_params({"p": 6.0, "q": 3.7, "gamma": 15.0}), x, t_x, T, 1.0)
