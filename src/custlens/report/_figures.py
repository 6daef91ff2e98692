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
    "clv_distribution_figure",
    "state_flow_figure",
    "risk_band_figure",
    "churn_rate_figure",
    "satisfaction_figure",
    "cluster_profile_figure",
    "key_figures_table",
    "table_figure",
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


def pareto_figure(
    curve: Any,
    concentration_figures: Mapping[str, float] | None = None,
    title: str = "Pareto curve: cumulative share of value",
) -> go.Figure:
    """Cumulative share of value against cumulative share of customers, best first.

    Parameters
    ----------
    curve
        The curve computed on the backend: ``customer_share``, ``value_share``
        (:func:`custlens.segment.pareto_curve`; the stored analysis's ``pareto`` result).
    concentration_figures
        ``top_share``, ``top_share_value`` (share of value of the top customers) and
        ``gini`` for the label (:func:`custlens.segment.concentration`).
    """
    t = as_arrow(curve, ["customer_share", "value_share"], "Pareto curve")
    t = t.sort_by("customer_share")
    share = np.asarray(t.column("customer_share").to_numpy(zero_copy_only=False), dtype=float)
    cum = np.asarray(t.column("value_share").to_numpy(zero_copy_only=False), dtype=float)
    if share.size == 0:
        raise InputError("Pareto curve: the curve has no points")
    conc = dict(concentration_figures or {})
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
    top_value = conc.get("top_share_value")
    if top_value is not None and np.isfinite(top_value):
        label = f"top {top:.0%}: {top_value:.1%} of value"
        gini = conc.get("gini")
        if gini is not None and np.isfinite(gini):
            label += f"<br>Gini {gini:.3f}"
        fig.add_annotation(x=top, y=top_value, showarrow=True, arrowhead=2, text=label)
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
    grid: Any, metric: Literal["monetary", "customers"] = "monetary", title: str | None = None
) -> go.Figure:
    """R score x F score heat map of mean monetary value (or customer counts).

    Parameters
    ----------
    grid
        One row per (R, F) cell: ``r_score``, ``f_score``, ``customers`` and
        ``mean_monetary`` (:func:`custlens.segment.rfm_heatmap`; the stored analysis's
        ``rfm_heatmap`` result).
    """
    if metric not in ("monetary", "customers"):
        raise InputError(f"RFM heat map metric must be 'monetary' or 'customers'; got {metric!r}")
    t = as_arrow(grid, ["r_score", "f_score", "customers", "mean_monetary"], "RFM heat map")
    cells = [c for c in t.to_pylist() if c["r_score"] is not None and c["f_score"] is not None]
    if not cells:
        raise InputError("RFM heat map: the grid has no cells")
    r_vals = sorted({c["r_score"] for c in cells})
    f_vals = sorted({c["f_score"] for c in cells})
    z = np.full((len(r_vals), len(f_vals)), np.nan)
    counts = np.zeros_like(z)
    for c in cells:
        i, j = r_vals.index(c["r_score"]), f_vals.index(c["f_score"])
        z[i, j] = c["mean_monetary"] if metric == "monetary" else c["customers"]
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


def table_figure(columns: list[str], values: list[list[Any]], title: str, height: int | None = None) -> go.Figure:
    """A Plotly table: ``values`` holds one list per column."""
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
    return table_figure(
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
    return table_figure(cols, values, title, height=min(140 + 48 * len(rows), 2400))


def key_figures_table(figures: Sequence[tuple[str, str]], title: str = "Key figures") -> go.Figure:
    """A two-column table of headline figures already formatted as text."""
    return table_figure(
        ["figure", "value"],
        [[k for k, _ in figures], [v for _, v in figures]],
        title,
        height=min(90 + 28 * len(figures), 900),
    )


def clv_distribution_figure(histogram: Any, title: str = "Distribution of customer lifetime value") -> go.Figure:
    """Customers per CLV bin: ``bin_start``, ``bin_end``, ``customers`` (the analysis's ``clv_histogram``)."""
    t = as_arrow(histogram, ["bin_start", "bin_end", "customers"], "CLV histogram")
    if t.num_rows == 0:
        raise InputError("CLV histogram: no bins")
    start = np.asarray(t["bin_start"].to_numpy(zero_copy_only=False), dtype=float)
    end = np.asarray(t["bin_end"].to_numpy(zero_copy_only=False), dtype=float)
    counts = t["customers"].to_pylist()
    labels = [f"{a:,.0f} to {b:,.0f}" for a, b in zip(start, end)]
    fig = go.Figure(
        go.Bar(
            x=(start + np.minimum(end, start + (start[1] - start[0] if start.size > 1 else 1.0))) / 2,
            y=counts,
            width=(start[1] - start[0]) if start.size > 1 else None,
            marker_color=_BLUE,
            customdata=labels,
            hovertemplate="CLV %{customdata}<br>%{y:,} customers<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE, title=title, xaxis_title="lifetime value", yaxis_title="customers", bargap=0.05
    )
    return fig


def state_flow_figure(flow: Any, title: str = "Relationship-state flow") -> go.Figure:
    """A Sankey diagram of customers moving between relationship states.

    Parameters
    ----------
    flow
        ``from_state, to_state, customers`` (:func:`custlens.segment.state_flow`; the
        analysis's ``state_flow`` result).
    """
    t = as_arrow(flow, ["from_state", "to_state", "customers"], "state flow")
    rows = [r for r in t.to_pylist() if r["customers"]]
    if not rows:
        raise InputError("state flow: no customers moved or stayed")
    left = sorted({str(r["from_state"]) for r in rows})
    right = sorted({str(r["to_state"]) for r in rows})
    labels = [f"{s} (start)" for s in left] + [f"{s} (end)" for s in right]
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 14, "thickness": 16},
            link={
                "source": [left.index(str(r["from_state"])) for r in rows],
                "target": [len(left) + right.index(str(r["to_state"])) for r in rows],
                "value": [r["customers"] for r in rows],
            },
        )
    )
    fig.update_layout(template=TEMPLATE, title=title)
    return fig


