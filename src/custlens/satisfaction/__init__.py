"""Satisfaction and loyalty measurement: PLS path modelling (ACSI/ECSI/SCSB) and Kano.

The PLS engine (:func:`fit_pls`) reproduces SmartPLS 2 and seminr on the ECSI
mobile-phone data for the path, centroid and factorial inner weighting schemes; see
docs/satisfaction.md for the algorithm, its conventions and the sources of every formula.
"""

from __future__ import annotations

from custlens.satisfaction.bootstrap import BootstrapResult, bootstrap
from custlens.satisfaction.index import IndexResult, satisfaction_index
from custlens.satisfaction.ipma import ipma, ipma_figure
from custlens.satisfaction.kano import KanoResult, classify, kano, kano_figure, parse_answer
from custlens.satisfaction.model import (
    ACSI,
    BUILTIN_MODELS,
    ECSI,
    SCSB,
    Block,
    ModelSpec,
    get_model,
    load_spec,
    parse_spec,
)
from custlens.satisfaction.names import CONSTRUCT_NAMES_ZH, KANO_CATEGORY_NAMES, construct_zh, kano_category_zh
from custlens.satisfaction.pls import PLSResult, fit_pls
from custlens.satisfaction.quality import quality_report
from custlens.satisfaction.report import PLSReport, pls_report
from custlens.satisfaction.survey import SurveyMatrix, indices_by_segment, kano_answers, survey_matrix

__all__ = [
    "ACSI",
    "BUILTIN_MODELS",
    "CONSTRUCT_NAMES_ZH",
    "KANO_CATEGORY_NAMES",
    "ECSI",
    "SCSB",
    "Block",
    "BootstrapResult",
    "IndexResult",
    "KanoResult",
    "ModelSpec",
    "PLSReport",
    "PLSResult",
    "SurveyMatrix",
    "bootstrap",
    "classify",
    "construct_zh",
    "kano_category_zh",
    "fit_pls",
    "get_model",
    "indices_by_segment",
    "ipma",
    "ipma_figure",
    "kano",
    "kano_figure",
    "load_spec",
    "parse_answer",
    "parse_spec",
    "pls_report",
    "quality_report",
    "satisfaction_index",
    "survey_matrix",
    "kano_answers",
]
