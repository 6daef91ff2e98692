"""Customer lifetime value: probabilistic purchase and spend models, and value per customer.

Estimators (scikit-learn manner: ``fit`` returns the estimator, learned values end in ``_``):
:class:`BetaGeo` (BG/NBD), :class:`ModifiedBetaGeo` (MBG/NBD), :class:`ParetoNBD`,
:class:`GammaGamma`,
:class:`BetaGeoBetaBinom` (BG/BB), :class:`ShiftedBetaGeometric` (sBG). The pure maths of each model family lives in ``custlens.clv._<family>``.
"""

from __future__ import annotations

from custlens.clv._discrete import BetaGeoBetaBinom, ShiftedBetaGeometric
from custlens.clv._result import FitResult
from custlens.clv._spend import GammaGamma
from custlens.clv._transaction import BetaGeo, ModifiedBetaGeo, ParetoNBD
from custlens.clv.evaluation import (
    compare_models,
    conditional_expectations,
    conditional_expectations_figure,
    tracking,
    tracking_figure,
)
from custlens.clv.tables import fit_summary
from custlens.clv.value import UNITS_PER_MONTH, customer_lifetime_value, discounted_expected_purchases, score_customers

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "ShiftedBetaGeometric",
    "UNITS_PER_MONTH",
    "compare_models",
    "conditional_expectations",
    "conditional_expectations_figure",
    "tracking",
    "tracking_figure",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "fit_summary",
    "score_customers",
    "FitResult",
    "GammaGamma",
    "ModifiedBetaGeo",
    "ParetoNBD",
]
