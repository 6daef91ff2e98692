"""Churn outputs: expected next-order date, risk bands, churn rate, at-risk list, and why and how customers leave.

The results layer on top of the value models: it reads per-customer summaries (with
P(alive) and CLV from :mod:`custlens.clv`, or computes them) and activity records, and
returns Arrow tables. Lost customers are typed permanent or temporary (永久流失型 /
暂时流失型), their reasons read from the interactions, the moves between relationship
states measured per period, and win-back campaigns followed up. ``docs/churn.md`` documents
every output and default.
"""

from __future__ import annotations

from custlens.churn._bands import (
    BAND_LABELS,
    DEFAULT_OVERDUE_THRESHOLDS,
    DEFAULT_P_ALIVE_THRESHOLDS,
    band_from_overdue,
    band_from_p_alive,
)
from custlens.churn._conversion import SALES_SUCCESS_RATES, period_ends, state_conversion
from custlens.churn._loss import LOSS_TYPES, gap_returns, loss_types, return_after_gap_rate
from custlens.churn._rate import churn_rate_by_period, expected_churn_rate, model_churn_rate
from custlens.churn._reasons import (
    COMPLAINT_BENCHMARKS,
    churn_reasons,
    complaint_resolution,
    load_reasons,
    reasons_by_segment,
)
from custlens.churn._report import at_risk_list, churn_report, churn_table
from custlens.churn._winback import winback_outcomes, winback_summary

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
    "LOSS_TYPES",
    "gap_returns",
    "return_after_gap_rate",
    "loss_types",
    "SALES_SUCCESS_RATES",
    "period_ends",
    "state_conversion",
    "COMPLAINT_BENCHMARKS",
    "load_reasons",
    "churn_reasons",
    "reasons_by_segment",
    "complaint_resolution",
    "winback_outcomes",
    "winback_summary",
]
