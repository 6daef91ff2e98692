"""Customer lifetime value: probabilistic purchase and spend models, and value per customer.

Estimators (scikit-learn manner: ``fit`` returns the estimator, learned values end in ``_``):
:class:`BetaGeo` (BG/NBD), :class:`ModifiedBetaGeo` (MBG/NBD), :class:`ParetoNBD`,
:class:`BetaGeoBetaBinom` (BG/BB), :class:`ShiftedBetaGeometric` (sBG), :class:`GammaGamma`;
:data:`MODELS` lists them by code, and ``MODELS[code].from_params(params)`` restores a stored
model. The pure maths of each model family lives in ``custlens.clv._<family>``; lifetime
value in :mod:`custlens.clv.value` (arrays), :func:`value_customers` (a summary table) and
:func:`value_transactions` (a transaction log, valued in its engine: DuckDB or Spark);
evaluation in :mod:`custlens.clv.evaluation`; the components of lifetime value (historical,
current, potential; :func:`value_components`) and its sensitivity to each factor
(:func:`clv_sensitivity`, :func:`tornado_figure`) in :mod:`custlens.clv.components` and
:mod:`custlens.clv.sensitivity`. The formula models of CRM practice are in
:mod:`custlens.clv.formula` and re-exported here.

Importing the package loads nothing else: the estimators, the functions above and the
formula models are loaded on first use (with NumPy, ``scipy.special`` where a model needs
it, and pyarrow for the tables). ``scipy.optimize`` comes with the first fit that needs it (a large fit of a model
with an analytic Hessian takes Newton steps and does not); ``scipy.stats``, Ibis and Plotly
with the functions that use them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from custlens.clv import formula
    from custlens.clv._discrete import BetaGeoBetaBinom, ShiftedBetaGeometric
    from custlens.clv._engine import value_transactions
    from custlens.clv._registry import MODELS
    from custlens.clv._result import FitResult
    from custlens.clv._spend import GammaGamma
    from custlens.clv._transaction import BetaGeo, ModifiedBetaGeo, ParetoNBD
    from custlens.clv.components import COMPONENTS, PARTS, ComponentsResult, value_components
    from custlens.clv.evaluation import (
        compare_models,
        conditional_expectations,
        conditional_expectations_figure,
        tracking,
        tracking_figure,
    )
    from custlens.clv.formula import *  # noqa: F403  (the formula models' public names)
    from custlens.clv.sensitivity import FACTORS, clv_sensitivity, tornado_figure, tornado_table
    from custlens.clv.tables import CLVResult, fit_summary, value_customers
    from custlens.clv.value import customer_lifetime_value, discounted_expected_purchases

#: where each public name lives; loaded on first use (PEP 562), so that a command that fits
#: one model does not import the value components' pyarrow.compute or the CLV's scipy.fft
_LAZY = {
    "BetaGeoBetaBinom": "_discrete",
    "ShiftedBetaGeometric": "_discrete",
    "MODELS": "_registry",
    "FitResult": "_result",
    "GammaGamma": "_spend",
    "BetaGeo": "_transaction",
    "ModifiedBetaGeo": "_transaction",
    "ParetoNBD": "_transaction",
    "COMPONENTS": "components",
    "PARTS": "components",
    "ComponentsResult": "components",
    "value_components": "components",
    "compare_models": "evaluation",
    "conditional_expectations": "evaluation",
    "conditional_expectations_figure": "evaluation",
    "tracking": "evaluation",
    "tracking_figure": "evaluation",
    "FACTORS": "sensitivity",
    "clv_sensitivity": "sensitivity",
    "tornado_figure": "sensitivity",
    "tornado_table": "sensitivity",
    "CLVResult": "tables",
    "fit_summary": "tables",
    "value_customers": "tables",
    "value_transactions": "_engine",
    "customer_lifetime_value": "value",
    "discounted_expected_purchases": "value",
}

#: the formula models' public names (``formula.__all__``, re-exported here; a test checks the
#: list), loaded with :mod:`custlens.clv.formula` on first use
_FORMULA_NAMES = (
    "TIMINGS",
    "simple_clv",
    "retention_clv",
    "berger_nasr_constant",
    "margin_multiple",
    "expected_lifetime",
    "recency_transition_matrix",
    "check_transition_matrix",
    "markov_value",
    "state_distribution",
    "TransitionEstimate",
    "PERIOD_UNITS",
    "period_index",
    "estimate_recency_chain",
    "estimate_state_transitions",
    "survival_curve",
    "discounted_value",
    "revenue_clv",
    "profit_clv",
    "contribution_clv",
    "NextPurchase",
    "mean_gap_next_purchase",
    "GammaWait",
    "gamma_next_purchase",
)
_LAZY.update(dict.fromkeys(_FORMULA_NAMES, "formula"))


def __getattr__(name: str) -> Any:
    if name == "formula":
        return import_module(f"{__name__}.formula")  # importing sets the attribute too
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"formula"})


__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "CLVResult",
    "COMPONENTS",
    "ComponentsResult",
    "FACTORS",
    "PARTS",
    "FitResult",
    "GammaGamma",
    "MODELS",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "ShiftedBetaGeometric",
    "clv_sensitivity",
    "compare_models",
    "conditional_expectations",
    "conditional_expectations_figure",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "fit_summary",
    "formula",
    "tornado_figure",
    "tornado_table",
    "tracking",
    "tracking_figure",
    "value_components",
    "value_customers",
    "value_transactions",
]
__all__ += list(_FORMULA_NAMES)
