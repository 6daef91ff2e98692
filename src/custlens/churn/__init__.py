"""Churn outputs: expected next-order date, risk bands, churn rate, at-risk list.

The results layer on top of the value models: it reads per-customer summaries (with
P(alive) and CLV from :mod:`custlens.clv`, or computes them) and activity records, and
returns Arrow tables. ``docs/churn.md`` documents every output and default.
"""

from __future__ import annotations

from custlens.churn._bands import (
    BAND_LABELS,
    DEFAULT_OVERDUE_THRESHOLDS,
    DEFAULT_P_ALIVE_THRESHOLDS,
    band_from_overdue,
    band_from_p_alive,
)
from custlens.churn._rate import churn_rate_by_period, expected_churn_rate, model_churn_rate
from custlens.churn._report import at_risk_list, churn_report, churn_table

__all__ = [
    "BAND_LABELS",
    "DEFAULT_P_ALIVE_THRESHOLDS",
    "DEFAULT_OVERDUE_THRESHOLDS",
    "band_from_p_alive",
    "band_from_overdue",
    "churn_rate_by_period",
    "expected_churn_rate",
    "model_churn_rate",
    "churn_table",
    "at_risk_list",
    "churn_report",
]
