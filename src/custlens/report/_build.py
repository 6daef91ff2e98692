"""The standard report, drawn from a stored analysis (nothing is computed here).

Every number in the report is read from a :class:`custlens.analysis.StoredAnalysis`:
the per-customer table, the segment summaries and the small result tables the analysis
stored. The report and every other edge therefore show the same figures.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.compute as pc

from custlens.errors import CustlensError
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
from custlens.report._html import ReportSection, write_report

if TYPE_CHECKING:
    from custlens.analysis import StoredAnalysis

__all__ = ["build_report", "report_sections", "SECTION_KEYS", "PERSONA_METHODS"]

logger = logging.getLogger(__name__)

_TITLES = {
    "rfm": "RFM segments",
    "abc": "ABC classes",
    "pyramid": "Value pyramid tiers",
    "value_matrix": "Customer value matrix quadrants",
    "clv_matrix": "CLV matrix",
    "state": "Relationship states",
    "lifecycle": "Lifecycle stages",
    "cluster": "k-means clusters",
}

SECTION_KEYS = (
    "overview",
    "segments",
    "pareto",
    "pyramid",
    "rfm_heatmap",
    "value_matrix",
    "cube",
    "clv_distribution",
    "clv_matrix",
    "value_components",
    "sensitivity",
    "churn",
    "at_risk",
    "churn_reasons",
    "state_flow",
    "migration",
    "satisfaction",
    "ipma",
    "kano",
    "clusters",
    "personas",
    "ranking",
    "playbook",
)
"""The report's sections, in order; each is left out when its results were not stored."""

PERSONA_METHODS = ("value_matrix", "rfm", "pyramid", "state")
"""Segmentations whose persona cards the report shows by default, first stored first."""


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _overview(analysis: StoredAnalysis) -> ReportSection:
    o = analysis.details.get("overview", {})
    c = analysis.details.get("concentration", {})
    figures = [
        ("as of", analysis.as_of.isoformat()),
        ("analysis", analysis.analysis_id),
        ("customers", f"{o.get('customers', 0):,.0f}"),
        ("customers with purchases", f"{o.get('buyers', 0):,.0f}"),
        ("revenue (net of returns)", _money(o.get("revenue", 0.0))),
        ("purchase orders", f"{o.get('orders', 0):,.0f}"),
        ("repeat-buyer share", f"{o.get('repeat_share', 0.0):.1%}"),
        ("mean P(alive)", f"{o.get('mean_p_alive', 0.0):.3f}"),
        (f"CLV over {analysis.config['clv']['horizon_months']:g} months, total", _money(o.get("clv_total", 0.0))),
        ("customers at risk", f"{o.get('at_risk_customers', 0):,.0f}"),
        ("value at stake", _money(o.get("value_at_stake", 0.0))),
    ]
    if c.get("gini") is not None:
        figures.append(("Gini coefficient of revenue", f"{c['gini']:.3f}"))
    if c.get("top_share_value") is not None:
        figures.append((f"revenue share of the top {c.get('top_share', 0.2):.0%}", f"{c['top_share_value']:.1%}"))
    for role, entry in analysis.models.items():
        params = ", ".join(f"{k} {v:.4g}" for k, v in entry["params"].items())
        figures.append((f"{role} model ({entry['model']})", params))
    return ReportSection(
        "Key figures",
        key_figures_table(figures),
        "Headline figures of the stored analysis; every section below reads the same stored results.",
    )


def _segments(analysis: StoredAnalysis) -> list[ReportSection]:
    out = []
    for method in analysis.methods:
        out.append(
            ReportSection(
                f"{_TITLES.get(method, method)}: sizes and value shares",
                segment_sizes_figure(analysis.segment_summary(method)),
                "Share of customers and share of value per segment; a segment whose value share "
                "exceeds its customer share is worth more than an average customer.",
            )
        )
    return out


def _thresholds(analysis: StoredAnalysis, method: str) -> tuple[float, float] | None:
    details = analysis.details.get("segments", {}).get(method, {}) or {}
    if details.get("x_split") is None or details.get("y_split") is None:
        return None
    return float(details["x_split"]), float(details["y_split"])


