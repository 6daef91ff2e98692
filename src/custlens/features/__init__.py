"""Per-customer summaries as Ibis expressions: purchase histories, value indicators, cohorts.

Every function takes Ibis tables with the canonical column names of
:mod:`custlens.schema` (overridable by keyword) and an explicit as-of / observation end
(default: the last transaction day), and returns an Ibis expression that runs on any Ibis
backend (DuckDB, PySpark). :func:`to_frame` executes one as pandas, polars or Arrow.
"""

from __future__ import annotations

from custlens.features._base import to_frame
from custlens.features._input import load_transactions, summarize_file, summarize_workspace
from custlens.features.cohorts import cohort_table, cohort_triangle, period_values
from custlens.features.history import calibration_holdout, purchase_history
from custlens.features.indicators import (
    ATTRIBUTE_COLUMNS,
    CONTACT_INDICATORS,
    FINANCIAL_INDICATORS,
    INDICATOR_COLUMNS,
    TRANSACTION_INDICATORS,
    value_indicators,
)

__all__ = [
    "to_frame",
    "purchase_history",
    "calibration_holdout",
    "value_indicators",
    "period_values",
    "cohort_table",
    "cohort_triangle",
    "load_transactions",
    "summarize_file",
    "summarize_workspace",
    "INDICATOR_COLUMNS",
    "TRANSACTION_INDICATORS",
    "FINANCIAL_INDICATORS",
    "CONTACT_INDICATORS",
    "ATTRIBUTE_COLUMNS",
]
