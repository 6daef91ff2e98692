"""Plotly figures of segmentation and scoring results, and the self-contained HTML report.

Every figure function takes plain result tables with documented columns and returns a
:class:`plotly.graph_objects.Figure`; :func:`write_report` writes one HTML file with
plotly.js embedded (it opens offline); :func:`build_report` draws the report of a stored
analysis (:mod:`custlens.analysis`); it computes nothing. See ``docs/report.md``.
"""

from __future__ import annotations

from custlens.report._build import PERSONA_METHODS, SECTION_KEYS, build_report, report_sections
from custlens.report._figures import (
    churn_rate_figure,
    cluster_profile_figure,
    clv_distribution_figure,
    key_figures_table,
    migration_figure,
    pareto_figure,
    playbook_table_figure,
    pyramid_figure,
    ranking_table_figure,
    rfm_heatmap_figure,
    risk_band_figure,
    satisfaction_figure,
    segment_sizes_figure,
    state_flow_figure,
    table_figure,
    value_matrix_figure,
)
from custlens.report._figures_ext import (
    churn_reasons_figure,
    complaint_table_figure,
    persona_card_figure,
    pivot_table_figure,
    value_components_figure,
)
from custlens.report._html import ReportSection, render_report, write_report

__all__ = [
    "PERSONA_METHODS",
    "SECTION_KEYS",
    "ReportSection",
    "build_report",
    "churn_rate_figure",
    "churn_reasons_figure",
    "clv_distribution_figure",
    "complaint_table_figure",
    "cluster_profile_figure",
    "key_figures_table",
    "migration_figure",
    "pareto_figure",
    "persona_card_figure",
    "pivot_table_figure",
    "playbook_table_figure",
    "pyramid_figure",
    "ranking_table_figure",
    "render_report",
    "report_sections",
    "rfm_heatmap_figure",
    "risk_band_figure",
    "satisfaction_figure",
    "segment_sizes_figure",
    "state_flow_figure",
    "table_figure",
    "value_components_figure",
    "value_matrix_figure",
    "write_report",
]
