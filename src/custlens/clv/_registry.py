"""The estimators by their short codes: the codes of ``custlens fit`` and of stored analyses."""

from __future__ import annotations

from custlens.clv._base import MLEstimator
from custlens.clv._discrete import BetaGeoBetaBinom, ShiftedBetaGeometric
from custlens.clv._spend import GammaGamma
from custlens.clv._transaction import BetaGeo, ModifiedBetaGeo, ParetoNBD, _TransactionModel

__all__ = ["MODELS", "PURCHASE_MODELS"]

#: Every estimator by code. ``MODELS[code].from_params(params)`` restores a stored model.
MODELS: dict[str, type[MLEstimator]] = {
    "bgnbd": BetaGeo,
    "mbgnbd": ModifiedBetaGeo,
    "pnbd": ParetoNBD,
    "bgbb": BetaGeoBetaBinom,
    "sbg": ShiftedBetaGeometric,
    "gg": GammaGamma,
}

#: The continuous-time purchase models, the ones lifetime value is computed from.
PURCHASE_MODELS: dict[str, type[_TransactionModel]] = {"bgnbd": BetaGeo, "mbgnbd": ModifiedBetaGeo, "pnbd": ParetoNBD}
