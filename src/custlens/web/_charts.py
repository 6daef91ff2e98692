"""The report's Plotly figures, labelled in the page language and serialised for the page.

Each function takes stored results (never computes a statistic), draws them with the
figure function of :mod:`custlens.report` (or :mod:`custlens.satisfaction`), puts every
title, axis, legend, hover text and annotation in the page language, and returns the
figure as JSON for ``static/app.js`` to draw with ``Plotly.newPlot``. WebGL traces are
drawn as SVG (the pages' CSP forbids the code generation WebGL needs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa

from custlens.i18n import Translator

__all__ = [
    "clv_histogram_chart",
    "clv_matrix_chart",
    "flow_chart",
    "ipma_chart",
    "kano_chart",
    "pareto_chart",
    "pyramid_chart",
    "rfm_chart",
    "risk_chart",
    "satisfaction_chart",
    "segment_sizes_chart",
]

Rows: TypeAlias = pa.Table | Sequence[Mapping[str, Any]]
"""A stored result: rows of plain values (the service's answers) or an Arrow table."""

_PALETTE = (
    "#1f5f9e",
    "#e07b39",
    "#3a9d5d",
    "#c0392b",
    "#8e6bbf",
    "#8c6d31",
    "#d16ba5",
    "#5f6b7a",
    "#b5a22c",
    "#2aa1b3",
)


def _fade(colour: str, alpha: float = 0.35) -> str:
    """``#rrggbb`` as ``rgba(r, g, b, alpha)`` (the links of a Sankey in their source's colour)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


FONT = '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", "Helvetica Neue", Arial, sans-serif'


def _finish(fig: go.Figure, title: str, x: str | None = None, y: str | None = None, **layout: Any) -> str:
    """Title and axes in the page language, SVG traces, the page font; the figure as JSON."""
    traces = [
        go.Scatter({k: v for k, v in tr.to_plotly_json().items() if k != "type"}) if tr.type == "scattergl" else tr
        for tr in fig.data
    ]
    out = go.Figure(data=traces, layout=fig.layout)
    out.update_layout(
        title={"text": title, "font": {"size": 15}},
        font={"family": FONT, "size": 12},
        margin={"l": 60, "r": 30, "t": 60, "b": 60},
        **layout,
    )
    out.update_xaxes(exponentformat="none", separatethousands=True)
    out.update_yaxes(exponentformat="none", separatethousands=True)
    if x is not None:
        out.update_xaxes(title_text=x)
    if y is not None:
        out.update_yaxes(title_text=y)
    return str(pio.to_json(out, validate=False))


def _table(rows: Rows) -> pa.Table:
    """Stored result rows (as the service returns them) as an Arrow table."""
    return rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(list(rows))


def _named(summary: Rows, t: Translator) -> pa.Table:
    """A segment summary with ``segment`` in the page language (and no second name)."""
    data = _table(summary)
    rows = data.to_pylist()
    names = [t.segment(r["segment"], r.get("segment_zh")) for r in rows]
    table = data.drop_columns([c for c in ("segment", "segment_zh") if c in data.column_names])
    return table.append_column("segment", pa.array(names, pa.string()))


def segment_sizes_chart(summary: Rows, t: Translator, title: str) -> str:
    """Share of customers and of value per segment (:func:`custlens.report.segment_sizes_figure`)."""
    from custlens.report import segment_sizes_figure

    fig = segment_sizes_figure(_named(summary, t))
    fig.data[0].update(name=t("chart.sizes.customers"), hovertemplate=t("chart.sizes.hover_customers"))
    if len(fig.data) > 1:
        fig.data[1].update(name=t("chart.sizes.value"), hovertemplate=t("chart.sizes.hover_value"))
    fig.update_layout(legend_title_text=t("chart.sizes.legend"))
    return _finish(fig, title, y=t("chart.sizes.y"))


def pareto_chart(curve: Rows, concentration: Mapping[str, Any], t: Translator) -> str:
    """The Pareto curve with the top share and Gini (:func:`custlens.report.pareto_figure`)."""
    from custlens.report import pareto_figure

    fig = pareto_figure(_table(curve), concentration_figures=concentration)
    fig.data[0].update(name=t("chart.pareto.curve"), hovertemplate=t("chart.pareto.hover"))
    fig.data[1].update(name=t("chart.pareto.equal"))
    if fig.layout.annotations:
        fig.layout.annotations[0].update(ax=70, ay=45, xanchor="left", align="left")
        fig.layout.annotations[0].text = t(
            "chart.pareto.note",
            top=t.pct(concentration.get("top_share", 0.2), 0),
            share=t.pct(concentration.get("top_share_value")),
            gini=t.dec(concentration.get("gini")),
        )
    return _finish(fig, t("chart.pareto.title"), t("chart.pareto.x"), t("chart.pareto.y"))


def pyramid_chart(summary: Rows, t: Translator) -> str:
    """The value pyramid, top tier first (:func:`custlens.report.pyramid_figure`)."""
    from custlens.report import pyramid_figure

    named = _named(summary, t)
    fig = pyramid_figure(named)
    rows = sorted(named.to_pylist(), key=lambda r: r.get("segment_rank", 0) or 0)
    text = [t("chart.pyramid.text", customers=t.num(r["customers"]), share=t.pct(r["value_share"])) for r in rows]
    fig.data[0].update(text=text, hovertext=text)
    return _finish(fig, t("chart.pyramid.title"))


def rfm_chart(grid: Rows, t: Translator, metric: str = "monetary") -> str:
    """Mean monetary value (or customers) by R and F score (:func:`custlens.report.rfm_heatmap_figure`)."""
    from custlens.report import rfm_heatmap_figure

    fig = rfm_heatmap_figure(_table(grid), metric="customers" if metric == "customers" else "monetary")
    key = "chart.rfm_customers" if metric == "customers" else "chart.rfm"
    fig.data[0].update(
        colorbar_title_text=t(f"{key}.colour"), hovertemplate=t(f"{key}.hover"), texttemplate="%{z:,.0f}"
    )
    return _finish(fig, t(f"{key}.title"), t("chart.rfm.x"), t("chart.rfm.y"))


def clv_histogram_chart(histogram: Rows, t: Translator) -> str:
    """Customers per lifetime-value bin (:func:`custlens.report.clv_distribution_figure`)."""
    from custlens.report import clv_distribution_figure

    histogram = _table(histogram)
    fig = clv_distribution_figure(histogram)
    bins = zip(histogram["bin_start"].to_pylist(), histogram["bin_end"].to_pylist())
    fig.data[0].update(
        customdata=[t("chart.clv.bin", low=t.money(a), high=t.money(b)) for a, b in bins],
        hovertemplate=t("chart.clv.hover"),
    )
    return _finish(fig, t("chart.clv.title"), t("chart.clv.x"), t("chart.clv.y"))


def clv_matrix_chart(points: Rows, thresholds: tuple[float, float] | None, t: Translator) -> str:
    """Current value against lifetime value by quadrant (:func:`custlens.report.value_matrix_figure`)."""
    from custlens.report import value_matrix_figure

    named = _named(
        _table(points).select(["customer_id", "current_value", "potential_value", "segment", "segment_zh"]), t
    )
    fig = value_matrix_figure(
        named, frequency_col="current_value", aov_col="potential_value", thresholds=thresholds, max_points=5000
    )
    for trace in fig.data:
        trace.update(hovertemplate=t("chart.clv_matrix.hover"))
    fig.update_layout(legend_title_text=t("chart.clv_matrix.legend"))
    return _finish(fig, t("chart.clv_matrix.title"), t("chart.clv_matrix.x"), t("chart.clv_matrix.y"))


def flow_chart(flow: Sequence[Mapping[str, Any]], names: Mapping[str, str], t: Translator, title: str) -> str:
    """A Sankey of customers moving from ``from_state`` to ``to_state`` (:func:`custlens.report.state_flow_figure`).

    Parameters
    ----------
    flow
        Rows ``from_state, to_state, customers``.
    names
        Display name of each state or segment in the page language.
    """
    from custlens.report import state_flow_figure

    fig = state_flow_figure(pa.Table.from_pylist(list(flow)))
    labels, bases = [], []
    for label in fig.data[0].node.label:
        for suffix, key in ((" (start)", "chart.flow.start"), (" (end)", "chart.flow.end")):
            if label.endswith(suffix):
                bases.append(label.removesuffix(suffix))
                labels.append(t(key, name=names.get(bases[-1], t.value("state", bases[-1]))))
    order = sorted(set(bases))  # a segment has one colour at the start and at the end
    colours = [_PALETTE[order.index(base) % len(_PALETTE)] for base in bases]
    fig.data[0].node.label = labels
    fig.data[0].node.color = colours
    fig.data[0].link.color = [_fade(colours[s]) for s in fig.data[0].link.source]
    fig.data[0].update(
        node_hovertemplate=t("chart.flow.node_hover"),
        link_hovertemplate=t("chart.flow.link_hover"),
    )
    return _finish(fig, title, height=520)


def risk_chart(bands: Rows, t: Translator) -> str:
    """Customers and value at stake per risk band (:func:`custlens.report.risk_band_figure`)."""
    from custlens.report import risk_band_figure

    fig = risk_band_figure(_table(bands))
    for group, (trace, key) in enumerate(zip(fig.data, ("chart.risk.customers", "chart.risk.value"))):
        # bars on two overlaid axes stand side by side only in their own offset groups
        trace.update(name=t(key), x=[t.value("risk_band", b) for b in trace.x], offsetgroup=str(group))
    fig.update_layout(yaxis_title_text=t("chart.risk.customers"), yaxis2_title_text=t("chart.risk.value"))
    return _finish(fig, t("chart.risk.title"), t("chart.risk.x"), legend={"orientation": "h", "y": -0.2})


def satisfaction_chart(index: Rows, by_segment: Rows | None, names: Mapping[str, str], t: Translator) -> str:
    """Satisfaction indices overall and per segment (:func:`custlens.report.satisfaction_figure`)."""
    from custlens.report import satisfaction_figure

    def constructs(table: pa.Table) -> pa.Table:
        labels = [t.value("construct", c) for c in table["construct"].to_pylist()]
        return table.set_column(table.schema.get_field_index("construct"), "construct", pa.array(labels))

    segs = None
    if by_segment is not None:
        segs = constructs(_table(by_segment))
        display = [names.get(s, s) for s in segs["segment"].to_pylist()]
        segs = segs.set_column(segs.schema.get_field_index("segment"), "segment", pa.array(display))
    fig = satisfaction_figure(constructs(_table(index)), segs)
    fig.data[0].update(name=t("chart.satisfaction.all"))
    for trace in fig.data[1:]:
        name, _, n = str(trace.name).rpartition(" (n=")
        trace.update(name=t("chart.satisfaction.segment", name=name, n=n.rstrip(")")) if name else trace.name)
    return _finish(fig, t("chart.satisfaction.title"), y=t("chart.satisfaction.y"))


def kano_chart(rows: Sequence[Mapping[str, Any]], t: Translator) -> str:
    """The Kano Better-Worse diagram (:func:`custlens.satisfaction.kano_figure`)."""
    from custlens.satisfaction import kano_figure

    fig = kano_figure(rows)
    points = [(abs(r["worse"]), r["better"]) for r in rows]
    fig.data[0].update(
        text=[t.value("kano_attribute", r["attribute"]) for r in rows],
        customdata=[t.value("kano_category", r["category"]) for r in rows],
        textposition=[_label_side(i, points) for i in range(len(points))],
        hovertemplate=t("chart.kano.hover"),
    )
    corners = {"A": (0.01, 0.99, "left", "top"), "O": (0.99, 0.99, "right", "top")}
    corners |= {"M": (0.99, 0.01, "right", "bottom"), "I": (0.01, 0.01, "left", "bottom")}
    for note, key in zip(fig.layout.annotations, ("A", "O", "M", "I")):
        x, y, xanchor, yanchor = corners[key]
        note.update(text=t.value("kano_category", key), x=x, y=y, xanchor=xanchor, yanchor=yanchor)
    return _finish(fig, t("chart.kano.title"), t("chart.kano.x"), t("chart.kano.y"))


def _label_side(i: int, points: Sequence[tuple[float, float]], near: float = 0.08) -> str:
    """Where a point's label goes: below it when a point close by sits higher, else above."""
    x, y = points[i]
    crowded = any(abs(x - a) < near and abs(y - b) < near and b > y for a, b in points)
    return "bottom center" if crowded else "top center"


def ipma_chart(rows: Sequence[Mapping[str, Any]], t: Translator) -> str:
    """The importance-performance map (:func:`custlens.satisfaction.ipma_figure`)."""
    from custlens.satisfaction import ipma_figure

    target = t.value("construct", rows[0]["target"]) if rows else ""
    named = [{**r, "construct": t.value("construct", r["construct"])} for r in rows]
    fig = ipma_figure({"target": target, "rows": named})
    fig.data[0].update(hovertemplate=t("chart.ipma.hover"))
    return _finish(fig, t("chart.ipma.title", target=target), t("chart.ipma.x", target=target), t("chart.ipma.y"))
