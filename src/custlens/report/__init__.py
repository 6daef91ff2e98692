"""Plotly figures of segmentation and scoring results, and the self-contained HTML report.

Every figure function takes plain result tables with documented columns and returns a
:class:`plotly.graph_objects.Figure`; :func:`write_report` writes one HTML file with
plotly.js embedded (it opens offline); :func:`build_report` runs the standard analyses
and writes the report in one call. See ``docs/report.md``.
"""

from __future__ import annotations

from custlens.report._build import DEFAULT_SCORE_INDICATORS, build_report, report_sections
from custlens.report._figures import (
    concentration,
    migration_figure,
    pareto_figure,
    playbook_table_figure,
    pyramid_figure,
    ranking_table_figure,
    rfm_heatmap_figure,
    segment_sizes_figure,
    value_matrix_figure,
)
from custlens.report._html import ReportSection, render_report, write_report

__all__ = [
    "DEFAULT_SCORE_INDICATORS",
    "ReportSection",
    "build_report",
    "concentration",
    "migration_figure",
    "pareto_figure",
    "playbook_table_figure",
    "pyramid_figure",
    "ranking_table_figure",
    "render_report",
    "report_sections",
    "rfm_heatmap_figure",
    "segment_sizes_figure",
    "value_matrix_figure",
    "write_report",
]
