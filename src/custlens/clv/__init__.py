"""Customer lifetime value: probabilistic purchase and spend models, and value per customer.

Estimators (scikit-learn manner: ``fit`` returns the estimator, learned values end in ``_``):
:class:`BetaGeo` (BG/NBD), :class:`ModifiedBetaGeo` (MBG/NBD), :class:`ParetoNBD`,
:class:`BetaGeoBetaBinom` (BG/BB), :class:`ShiftedBetaGeometric` (sBG), :class:`GammaGamma`.
The pure maths of each model family lives in ``custlens.clv._<family>``; lifetime value in
:mod:`custlens.clv.value`; evaluation in :mod:`custlens.clv.evaluation`. The formula models
of CRM practice are in :mod:`custlens.clv.formula` and re-exported here.
"""

from __future__ import annotations

from custlens.clv import formula
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
from custlens.clv.formula import *  # noqa: F403  (the formula models' public names, see formula.__all__)
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
    "formula",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "fit_summary",
    "score_customers",
    "FitResult",
    "GammaGamma",
    "ModifiedBetaGeo",
    "ParetoNBD",
]
__all__ += list(formula.__all__)
