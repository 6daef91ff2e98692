"""Figures of the value, lost-customer, persona and cube sections: stored tables in, figures out.

Like :mod:`custlens.report._figures`, each function takes a result table with the columns
its docstring lists (Ibis, Arrow, pandas or polars) and draws it; nothing is computed
beyond arranging the rows.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from custlens.errors import InputError
from custlens.report._figures import TEMPLATE, table_figure
from custlens.report._tables import as_arrow

__all__ = [
    "value_components_figure",
    "churn_reasons_figure",
    "complaint_table_figure",
    "persona_card_figure",
    "pivot_table_figure",
]

_PARTS = ("historical", "current", "potential")
_COSTS = ("baseline_service_cost", "marketing_cost", "acquisition_cost")


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def value_components_figure(
    components: Any, title: str = "Lifetime value components 客户终生价值的构成 (CLV1-CLV6)"
) -> go.Figure:
    """Stacked bars of the CLV components per part (historical, current, potential), costs below zero.

    Parameters
    ----------
    components
        One row per part (:meth:`custlens.clv.ComponentsResult.summary`) or per segment
        and part (:meth:`~custlens.clv.ComponentsResult.by_segment`): ``part``, the
        component columns ``first_purchase ... loyalty``, the cost lines
        ``baseline_service_cost, marketing_cost, acquisition_cost`` and ``value``; optional
        ``segment`` (one group of bars per segment) and ``part_zh``.
    """
    from custlens.clv import COMPONENTS

    lines = [c.column for c in COMPONENTS]
    t = as_arrow(components, ["part", *lines, *_COSTS, "value"], "value components", optional=["segment", "part_zh"])
    order = {p: i for i, p in enumerate(_PARTS)}
    rows = sorted(t.to_pylist(), key=lambda r: (str(r.get("segment") or ""), order.get(str(r["part"]), 9)))
    labels = [
        " · ".join(str(x) for x in (r.get("segment"), r["part"], r.get("part_zh")) if x not in (None, "")) for r in rows
    ]
    fig = go.Figure()
    for comp in COMPONENTS:
        fig.add_bar(
            name=f"{comp.code} {comp.name} {comp.name_zh}",
            x=labels,
            y=[float(r[comp.column] or 0.0) for r in rows],
        )
    for cost in _COSTS:
        values = [-float(r[cost] or 0.0) for r in rows]
        if any(values):  # costs absent (no costs file) draw nothing
            fig.add_bar(name=cost.replace("_", " "), x=labels, y=values, marker_pattern_shape="/")
    fig.add_scatter(
        name="value (net)",
        x=labels,
        y=[float(r["value"] or 0.0) for r in rows],
        mode="markers",
        marker={"symbol": "diamond", "size": 11, "color": "black"},
    )
    fig.update_layout(template=TEMPLATE, title=title, barmode="relative", yaxis={"title": "amount"})
    return fig


def churn_reasons_figure(reasons: Any, title: str = "Why lost customers left 流失原因") -> go.Figure:
    """Share of each reason among the lost customers of each segment (stacked horizontal bars).

    ``reasons`` holds ``segment, reason, customers, share`` (:func:`custlens.churn.reasons_by_segment`);
    optional ``reason_zh``.
    """
    t = as_arrow(reasons, ["segment", "reason", "customers", "share"], "churn reasons", optional=["reason_zh"])
    rows = t.to_pylist()
    segments = list(dict.fromkeys(str(r["segment"]) for r in rows))
    totals = {s: sum(int(r["customers"]) for r in rows if r["segment"] == s) for s in segments}
    ylabels = [f"{s} ({totals[s]:,})" for s in segments]
    fig = go.Figure()
    for reason in dict.fromkeys(str(r["reason"]) for r in rows):
        mine = {str(r["segment"]): r for r in rows if r["reason"] == reason}
        zh = next((r.get("reason_zh") for r in mine.values() if r.get("reason_zh")), "")
        fig.add_bar(
            name=f"{reason} {zh}".strip(),
            y=ylabels,
            x=[float(mine[s]["share"]) if s in mine else 0.0 for s in segments],
            customdata=[int(mine[s]["customers"]) if s in mine else 0 for s in segments],
            orientation="h",
            hovertemplate="%{y}<br>%{x:.1%} (%{customdata:,} customers)<extra></extra>",
        )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        barmode="stack",
        xaxis={"title": "share of the segment's lost customers", "tickformat": ".0%"},
        yaxis={"autorange": "reversed"},
    )
    return fig


def complaint_table_figure(
    complaints: Any, title: str = "Complaint resolution and who stayed 投诉处理与客户保持"
) -> go.Figure:
    """Complaint resolution per segment (:func:`custlens.churn.complaint_resolution`) as a table."""
    cols = ["segment", "complaints", "resolved", "resolution_rate", "complainants", "stay_rate_resolved",
            "stay_rate_unresolved", "benchmark_stay_resolved"]  # fmt: skip
    t = as_arrow(complaints, cols, "complaint resolution")
    rates = {"resolution_rate", "stay_rate_resolved", "stay_rate_unresolved", "benchmark_stay_resolved"}
    values = [
        [("" if v is None else f"{v:.1%}") if c in rates else _fmt(v) for v in t.column(c).to_pylist()] for c in cols
    ]
    return table_figure([c.replace("_", " ") for c in cols], values, title, height=min(120 + 30 * t.num_rows, 900))


def persona_card_figure(card: Any, title: str | None = None) -> go.Figure:
    """One persona card (:func:`custlens.tags.persona_rows`): its most distinctive tags as a table.

    ``card`` holds ``group, rank, tag, name, name_zh, customers, share_in_group, base_share, lift``.
    """
    cols = ["group", "rank", "tag", "name", "name_zh", "customers", "share_in_group", "base_share", "lift"]
    t = as_arrow(card, cols, "persona card")
    if t.num_rows == 0:
        raise InputError("persona card: no rows (no tag is held by enough of the group)")
    shown = ["rank", "tag", "customers", "share_in_group", "base_share", "lift"]
    values: list[list[Any]] = []
    for c in shown:
        col = t.column(c).to_pylist()
        if c == "tag":
            col = [f"{n} {z}" for n, z in zip(t.column("name").to_pylist(), t.column("name_zh").to_pylist())]
        elif c in ("share_in_group", "base_share"):
            col = [f"{v:.1%}" for v in col]
        elif c == "lift":
            col = [f"{v:.2f}" for v in col]
        values.append(col)
    group = t.column("group")[0].as_py()
    return table_figure(
        ["rank", "tag", "customers", "share in group", "share of all", "lift"],
        values,
        title or f"Persona: {group}",
        height=min(110 + 28 * t.num_rows, 700),
    )


def pivot_table_figure(pivot: Any, title: str, digits: int = 0) -> go.Figure:
    """A two-way pivot (:func:`custlens.cube.pivot_table`: first column the row values and
    ``total``, then one column per column value and ``total``) as a table."""
    from custlens._frames import as_arrow as any_arrow

    t = any_arrow(pivot, "pivot")
    if t.num_columns < 2:
        raise InputError(f"pivot: needs a row column and at least one value column; got {', '.join(t.column_names)}")
    values = [[_fmt(v, digits) if i else str(v) for v in t.column(i).to_pylist()] for i in range(t.num_columns)]
    return table_figure(list(t.column_names), values, title, height=min(120 + 28 * t.num_rows, 900))
