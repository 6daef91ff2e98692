"""Satisfaction and loyalty measurement: PLS path modelling (ACSI/ECSI/SCSB) and Kano.

The PLS engine (:func:`fit_pls`) reproduces SmartPLS, seminr and semPLS on the ECSI
mobile-phone data for the path, centroid and factorial inner weighting schemes; see
docs/satisfaction.md for the algorithm, its conventions and the sources of every formula.
"""

from __future__ import annotations

from custlens.satisfaction.model import ACSI, BUILTIN_MODELS, ECSI, SCSB, Block, ModelSpec, get_model, load_spec, parse_spec
from custlens.satisfaction.pls import PLSResult, fit_pls

__all__ = [
    "ACSI",
    "BUILTIN_MODELS",
    "ECSI",
    "SCSB",
    "Block",
    "ModelSpec",
    "PLSResult",
    "fit_pls",
    "get_model",
    "load_spec",
    "parse_spec",
]
