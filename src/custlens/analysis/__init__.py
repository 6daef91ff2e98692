"""The standard analysis: every method run once for an as-of date, stored in the workspace.

:func:`analyze` computes value indicators, purchase histories, the fitted purchase and
spend models with every buyer's lifetime value, churn risk, the important-customer score,
every segmentation, the relationship-state flow, satisfaction with IPMA and Kano, and the
playbook per segment, and stores them as one dated analysis. The report, the demo, the
CLI and the service read a :class:`StoredAnalysis` (:func:`load_analysis`) instead of
recomputing. See ``docs/analysis.md``.
"""

from __future__ import annotations

from custlens.analysis._api import (
    TABLE_NAMES,
    StoredAnalysis,
    analyze,
    delete_analysis,
    list_analyses,
    load_analysis,
)
from custlens.analysis._config import METHODS, AnalysisConfig, load_analysis_config
from custlens.analysis._pipeline import (
    CHURN_COLUMNS,
    CLV_COLUMNS,
    HISTORY_COLUMNS,
    RFM_SCORE_COLUMNS,
    SCORE_COLUMNS,
    customer_columns,
)

__all__ = [
    "AnalysisConfig",
    "CHURN_COLUMNS",
    "CLV_COLUMNS",
    "HISTORY_COLUMNS",
    "METHODS",
    "RFM_SCORE_COLUMNS",
    "SCORE_COLUMNS",
    "StoredAnalysis",
    "TABLE_NAMES",
    "analyze",
    "customer_columns",
    "delete_analysis",
    "list_analyses",
    "load_analysis",
    "load_analysis_config",
]
