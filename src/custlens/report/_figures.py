"""Plotly figures of segmentation and scoring results, one function per figure.

Each function takes a plain result table (Ibis, Arrow, pandas or polars) with the
columns its docstring lists and returns a :class:`plotly.graph_objects.Figure`. Figures
aggregate or sample on the backend before anything is drawn, so a million-customer base
gives a figure of a few hundred points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import ibis.expr.types as ir
import numpy as np
import plotly.graph_objects as go
import pyarrow as pa

from custlens.errors import InputError
from custlens.report._tables import as_arrow, as_ibis, require

__all__ = [
    "segment_sizes_figure",
    "pareto_figure",
    "pyramid_figure",
    "rfm_heatmap_figure",
    "value_matrix_figure",
    "migration_figure",
    "ranking_table_figure",
    "playbook_table_figure",
    "concentration",
]

TEMPLATE = "plotly_white"
_BLUE, _ORANGE = "#1f77b4", "#ff7f0e"


def _label(segment: str, segment_zh: str | None) -> str:
    return f"{segment} {segment_zh}" if segment_zh else str(segment)


def segment_sizes_figure(summary: Any, title: str = "Segment sizes and value shares") -> go.Figure:
    """Share of customers beside share of value for each segment (grouped bars).

    Parameters
    ----------
    summary
        One row per segment: ``segment``, ``customers``, ``share`` (of customers, 0-1),
        ``value_share`` (0-1, may be null); optional ``segment_zh`` and ``segment_rank``
        (display order) -- the per-segment summary every custlens segmentation returns.
    """
    t = as_arrow(
        summary,
        ["segment", "customers", "share", "value_share"],
        "segment summary",
        optional=["segment_zh", "segment_rank"],
    )
    rows = t.to_pylist()
    if "segment_rank" in t.column_names:
        rows.sort(key=lambda r: (r["segment_rank"] if r["segment_rank"] is not None else 1e9, r["segment"]))
    labels = [_label(r["segment"], r.get("segment_zh")) for r in rows]
    fig = go.Figure()
    fig.add_bar(
        name="customers",
        x=labels,
        y=[r["share"] for r in rows],
        marker_color=_BLUE,
        customdata=[r["customers"] for r in rows],
        hovertemplate="%{x}<br>%{y:.1%} of customers (%{customdata:,})<extra></extra>",
    )
    if any(r["value_share"] is not None for r in rows):
        fig.add_bar(
            name="value",
            x=labels,
            y=[r["value_share"] for r in rows],
            marker_color=_ORANGE,
            hovertemplate="%{x}<br>%{y:.1%} of value<extra></extra>",
        )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        barmode="group",
        yaxis_tickformat=".0%",
        yaxis_title="share",
        legend_title_text="share of",
    )
    return fig


def concentration(values: np.ndarray) -> dict[str, float]:
    """Top-20 % value share and Gini coefficient of non-negative values (negatives count as 0).

    Gini ``G = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n`` over values sorted ascending.
    """
    x = np.sort(np.clip(np.asarray(values, dtype=float), 0.0, None))
    n, total = x.size, x.sum()
    if n == 0 or not total > 0:
        return {"top20_share": float("nan"), "gini": float("nan")}
    k = int(np.ceil(0.2 * n - 1e-9))
    gini = 2.0 * np.sum(np.arange(1, n + 1) * x) / (n * total) - (n + 1) / n
    return {"top20_share": float(x[n - k :].sum() / total), "gini": float(gini)}


def pareto_figure(
    customers: Any,
    value_col: str = "value",
    points: int = 500,
    concentration_figures: Mapping[str, float] | None = None,
    title: str = "Pareto curve: cumulative share of value",
) -> go.Figure:
    """Cumulative share of value against cumulative share of customers, best first.

    Parameters
    ----------
    customers
        Either a curve already computed on the backend -- columns ``customer_share`` and
        ``value_share`` (:func:`custlens.segment.pareto_curve`) -- or one row per customer
        with a numeric ``value_col`` (revenue, profit, CLV ...; negative values count as 0).
    points
        For per-customer input: number of points drawn (evenly spaced customer shares).
    concentration_figures
        ``top_share_value`` (share of value of the top 20 %) and ``gini`` for the label
        (:func:`custlens.segment.concentration`); computed from per-customer input when omitted.
    """
    t = as_ibis(customers, "Pareto input")
    if {"customer_share", "value_share"} <= set(t.columns):
        curve = t.select("customer_share", "value_share").order_by("customer_share").to_pyarrow()
        share = np.asarray(curve.column("customer_share").to_numpy(zero_copy_only=False), dtype=float)
        cum = np.asarray(curve.column("value_share").to_numpy(zero_copy_only=False), dtype=float)
        conc = dict(concentration_figures or {})
    else:
        require(t, [value_col], "Pareto input")
        raw = t.select(value_col).to_pyarrow().column(0).to_numpy(zero_copy_only=False)
        x = np.clip(np.asarray(raw, dtype=float), 0.0, None)
        x = x[np.isfinite(x)]
        if x.size == 0 or not x.sum() > 0:
            raise InputError(f"Pareto curve: column {value_col!r} has no positive values")
        desc = np.sort(x)[::-1]
        full = np.concatenate([[0.0], np.cumsum(desc) / desc.sum()])
        share = np.linspace(0.0, 1.0, min(points, x.size) + 1)
        cum = full[np.round(share * x.size).astype(int)]
        own = concentration(x)
        conc = dict(concentration_figures or {"top_share_value": own["top20_share"], "gini": own["gini"]})
    fig = go.Figure()
    fig.add_scatter(
        x=share,
        y=cum,
        mode="lines",
        name="cumulative value",
        line_color=_BLUE,
        hovertemplate="top %{x:.1%} of customers<br>%{y:.1%} of value<extra></extra>",
    )
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="equal shares", line={"dash": "dot", "color": "#999"}, hoverinfo="skip"
    )
    top = float(conc.get("top_share", 0.2))
    fig.add_vline(x=top, line_dash="dash", line_color="#bbb")
    if conc.get("top_share_value") is not None and np.isfinite(conc["top_share_value"]):
        label = f"top {top:.0%}: {conc['top_share_value']:.1%} of value"
        if conc.get("gini") is not None and np.isfinite(conc["gini"]):
            label += f"<br>Gini {conc['gini']:.3f}"
        fig.add_annotation(x=top, y=conc["top_share_value"], showarrow=True, arrowhead=2, text=label)
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis_title="share of customers (best first)",
        yaxis_title="share of value",
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
    )
    return fig


def pyramid_figure(summary: Any, title: str = "Customer value pyramid") -> go.Figure:
    """The value pyramid: tiers top to bottom, customers per tier and their value share.

    Parameters
    ----------
    summary
        One row per tier: ``segment``, ``customers``, ``value_share``; optional
        ``segment_zh`` and ``segment_rank`` (0 = top tier; otherwise the table order).
    """
    t = as_arrow(
        summary, ["segment", "customers", "value_share"], "pyramid summary", optional=["segment_zh", "segment_rank"]
    )
    rows = t.to_pylist()
    if "segment_rank" in t.column_names:
        rows.sort(key=lambda r: r["segment_rank"] if r["segment_rank"] is not None else 1e9)
    labels = [_label(r["segment"], r.get("segment_zh")) for r in rows]
    text = [
        f"{r['customers']:,} customers · "
        + (f"{r['value_share']:.1%} of value" if r["value_share"] is not None else "value n/a")
        for r in rows
    ]
    # bar widths grow down the pyramid whatever the counts, so the shape reads as a pyramid
    widths = np.linspace(1.0, 3.0, num=max(len(rows), 1))
    fig = go.Figure(
        go.Funnel(
            y=labels,
            x=list(widths),
            text=text,
            textinfo="text",
            hovertext=text,
            hoverinfo="y+text",
            marker={
                "color": ["#08306b", "#2171b5", "#6baed6", "#c6dbef", "#eff3ff"][: len(rows)]
                if len(rows) <= 5
                else None
            },
        )
    )
    fig.update_layout(template=TEMPLATE, title=title, xaxis_visible=False)
    return fig


def rfm_heatmap_figure(
    customers: Any, metric: Literal["monetary", "customers"] = "monetary", title: str | None = None
) -> go.Figure:
    """R score x F score heat map of mean monetary value (or customer counts).

    Parameters
    ----------
    customers
        One row per customer: ``r_score``, ``f_score`` and, for ``metric="monetary"``,
        ``monetary`` (the RFM result's customers table).
    """
    if metric not in ("monetary", "customers"):
        raise InputError(f"RFM heat map metric must be 'monetary' or 'customers'; got {metric!r}")
    t = as_ibis(customers, "RFM customers")
    require(t, ["r_score", "f_score"] + (["monetary"] if metric == "monetary" else []), "RFM customers")
    aggs = {"customers": t.count()}
    if metric == "monetary":
        aggs["value"] = t.monetary.cast("float64").mean()
    cells = t.group_by(["r_score", "f_score"]).aggregate(**aggs).to_pyarrow().to_pylist()
    if not cells:
        raise InputError("RFM heat map: the customers table is empty")
    r_vals = sorted({c["r_score"] for c in cells if c["r_score"] is not None})
    f_vals = sorted({c["f_score"] for c in cells if c["f_score"] is not None})
    z = np.full((len(r_vals), len(f_vals)), np.nan)
    counts = np.zeros_like(z)
    for c in cells:
        if c["r_score"] is None or c["f_score"] is None:
            continue
        i, j = r_vals.index(c["r_score"]), f_vals.index(c["f_score"])
        z[i, j] = c["value"] if metric == "monetary" else c["customers"]
        counts[i, j] = c["customers"]
    label = "mean monetary" if metric == "monetary" else "customers"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(v) for v in f_vals],
            y=[str(v) for v in r_vals],
            colorscale="Blues",
            colorbar_title=label,
            customdata=counts,
            hovertemplate="R %{y} · F %{x}<br>" + label + " %{z:,.1f}<br>%{customdata:,} customers<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title=title or f"RFM: {label} by recency and frequency score",
        xaxis_title="F score (frequency)",
        yaxis_title="R score (recency)",
    )
    return fig


def value_matrix_figure(
    customers: Any,
    max_points: int = 5000,
    seed: int = 0,
    frequency_col: str = "frequency",
    aov_col: str = "avg_order_value",
    thresholds: tuple[float, float] | None = None,
    title: str = "Customer value matrix: frequency x average order value",
) -> go.Figure:
    """Scatter of purchase frequency against average order value, coloured by quadrant.

    Parameters
    ----------
    customers
        One row per customer: ``frequency_col``, ``aov_col``; optional ``segment``
        (quadrant name) and ``customer_id``.
    max_points
        Larger bases are sampled uniformly at random (fixed ``seed``) down to this size;
        the title says so.
    thresholds
        ``(frequency, average order value)`` split lines to draw (e.g. the medians).
    """
    t = as_arrow(customers, [frequency_col, aov_col], "value-matrix customers", optional=["segment", "customer_id"])
    n = t.num_rows
    if n == 0:
        raise InputError("value matrix: the customers table is empty")
    if n > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))
        t = t.take(idx)
    segs = t.column("segment").to_pylist() if "segment" in t.column_names else ["customers"] * t.num_rows
    fx = np.asarray(t.column(frequency_col).to_numpy(zero_copy_only=False), dtype=float)
    fy = np.asarray(t.column(aov_col).to_numpy(zero_copy_only=False), dtype=float)
    ids = t.column("customer_id").to_pylist() if "customer_id" in t.column_names else None
    fig = go.Figure()
    for seg in sorted({s for s in segs if s is not None}) + ([None] if None in segs else []):
        mask = np.array([s == seg for s in segs])
        fig.add_scattergl(
            x=fx[mask],
            y=fy[mask],
            mode="markers",
            name=str(seg),
            marker={"size": 5, "opacity": 0.6},
            text=[ids[i] for i in np.flatnonzero(mask)] if ids else None,
            hovertemplate="%{text}<br>frequency %{x}<br>avg order %{y:,.2f}<extra></extra>" if ids else None,
        )
    if thresholds is not None:
        fig.add_vline(x=thresholds[0], line_dash="dash", line_color="#888")
        fig.add_hline(y=thresholds[1], line_dash="dash", line_color="#888")
    sampled = f" (random sample of {max_points:,} of {n:,} customers)" if n > max_points else ""
    fig.update_layout(
        template=TEMPLATE,
        title=title + sampled,
        xaxis_title="purchase frequency",
        yaxis_title="average order value",
        legend_title_text="quadrant",
    )
    return fig


def migration_figure(
    transitions: Any,
    order: Sequence[str] | None = None,
    normalise: bool = True,
    title: str = "Segment migration between two snapshots",
) -> go.Figure:
    """Heat map of customers moving from one segment (rows) to another (columns).

    Parameters
    ----------
    transitions
        Long table: ``from_segment``, ``to_segment``, ``customers`` (count), such as
        :attr:`custlens.segment.Migration.matrix` (a ``Migration`` is accepted as such);
        the relationship-state flow's ``from_state``, ``to_state``, ``customers`` also works.
    order
        Segment display order (default: alphabetical).
    normalise
        Colour by row share (the share of each starting segment that moved to each
        segment); the hover shows the counts either way.
    """
    source = (
        transitions if isinstance(transitions, (ir.Table, pa.Table)) else getattr(transitions, "matrix", transitions)
    )
    t0 = as_ibis(source, "migration table")
    if "from_segment" not in t0.columns and {"from_state", "to_state"} <= set(t0.columns):
        t0 = t0.rename(from_segment="from_state", to_segment="to_state")
    t = as_arrow(t0, ["from_segment", "to_segment", "customers"], "migration table")
    rows = [r for r in t.to_pylist() if r["customers"]]
    if not rows:
        raise InputError("migration: the table has no transitions")
    names = (
        list(order) if order else sorted({str(r["from_segment"]) for r in rows} | {str(r["to_segment"]) for r in rows})
    )
    extra = sorted({str(r[k]) for r in rows for k in ("from_segment", "to_segment")} - set(names))
    names += extra
    pos = {s: i for i, s in enumerate(names)}
    counts = np.zeros((len(names), len(names)))
    for r in rows:
        counts[pos[str(r["from_segment"])], pos[str(r["to_segment"])]] += r["customers"]
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    z = shares if normalise else counts
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            colorscale="Blues",
            customdata=counts,
            colorbar_title="row share" if normalise else "customers",
            text=[[f"{int(c):,}" if c else "" for c in row] for row in counts],
            texttemplate="%{text}",
            hovertemplate="from %{y}<br>to %{x}<br>%{customdata:,} customers<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis_title="to segment (later snapshot)",
        yaxis_title="from segment (earlier snapshot)",
        yaxis_autorange="reversed",
    )
    return fig


def _table_figure(columns: list[str], values: list[list[Any]], title: str, height: int | None = None) -> go.Figure:
    fig = go.Figure(
        go.Table(
            header={"values": [f"<b>{c}</b>" for c in columns], "fill_color": "#dbe9f6", "align": "left"},
            cells={"values": values, "align": "left", "fill_color": "#fbfdff"},
        )
    )
    fig.update_layout(template=TEMPLATE, title=title, margin={"l": 10, "r": 10, "t": 50, "b": 10}, height=height)
    return fig


def ranking_table_figure(ranking: Any, top: int = 50, title: str | None = None) -> go.Figure:
    """The important-customer ranking: the ``top`` customers with score, tier and contributions.

    Parameters
    ----------
    ranking
        :attr:`custlens.scoring.ScoreResult.table` or a table with ``rank``,
        ``customer_id``, ``score``; optional ``tier``, ``tier_zh`` and
        ``contribution_<indicator>`` columns.
    """
    source = ranking if isinstance(ranking, (ir.Table, pa.Table)) else getattr(ranking, "table", ranking)
    t = as_ibis(source, "ranking")
    require(t, ["rank", "customer_id", "score"], "ranking")
    cols = (
        ["rank", "customer_id", "score"]
        + [c for c in ("tier", "tier_zh") if c in t.columns]
        + [c for c in t.columns if c.startswith("contribution_")]
    )
    data = t.select(*cols).order_by("rank").limit(top).to_pyarrow()
    values = []
    for c in cols:
        col = data.column(c).to_pylist()
        values.append([f"{v:.4f}" if isinstance(v, float) else v for v in col])
    header = [c.replace("contribution_", "+ ") for c in cols]
    return _table_figure(
        header,
        values,
        title or f"Important customers: top {min(top, data.num_rows)}",
        height=min(120 + 26 * data.num_rows, 1400),
    )


def playbook_table_figure(actions: Any, title: str = "Playbook: suggested action per segment") -> go.Figure:
    """Actions per segment: ``Playbook.table()`` columns (scheme, segment, segment_zh,
    priority, service_level, channel, offer and their ``_zh`` versions); optional
    ``customers`` (segment size) is shown when present."""
    t = as_arrow(
        actions,
        ["segment", "priority", "service_level", "channel", "offer"],
        "playbook table",
        optional=["scheme", "segment_zh", "customers", "service_level_zh", "channel_zh", "offer_zh"],
    )
    rows = t.to_pylist()
    cols = [
        c
        for c in ("scheme", "segment", "customers", "priority", "service_level", "channel", "offer")
        if c in t.column_names
    ]

    def cell(r: dict[str, Any], c: str) -> str:
        v = r.get(c)
        zh = r.get(f"{c}_zh") if c != "segment" else r.get("segment_zh")
        text = f"{v:,}" if isinstance(v, int) else ("" if v is None else str(v))
        return f"{text}<br>{zh}" if zh else text

    values = [[cell(r, c) for r in rows] for c in cols]
    return _table_figure(cols, values, title, height=min(140 + 48 * len(rows), 2400))