def risk_band_figure(bands: Any, title: str = "Churn risk: customers and value at stake by band") -> go.Figure:
    """Customers and value at stake per risk band: ``risk_band``, ``customers``, ``value_at_stake``."""
    t = as_arrow(bands, ["risk_band", "customers", "value_at_stake"], "risk bands")
    order = {"low": 0, "medium": 1, "high": 2, "lost": 3}
    rows = sorted(t.to_pylist(), key=lambda r: order.get(str(r["risk_band"]), 9))
    fig = go.Figure()
    fig.add_bar(
        name="customers",
        x=[r["risk_band"] for r in rows],
        y=[r["customers"] for r in rows],
        marker_color=_BLUE,
        yaxis="y",
        offsetgroup="customers",  # two axes: without offset groups the bars overlap
    )
    fig.add_bar(
        name="value at stake",
        x=[r["risk_band"] for r in rows],
        y=[r["value_at_stake"] for r in rows],
        marker_color=_ORANGE,
        yaxis="y2",
        offsetgroup="value",
    )
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        barmode="group",
        yaxis={"title": "customers"},
        yaxis2={"title": "value at stake", "overlaying": "y", "side": "right"},
    )
    return fig


def churn_rate_figure(rates: Any, title: str = "Observed churn rate per month") -> go.Figure:
    """Churn rate per period: ``month`` (label), ``churn_rate``, ``active_previous``."""
    t = as_arrow(rates, ["month", "churn_rate"], "churn rates", optional=["active_previous"])
    rows = [r for r in t.to_pylist() if r["churn_rate"] is not None and np.isfinite(r["churn_rate"])]
    if not rows:
        raise InputError("churn rates: no period has an earlier active period")
    fig = go.Figure(
        go.Scatter(
            x=[r["month"] for r in rows],
            y=[r["churn_rate"] for r in rows],
            mode="lines+markers",
            line_color=_BLUE,
            customdata=[r.get("active_previous") for r in rows],
            hovertemplate="%{x}<br>churn %{y:.1%} of %{customdata:,.0f} active<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE, title=title, xaxis_title="month", yaxis_title="churn rate", yaxis_tickformat=".0%"
    )
    return fig


def satisfaction_figure(index: Any, by_segment: Any = None, title: str = "Satisfaction indices (0-100)") -> go.Figure:
    """Index per construct overall, and per segment when given.

    Parameters
    ----------
    index
        ``construct``, ``index`` (the analysis's ``satisfaction_index``).
    by_segment
        ``segment``, ``construct``, ``index``, ``respondents`` (``satisfaction_by_segment``).
    """
    overall = as_arrow(index, ["construct", "index"], "satisfaction index").to_pylist()
    constructs = [r["construct"] for r in overall]
    fig = go.Figure()
    fig.add_bar(name="all respondents", x=constructs, y=[r["index"] for r in overall], marker_color="#08306b")
    if by_segment is not None:
        seg = as_arrow(
            by_segment, ["segment", "construct", "index"], "satisfaction by segment", optional=["respondents"]
        ).to_pylist()
        for name in sorted({str(r["segment"]) for r in seg}):
            rows = {r["construct"]: r for r in seg if str(r["segment"]) == name}
            n = next(iter(rows.values())).get("respondents") if rows else None
            fig.add_bar(
                name=f"{name} (n={n})" if n is not None else name,
                x=constructs,
                y=[rows[c]["index"] if c in rows else None for c in constructs],
            )
    fig.update_layout(
        template=TEMPLATE, title=title, barmode="group", yaxis_title="index (0-100)", yaxis_range=[0, 100]
    )
    return fig


def cluster_profile_figure(profiles: Any, title: str = "Cluster profiles (feature means)") -> go.Figure:
    """Heat map of each cluster's feature means, coloured by the mean relative to all clusters.

    Parameters
    ----------
    profiles
        ``segment``, ``customers`` and ``mean_<feature>`` columns (``cluster_profiles``).
    """
    t = as_arrow(
        profiles,
        ["segment", "customers"],
        "cluster profiles",
        optional=[c for c in as_ibis(profiles, "cluster profiles").columns if c.startswith("mean_")],
    )
    means = [c for c in t.column_names if c.startswith("mean_")]
    if not means or t.num_rows == 0:
        raise InputError("cluster profiles: no feature means")
    rows = t.to_pylist()
    raw = np.array([[r[c] if r[c] is not None else np.nan for c in means] for r in rows], dtype=float)
    spread = np.nanstd(raw, axis=0)
    z = (raw - np.nanmean(raw, axis=0)) / np.where(spread > 0, spread, 1.0)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[c.removeprefix("mean_") for c in means],
            y=[f"{r['segment']} ({r['customers']:,})" for r in rows],
            colorscale="RdBu",
            zmid=0,
            customdata=raw,
            colorbar_title="relative",
            hovertemplate="%{y}<br>%{x}: %{customdata:,.2f}<extra></extra>",
        )
    )
    fig.update_layout(template=TEMPLATE, title=title)
    return fig
