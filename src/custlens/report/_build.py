"""Assembling the standard report from transactions, indicators and segmentation results."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from custlens.errors import InputError
from custlens.features import value_indicators
from custlens.report._figures import (
    migration_figure,
    pareto_figure,
    playbook_table_figure,
    pyramid_figure,
    ranking_table_figure,
    rfm_heatmap_figure,
    segment_sizes_figure,
    value_matrix_figure,
)
from custlens.report._html import ReportSection, write_report
from custlens.report._tables import as_ibis
from custlens.segment import (
    abc_classes,
    concentration,
    customer_summary,
    lifecycle_stage,
    pareto_curve,
    relationship_state,
    rfm_from_transactions,
    value_matrix,
    value_pyramid,
)
from custlens.segment import (
    migration as segment_migration,
)

__all__ = ["build_report", "report_sections", "DEFAULT_SCORE_INDICATORS"]

logger = logging.getLogger(__name__)

DEFAULT_SCORE_INDICATORS: tuple[tuple[str, bool], ...] = (
    ("revenue", False),
    ("order_count", False),
    ("avg_order_value", False),
    ("recency_days", True),
    ("tenure_days", False),
)
"""Indicators scored when none are named: ``(column, is_cost)``; those present are used."""

_TITLES = {
    "rfm": "RFM segments",
    "abc": "ABC classes",
    "pyramid": "Value pyramid tiers",
    "value_matrix": "Customer value matrix quadrants",
    "clv_matrix": "CLV matrix",
    "state": "Relationship states",
    "lifecycle": "Lifecycle stages",
}


def report_sections(
    *,
    segmentations: Mapping[str, Any] | None = None,
    customers: Any = None,
    ranking: Any = None,
    migration: Any = None,
    playbook: Any = None,
    pareto: Any = None,
    concentration: Mapping[str, float] | None = None,
    value_col: str = "revenue",
    top: int = 50,
    max_points: int = 5000,
) -> list[ReportSection]:
    """The report's sections from results already computed (any may be omitted).

    Parameters
    ----------
    segmentations
        Segmentation results by method name (objects with ``customers`` and ``summary``
        tables, such as :class:`custlens.segment.SegmentResult`). ``rfm`` gives the RFM
        heat map, ``pyramid`` the pyramid, ``value_matrix`` the coloured scatter.
    customers
        Per-customer table with ``value_col`` (Pareto curve) and, for the value-matrix
        scatter without a ``value_matrix`` result, ``order_count`` and ``avg_order_value``.
    ranking
        :class:`custlens.scoring.ScoreResult` or its table.
    migration
        Long table ``from_segment, to_segment, customers`` (or ``from_state, to_state``).
    pareto, concentration
        A Pareto curve computed on the backend (``customer_share, value_share``, from
        :func:`custlens.segment.pareto_curve`) and its concentration figures
        (:func:`custlens.segment.concentration`); without them the curve is drawn from
        ``customers``.
    playbook
        :class:`custlens.playbook.Playbook`; its actions for the schemes shown are listed
        with each segment's size.
    """
    results = dict(segmentations or {})
    # each summary is executed once and shared by its bar chart, the pyramid and the playbook
    summaries = {m: as_ibis(res.summary, f"{m} summary").to_pyarrow() for m, res in results.items()}
    sections: list[ReportSection] = []
    for method in results:
        sections.append(
            ReportSection(
                f"{_TITLES.get(method, method)}: sizes and value shares",
                segment_sizes_figure(summaries[method]),
                "Share of customers and share of value per segment; a segment whose value share "
                "exceeds its customer share is worth more than an average customer.",
            )
        )
    if pareto is not None or customers is not None:
        sections.append(
            ReportSection(
                "Pareto curve",
                pareto_figure(
                    pareto if pareto is not None else customers,
                    value_col=value_col,
                    concentration_figures=concentration,
                ),
                f"Cumulative share of {value_col} against the share of customers, best first; "
                "the label gives the share of the top 20 % and the Gini coefficient.",
            )
        )
    if "pyramid" in results:
        sections.append(
            ReportSection(
                "Value pyramid",
                pyramid_figure(summaries["pyramid"]),
                "Customers per tier, top tier first, with each tier's share of value.",
            )
        )
    if "rfm" in results:
        sections.append(
            ReportSection(
                "RFM heat map",
                rfm_heatmap_figure(results["rfm"].customers),
                "Mean monetary value for each pair of recency (rows) and frequency (columns) scores; "
                "hover for the number of customers.",
            )
        )
    vm = results.get("value_matrix")
    if vm is not None and {"frequency", "avg_order_value"} <= set(as_ibis(vm.customers, "value matrix").columns):
        details = getattr(vm, "details", {}) or {}
        thresholds = (
            (float(details["x_split"]), float(details["y_split"])) if {"x_split", "y_split"} <= set(details) else None
        )
        sections.append(
            ReportSection(
                "Customer value matrix",
                value_matrix_figure(vm.customers, max_points=max_points, thresholds=thresholds),
                "Purchase frequency against average order value, coloured by quadrant; "
                "dashed lines are the split points.",
            )
        )
    elif customers is not None and {"order_count", "avg_order_value"} <= set(as_ibis(customers, "c").columns):
        sections.append(
            ReportSection(
                "Customer value matrix",
                value_matrix_figure(customers, max_points=max_points, frequency_col="order_count"),
                "Purchase frequency against average order value.",
            )
        )
    if migration is not None:
        sections.append(
            ReportSection(
                "Segment migration",
                migration_figure(migration),
                "Share of each earlier segment found in each later segment; cells show customer counts.",
            )
        )
    if ranking is not None:
        detail = None if isinstance(ranking, (ir.Table, pa.Table)) else getattr(ranking, "summary", None)
        note = "Customers ranked by the important-customer score (1 = most important)."
        if callable(detail):
            s = detail()
            weights = ", ".join(f"{k} {v:.3f}" for k, v in s["weights"].items())
            note += f" Weights ({s['method']}, {s['normalisation']} normalisation): {weights}."
        sections.append(ReportSection("Important customers", ranking_table_figure(ranking, top=top), note))
    if playbook is not None:
        table = _playbook_rows(playbook, summaries)
        if table.num_rows:
            sections.append(
                ReportSection(
                    "Playbook",
                    playbook_table_figure(table),
                    "Suggested service level, channel, resource priority and offer per "
                    "segment (edit the playbook file to change them).",
                )
            )
    return sections


def _playbook_rows(playbook: Any, summaries: Mapping[str, pa.Table]) -> pa.Table:
    schemes = [m for m in summaries if m in playbook.schemes] or playbook.schemes
    tables = []
    for scheme in schemes:
        acts = playbook.table(scheme)
        sizes: dict[str, int] = {}
        if scheme in summaries and {"segment", "customers"} <= set(summaries[scheme].column_names):
            summ = summaries[scheme]
            sizes = dict(zip(summ.column("segment").to_pylist(), summ.column("customers").to_pylist()))
        acts = acts.append_column(
            "customers", pa.array([sizes.get(s) for s in acts.column("segment").to_pylist()], type=pa.int64())
        )
        tables.append(acts)
    return pa.concat_tables(tables) if tables else pa.table({})


def build_report(
    out_path: str | Path,
    *,
    transactions: Any = None,
    indicators: Any = None,
    receivables: Any = None,
    interactions: Any = None,
    leads: Any = None,
    segmentations: Mapping[str, Any] | None = None,
    migration: Any = None,
    snapshot_con: Any = None,
    snapshots: tuple[str, str] | None = None,
    playbook: Any = None,
    as_of: date | str | None = None,
    score_columns: Sequence[str] | None = None,
    score_cost: Sequence[str] | None = None,
    score_method: str = "entropy",
    weights: Mapping[str, float] | Sequence[float] | None = None,
    ahp: Any = None,
    title: str = "custlens customer report",
    top: int = 50,
    max_points: int = 5000,
) -> Path:
    """Run the standard analyses and write the self-contained HTML report in one call.

    Parameters
    ----------
    out_path
        The ``.html`` file to write.
    transactions
        Transaction log with the canonical columns ``customer_id``, ``ordered_at``,
        ``amount`` (``order_id``, ``cost``, ``margin``, ``quantity``, ``return_flag`` when
        present). From it the report computes, with :mod:`custlens.segment`, the
        per-customer summary, RFM, relationship states, lifecycle stages, ABC classes, the
        value pyramid, the value matrix, the Pareto curve and concentration (each unless
        given in ``segmentations``), and with :mod:`custlens.features` the value indicators.
    indicators
        Per-customer value indicators to score (default: :func:`custlens.features.value_indicators`
        of the transactions, with ``receivables`` and ``interactions`` when given).
    receivables, interactions
        Canonical tables for the financial and contact indicators (optional).
    leads
        Canonical leads table: leads without a purchase get a relationship state too.
    segmentations
        Results already computed, by method name (take precedence over computed ones).
    migration
        A :class:`custlens.segment.Migration` or a table ``from_segment, to_segment,
        customers``.
    snapshot_con, snapshots
        Instead of ``migration``: an Ibis connection holding segment snapshots and the
        ``(from_id, to_id)`` pair to compare (:func:`custlens.segment.migration`).
    playbook
        A :class:`custlens.playbook.Playbook`; ``None`` uses the shipped default.
    as_of
        The as-of date of the analysis (default: the latest purchase date).
    score_columns, score_cost, score_method, weights, ahp
        The important-customer score (:func:`custlens.scoring.score_customers`); by
        default the entropy-weight method over :data:`DEFAULT_SCORE_INDICATORS` present.
        A missing indicator value (a customer without purchases has no order value)
        counts as the worst value observed.

    Returns
    -------
    Path
        The written file.
    """
    from custlens.playbook import load_playbook
    from custlens.scoring import score_customers

    if transactions is None and indicators is None and not segmentations:
        raise InputError("the report needs transactions, indicators or segmentation results")
    results: dict[str, Any] = {}
    customers = None
    pareto = conc = None
    used_as_of = as_of
    given = dict(segmentations or {})
    if transactions is not None:
        tx = as_ibis(transactions, "transactions")
        if int(tx.count().execute()) == 0:
            raise InputError("transactions: no rows; the report needs at least one purchase")
        customers, used_as_of = customer_summary(tx, as_of=as_of)
        customers = customers.cache()  # one pass over the log, read by every method below
        runs: list[tuple[str, Any, Any, dict[str, Any]]] = [
            ("rfm", rfm_from_transactions, tx, {}),
            ("state", relationship_state, tx, {"leads": as_ibis(leads, "leads")} if leads is not None else {}),
            ("lifecycle", lifecycle_stage, tx, {}),
            ("abc", abc_classes, customers, {}),
            ("pyramid", value_pyramid, customers, {}),
            ("value_matrix", value_matrix, customers, {}),
        ]
        for method, fn, data, extra in runs:
            if method not in given:
                logger.info("report: running %s", method)
                results[method] = fn(data, as_of=used_as_of, **extra)
        pareto = pareto_curve(customers)
        conc = concentration(customers)
        if indicators is None:
            indicators = _indicators(tx, receivables, interactions, used_as_of)
    results.update(given)
    if migration is None and snapshots is not None:
        if snapshot_con is None:
            raise InputError("snapshots need a connection holding them (snapshot_con)")
        migration = segment_migration(snapshot_con, snapshots[0], snapshots[1])
    if migration is not None and not isinstance(migration, (ir.Table, pa.Table)):
        migration = getattr(migration, "matrix", migration)
    ind = indicators if indicators is not None else customers
    ranking = None
    if ind is not None:
        ind_t = as_ibis(ind, "indicators")
        if score_columns is None:
            present = [(c, cost) for c, cost in DEFAULT_SCORE_INDICATORS if c in ind_t.columns]
            cols = [c for c, _ in present]
            cost = [c for c, is_cost in present if is_cost] if score_cost is None else list(score_cost)
        else:
            cols, cost = list(score_columns), list(score_cost or ())
        if ahp is not None and score_columns is None:
            cols = list(ahp.names)
            cost = [c for c in cost if c in cols]
        if cols:
            # customers without purchases have no order value or recency: they count as the worst
            ranking = score_customers(
                ind_t,
                cols,
                cost=cost,
                weights=weights,
                ahp=ahp,
                on_missing="worst",
                method=None if (weights is not None or ahp is not None) else score_method,
            )  # type: ignore[arg-type]
        if customers is None:
            customers = ind_t
    value_col = "revenue"
    if customers is not None and value_col not in as_ibis(customers, "customers").columns:
        customers = None
    sections = report_sections(
        segmentations=results,
        customers=customers,
        ranking=ranking,
        migration=migration,
        playbook=playbook if playbook is not None else load_playbook(),
        pareto=pareto,
        concentration=conc,
        value_col=value_col,
        top=top,
        max_points=max_points,
    )
    subtitle = f"As of {used_as_of}" if used_as_of else ""
    return write_report(out_path, sections, title=title, subtitle=subtitle)


def _indicators(tx: Any, receivables: Any, interactions: Any, as_of: Any) -> Any:
    """:func:`custlens.features.value_indicators` of the log."""
    return value_indicators(
        tx,
        as_of=as_of,
        receivables=as_ibis(receivables, "receivables") if receivables is not None else None,
        interactions=as_ibis(interactions, "interactions") if interactions is not None else None,
    ).cache()