def _at_risk(analysis: StoredAnalysis, top: int) -> ReportSection:
    columns = ["rank", "customer_id", "risk_band", "p_alive", "clv", "value_at_stake", "recency_days", "order_count"]
    data = analysis.at_risk(top=top).select(*columns).to_pyarrow()
    values = [
        [f"{v:,.3f}" if isinstance(v, float) else v for v in data.column(c).to_pylist()] for c in data.column_names
    ]
    return ReportSection(
        "Customers at risk",
        table_figure(
            columns,
            values,
            f"At-risk customers: top {data.num_rows} by value at stake",
            height=min(120 + 26 * data.num_rows, 1400),
        ),
        "Value at stake = lifetime value x (1 - P(alive)); bands "
        f"{', '.join(analysis.config['churn']['bands'])} (docs/churn.md).",
    )


def _ranking(analysis: StoredAnalysis, top: int) -> ReportSection:
    c = analysis.customers()
    ranking = c.select(rank=c.score_rank, customer_id=c.customer_id, score=c.score, tier=c.score_tier)
    ranking = ranking.filter(ranking["rank"].notnull())
    weights = analysis.result("score_weights").to_pylist()
    note = "Customers ranked by the important-customer score (1 = most important)."
    if weights:
        method = analysis.details.get("score", {}).get("method", "")
        note += f" Weights ({method}): " + ", ".join(f"{w['indicator']} {w['weight']:.3f}" for w in weights) + "."
    return ReportSection("Important customers", ranking_table_figure(ranking, top=top), note)


def _kano_section(analysis: StoredAnalysis) -> ReportSection:
    from custlens.satisfaction import kano_figure

    rows = analysis.result("kano").to_pylist()
    return ReportSection(
        "Kano diagram",
        kano_figure(rows),
        "Better (satisfaction when the attribute is present) against |Worse| (dissatisfaction when "
        "absent) for each attribute, with its Kano category.",
    )


def _ipma_section(analysis: StoredAnalysis) -> ReportSection:
    from custlens.satisfaction import ipma_figure

    rows = analysis.result("ipma").to_pylist()
    target = rows[0]["target"] if rows else "Satisfaction"
    data = {"target": target, "rows": rows}
    return ReportSection(
        "Importance-performance map",
        ipma_figure(data),
        "Constructs that matter most (total effect) but perform worst are the first to improve.",
    )


def _value_sections(analysis: StoredAnalysis) -> list[ReportSection]:
    """CLV components overall and per segment, and the tornado chart of the sensitivity table."""
    from custlens.clv import tornado_figure

    has = analysis.has_result
    out: list[ReportSection] = []
    value = analysis.config.get("value", {})
    details = analysis.details.get("value_components", {})
    if has("value_components"):
        costs = "no costs file: the cost lines and CLV4 are 0" if not value.get("costs") else f"costs {value['costs']}"
        out.append(
            ReportSection(
                "Lifetime value components",
                value_components_figure(analysis.result("value_components")),
                f"CLV1 first purchase to CLV6 loyalty, summed over the buyers, net of costs ({costs}). Historical = "
                f"to date, current = since {details.get('current_since', 'the last year')}, potential = the next "
                f"{details.get('horizon_months', analysis.config['clv']['horizon_months']):g} months, discounted "
                "(docs/value.md).",
            )
        )
    if has("value_components_by_segment"):
        by = analysis.result("value_components_by_segment")
        method = str(by["method"][0].as_py()) if by.num_rows else str(value.get("segments", ""))
        out.append(
            ReportSection(
                f"Lifetime value components by segment ({_TITLES.get(method, method)})",
                value_components_figure(by.drop_columns(["method"]), title=f"CLV components per {method} segment"),
                "The same components per segment and part; the diamond is the net value of the segment's buyers.",
            )
        )
    if has("clv_sensitivity"):
        out.append(
            ReportSection(
                "Lifetime value sensitivity (tornado)",
                tornado_figure(analysis.result("clv_sensitivity")),
                "The buyers' total potential value as each factor of the course text moves alone, lowest step "
                "(red) and highest (green) around the base; the largest swing is on top. Cost to serve and "
                "marketing move nothing while no costs are configured ([value] costs).",
            )
        )
    return out


