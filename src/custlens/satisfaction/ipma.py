"""Importance-performance map analysis (IPMA) of a PLS path model.

Following Ringle & Sarstedt (2016), "Gain more insight from your PLS-SEM results: the
importance-performance map analysis", Industrial Management & Data Systems 116(9),
1865-1886: performance is the mean 0-100 index score of a construct
(:mod:`custlens.satisfaction.index`); importance is its *unstandardised* total effect on
the target construct, where the unstandardised path coefficients are the OLS coefficients
(with intercept) of each endogenous construct's 0-100 scores on its predecessors' scores.
An importance of 0.5 thus means: one more index point of the predictor gives half an index
point of the target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from custlens.errors import InputError
from custlens.satisfaction.index import satisfaction_index

if TYPE_CHECKING:
    from custlens.satisfaction.pls import PLSResult

__all__ = ["ipma", "ipma_figure", "unstandardised_paths"]


def unstandardised_paths(scores: NDArray[np.float64], paths: NDArray[np.bool_]) -> NDArray[np.float64]:
    """OLS path coefficients (intercept included, not returned) on unstandardised scores."""
    beta = np.zeros(paths.shape)
    ones = np.ones((scores.shape[0], 1))
    for j in range(paths.shape[0]):
        pred = np.flatnonzero(paths[:, j])
        if pred.size:
            design = np.hstack([ones, scores[:, pred]])
            coef, *_ = np.linalg.lstsq(design, scores[:, j], rcond=None)
            beta[pred, j] = coef[1:]
    return beta


def ipma(result: PLSResult, target: str | None = None, scale: tuple[float, float] = (1, 10)) -> dict[str, Any]:
    """Importance (total effect on ``target``) and performance (0-100) of its antecedents.

    ``target`` defaults to ``Satisfaction`` when the model has it, else to the last
    construct in the model.
    """
    names = result.constructs
    if target is None:
        target = "Satisfaction" if "Satisfaction" in names else names[-1]
    if target not in names:
        raise InputError(f"IPMA target {target!r} is not a construct of the model ({', '.join(names)})")
    idx = satisfaction_index(result, scale)
    beta = unstandardised_paths(idx.scores, result.prepared.paths)
    eye = np.eye(len(names))
    total = np.linalg.inv(eye - beta) - eye
    t = names.index(target)
    perf = idx.scores.mean(axis=0)
    rows = [
        {"construct": c, "importance": float(total[i, t]), "performance": float(perf[i])}
        for i, c in enumerate(names)
        if i != t and abs(total[i, t]) > 0
    ]
    return {"target": target, "target_performance": float(perf[t]), "rows": rows}


def ipma_figure(data: dict[str, Any]) -> Any:
    """A Plotly scatter of the IPMA: importance on x, performance (0-100) on y."""
    import plotly.graph_objects as go

    rows = data["rows"]
    imp = [r["importance"] for r in rows]
    perf = [r["performance"] for r in rows]
    fig = go.Figure(
        go.Scatter(
            x=imp,
            y=perf,
            mode="markers+text",
            text=[r["construct"] for r in rows],
            textposition="top center",
            hovertemplate="%{text}<br>importance %{x:.3f}<br>performance %{y:.1f}<extra></extra>",
        )
    )
    if rows:
        fig.add_vline(x=float(np.mean(imp)), line_dash="dot", line_color="grey")
        fig.add_hline(y=float(np.mean(perf)), line_dash="dot", line_color="grey")
    fig.update_layout(
        title=f"Importance-performance map: {data['target']}",
        xaxis_title=f"Importance (unstandardised total effect on {data['target']})",
        yaxis_title="Performance (0-100)",
        template="plotly_white",
    )
    return fig