def _lost_sections(analysis: StoredAnalysis) -> list[ReportSection]:
    """Loss types, churn reasons per segment and complaint resolution of the lost customers."""
    has = analysis.has_result
    out: list[ReportSection] = []
    kinds = ""
    if has("loss_types"):
        counts: dict[str, int] = {}
        for row in analysis.result("loss_types").to_pylist():
            key = f"{row['loss_type']} {row['loss_type_zh']}"
            counts[key] = counts.get(key, 0) + int(row["customers"])
        kinds = "Lost customers (relationship state lost): " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        kinds += "; temporary = P(alive) at or above the threshold or came back after a gap before."
    if has("churn_reasons"):
        out.append(
            ReportSection(
                "Churn reasons",
                churn_reasons_figure(analysis.result("churn_reasons")),
                f"{kinds} Each lost customer's reason is read from its interactions around the loss "
                "(docs/churn.md); bars give each reason's share per segment.".strip(),
            )
        )
    elif kinds:
        out.append(ReportSection("Lost customers", None, kinds))
    if has("complaint_resolution"):
        out.append(
            ReportSection(
                "Complaint resolution",
                complaint_table_figure(analysis.result("complaint_resolution")),
                "Complaints resolved, and the share of complainants still active when all their complaints "
                "were resolved or not; the course text's benchmark is 95 %.",
            )
        )
    return out


def _cube_sections(analysis: StoredAnalysis) -> list[ReportSection]:
    """One pivot table per stored cube measure: rows x columns with totals."""
    from custlens.cube import pivot_table

    if not analysis.has_result("cube"):
        return []
    cfg = analysis.config["cube"]
    table = analysis.result("cube")
    rows, columns = str(cfg["rows"]), str(cfg["columns"])
    out = []
    for measure in cfg["measures"]:
        out.append(
            ReportSection(
                f"Cube: {measure} by {rows} and {columns}",
                pivot_table_figure(pivot_table(table, measure, rows, columns), f"{measure} by {rows} x {columns}"),
                f"{measure} of the transactions up to the as-of date, with row and column totals "
                "(custlens cube, docs/cube.md).",
            )
        )
    return out


def _persona_sections(analysis: StoredAnalysis, method: str | None, top: int = 6) -> list[ReportSection]:
    """Persona cards of every segment of ``method`` from the tags stored for the analysis's date."""
    from custlens.tags import persona_cards, tag_history

    day = analysis.as_of.isoformat()
    how = f"apply tags (custlens tags apply --workspace W --as-of {day}) and draw the report again"
    runs = [r for r in tag_history(analysis.con).to_pylist() if r["as_of"] == analysis.as_of]
    if not runs:
        return [ReportSection("Persona cards", None, f"Left out because no tags were applied as of {day}: {how}.")]
    chosen = method or next((m for m in PERSONA_METHODS if m in analysis.methods), None)
    if chosen is None:
        return [ReportSection("Persona cards", None, "Left out because the analysis stored no segmentation.")]
    try:
        cards = persona_cards(analysis.con, chosen, as_of=analysis.as_of, top=top)
    except CustlensError as exc:
        return [ReportSection("Persona cards", None, f"Left out because {exc}")]
    source = runs[-1]["analysis_id"]
    origin = "" if source == analysis.analysis_id else f" (tags computed from analysis {source})"
    out = []
    for group in dict.fromkeys(cards["group"].to_pylist()):
        card = cards.filter(pc.equal(cards["group"], group))
        head = card.slice(0, 1).to_pylist()[0]
        share = head["group_share"] or 0.0
        revenue_share = head["group_revenue_share"] or 0.0
        out.append(
            ReportSection(
                f"Persona card: {_TITLES.get(chosen, chosen)}, {group}",
                persona_card_figure(card),
                f"{head['group_customers']:,} customers ({share:.1%}), {revenue_share:.1%} of revenue, CLV "
                f"{_money(head['group_clv'])}. Tags held by at least 10 % of the segment, most over-represented "
                f"first (lift = share in the segment / share of all customers), as of {day}{origin}.",
            )
        )
    if not out:
        out.append(ReportSection("Persona cards", None, f"No segment of {chosen} has a tag held by 10 % of it."))
    return out


def report_sections(
    analysis: StoredAnalysis,
    *,
    compare_to: StoredAnalysis | str | None = None,
    migration_method: str | None = None,
    top: int = 50,
    persona_method: str | None = None,
) -> list[ReportSection]:
    """The report's sections drawn from a stored analysis (see :data:`SECTION_KEYS`).

    Parameters
    ----------
    analysis
        The stored analysis to draw.
    compare_to
        An earlier stored analysis (or its id): adds the segment migration from it.
    migration_method
        The segmentation whose migration is shown (default: RFM when stored, else the first).
    top
        Rows of the at-risk and important-customer tables.
    persona_method
        The segmentation whose persona cards are shown when tags were applied for the
        analysis's date (default: the first stored of :data:`PERSONA_METHODS`).
    """
    if persona_method is not None and persona_method not in analysis.methods:
        from custlens.errors import InputError, did_you_mean

        raise InputError(
            f"'persona_method' must be a segmentation of analysis {analysis.analysis_id} "
            f"({', '.join(analysis.methods)}); got {persona_method!r}{did_you_mean(persona_method, analysis.methods)}"
        )
    sections: list[ReportSection] = [_overview(analysis)]
    sections += _segments(analysis)
    has = analysis.has_result
    conc = analysis.details.get("concentration")
    if has("pareto"):
        sections.append(
            ReportSection(
                "Pareto curve",
                pareto_figure(analysis.result("pareto"), concentration_figures=conc),
                "Cumulative share of revenue against the share of customers, best first; the label gives "
                "the share of the top 20 % and the Gini coefficient.",
            )
        )
    if "pyramid" in analysis.methods:
        sections.append(
            ReportSection(
                "Value pyramid",
                pyramid_figure(analysis.segment_summary("pyramid")),
                "Customers per tier, top tier first, with each tier's share of value.",
            )
        )
    if has("rfm_heatmap"):
        sections.append(
            ReportSection(
                "RFM heat map",
                rfm_heatmap_figure(analysis.result("rfm_heatmap")),
                "Mean monetary value for each pair of recency (rows) and frequency (columns) scores; "
                "hover for the number of customers.",
            )
        )
    if has("value_matrix_points"):
        sections.append(
            ReportSection(
                "Customer value matrix",
                value_matrix_figure(
                    analysis.result("value_matrix_points"), thresholds=_thresholds(analysis, "value_matrix")
                ),
                "Purchase frequency against average order value, coloured by quadrant; dashed lines are "
                "the split points.",
            )
        )
    sections += _cube_sections(analysis)
    if has("clv_histogram"):
        horizon = analysis.config["clv"]["horizon_months"]
        sections.append(
            ReportSection(
                "Lifetime value",
                clv_distribution_figure(analysis.result("clv_histogram")),
                f"Customers by discounted {horizon:g}-month lifetime value "
                f"({analysis.config['clv']['model']} purchases x {analysis.config['clv']['spend']} spend).",
            )
        )
    if has("clv_matrix_points"):
        sections.append(
            ReportSection(
                "CLV matrix",
                value_matrix_figure(
                    analysis.result("clv_matrix_points"),
                    frequency_col="current_value",
                    aov_col="potential_value",
                    thresholds=_thresholds(analysis, "clv_matrix"),
                    title="CLV matrix: current value x potential value (lifetime value)",
                ),
                "Most valuable (high now, high potential), most growable, maintain, abandon; dashed lines "
                "are the split points.",
            )
        )
    sections += _value_sections(analysis)
    if has("risk_bands"):
        sections.append(
            ReportSection(
                "Churn risk",
                risk_band_figure(analysis.result("risk_bands")),
                "Buyers per risk band (from P(alive) of the purchase model) and the lifetime value at stake.",
            )
        )
    if has("churn_rates"):
        try:
            sections.append(
                ReportSection(
                    "Churn rate",
                    churn_rate_figure(analysis.result("churn_rates")),
                    "Share of the customers active in a month who bought nothing the next month.",
                )
            )
        except CustlensError as exc:  # a single month of history has no rate to draw
            logger.info("report: churn rate left out (%s)", exc)
    sections.append(_at_risk(analysis, top))
    sections += _lost_sections(analysis)
    if has("state_flow"):
        days = analysis.config["state_flow"]["days"]
        sections.append(
            ReportSection(
                "Relationship-state flow",
                state_flow_figure(analysis.result("state_flow")),
                f"How customers moved between relationship states over the {days} days to the as-of date.",
            )
        )
    if compare_to is not None:
        method = migration_method or ("rfm" if "rfm" in analysis.methods else analysis.methods[0])
        moved = analysis.migration(compare_to, method)
        sections.append(
            ReportSection(
                f"Segment migration ({_TITLES.get(method, method)})",
                migration_figure(moved.matrix),
                f"Share of each segment of analysis {moved.from_id.split('/')[0]} found in each segment now; "
                "cells show customer counts.",
            )
        )
    if has("satisfaction_index"):
        sections.append(
            ReportSection(
                "Satisfaction",
                satisfaction_figure(
                    analysis.result("satisfaction_index"),
                    analysis.result("satisfaction_by_segment") if has("satisfaction_by_segment") else None,
                ),
                f"{analysis.config['satisfaction']['model'].upper()} indices (0-100) from one PLS fit on all "
                f"respondents, averaged per {analysis.config['satisfaction']['segments']} segment.",
            )
        )
    if has("ipma"):
        sections.append(_ipma_section(analysis))
    if has("kano"):
        sections.append(_kano_section(analysis))
    if has("cluster_profiles"):
        sections.append(
            ReportSection(
                "Cluster profiles",
                cluster_profile_figure(analysis.result("cluster_profiles")),
                "Mean of each clustering feature per cluster; colour shows how a cluster stands against the others.",
            )
        )
    sections += _persona_sections(analysis, persona_method)
    sections.append(_ranking(analysis, top))
    if has("playbook"):
        playbook = analysis.result("playbook")
        if playbook.num_rows:
            sections.append(
                ReportSection(
                    "Playbook",
                    playbook_table_figure(playbook),
                    "Suggested service level, channel, resource priority and offer per segment "
                    "(edit the playbook file to change them).",
                )
            )
    if analysis.skipped:
        left = "; ".join(f"{k}: {v}" for k, v in analysis.skipped.items())
        sections.append(ReportSection("Left out", None, f"Parts of the analysis not computed: {left}."))
    return sections


def build_report(
    analysis: StoredAnalysis,
    out_path: str | Path,
    *,
    title: str = "custlens customer report",
    compare_to: StoredAnalysis | str | None = None,
    migration_method: str | None = None,
    top: int = 50,
    persona_method: str | None = None,
) -> Path:
    """Write the self-contained HTML report of a stored analysis.

    Parameters
    ----------
    analysis
        The stored analysis (:func:`custlens.analysis.analyze` or
        :func:`custlens.analysis.load_analysis`).
    out_path
        The ``.html`` file to write.
    compare_to, migration_method, top, persona_method
        See :func:`report_sections`.

    Returns
    -------
    Path
        The written file.
    """
    sections = report_sections(
        analysis, compare_to=compare_to, migration_method=migration_method, top=top, persona_method=persona_method
    )
    subtitle = f"As of {analysis.as_of.isoformat()} · analysis {analysis.analysis_id}"
    return write_report(out_path, sections, title=title, subtitle=subtitle)
