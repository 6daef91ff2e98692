"""Evaluation of fitted purchase models: tracking, conditional expectations, comparison.

Each function returns an Arrow table; the ``*_figure`` functions draw that table as a
Plotly figure. The checks follow Fader, Hardie & Lee (2005, "Counting your customers the
easy way", figures 2-4): weekly repeat transactions of the cohort, actual vs predicted,
incremental and cumulative, across the calibration and holdout periods; and mean holdout
transactions by calibration frequency, actual vs conditional expectation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike

from custlens.clv._checks import column, require
from custlens.clv._numeric import unique_rows
from custlens.clv._transaction import _TransactionModel, check_rft
from custlens.errors import InputError

if TYPE_CHECKING:  # plotly is imported when a figure is drawn, not with the package
    import plotly.graph_objects as go

__all__ = [
    "tracking",
    "tracking_figure",
    "conditional_expectations",
    "conditional_expectations_figure",
    "compare_models",
]


def tracking(
    model: _TransactionModel,
    T: ArrayLike,
    period_counts: ArrayLike,
    *,
    calibration_end: float,
) -> pa.Table:
    """Cohort repeat transactions per period, actual vs predicted (FHL 2005, figures 2-3).

    Parameters
    ----------
    model
        A fitted purchase model (no covariates).
    T
        Each customer's calibration length; the customer's first purchase was at
        ``calibration_end - T``.
    period_counts
        Actual repeat transactions of the whole cohort in periods 1, 2, ... (calibration and
        holdout), in the model's time unit.
    calibration_end
        End of the calibration period, counted from the start of period 1.

    Returns
    -------
    pyarrow.Table
        ``period, part (calibration/holdout), actual, predicted, actual_cumulative,
        predicted_cumulative``; the prediction sums every customer's new-customer
        expectation ``E[X(t - birth)]``.
    """
    T_ = column("T", T)
    actual = column("period_counts", period_counts)
    require("T", (T_ > 0) & (T_ <= calibration_end), f"must be in (0, calibration_end = {calibration_end}]", T_)
    births, counts = np.unique(calibration_end - T_, return_counts=True)
    ends = np.arange(1, actual.size + 1, dtype=float)
    age = np.clip(ends[:, None] - births[None, :], 0.0, None)
    expected = np.zeros_like(age)
    live = age > 0
    expected[live] = model.expected_purchases(age[live])
    cumulative = expected @ counts
    return pa.table(
        {
            "period": np.arange(1, actual.size + 1),
            "part": np.where(ends <= calibration_end + 1e-9, "calibration", "holdout"),
            "actual": actual,
            "predicted": np.diff(np.concatenate([[0.0], cumulative])),
            "actual_cumulative": np.cumsum(actual),
            "predicted_cumulative": cumulative,
        }
    )


def tracking_figure(table: pa.Table, *, title: str = "Repeat transactions: actual vs model") -> go.Figure:
    """Incremental and cumulative tracking plots of a :func:`tracking` table."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("per period", "cumulative"))
    period = table.column("period").to_numpy()
    for col, (a, p) in enumerate((("actual", "predicted"), ("actual_cumulative", "predicted_cumulative")), start=1):
        fig.add_trace(
            go.Scatter(
                x=period,
                y=table.column(a).to_numpy(),
                name="actual",
                mode="lines",
                line={"color": "#1f77b4"},
                showlegend=col == 1,
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Scatter(
                x=period,
                y=table.column(p).to_numpy(),
                name="model",
                mode="lines",
                line={"color": "#d62728", "dash": "dash"},
                showlegend=col == 1,
            ),
            row=1,
            col=col,
        )
    parts = table.column("part").to_pylist()
    if "holdout" in parts:
        boundary = float(period[parts.index("holdout")]) - 0.5
        fig.add_vline(x=boundary, line={"color": "grey", "dash": "dot"})
    fig.update_layout(title=title, xaxis_title="period", xaxis2_title="period")
    return fig


def conditional_expectations(
    model: _TransactionModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    holdout_frequency: ArrayLike,
    holdout_length: float,
    *,
    max_frequency: int = 7,
) -> pa.Table:
    """Mean holdout transactions by calibration frequency, actual vs predicted (FHL 2005, figure 4).

    Customers with ``frequency >= max_frequency`` share the last bin (``7+``).

    Returns
    -------
    pyarrow.Table
        ``frequency_bin, customers, actual, predicted`` (means per customer).
    """
    x, t_x, T_ = check_rft(frequency, recency, T)
    hold = column("holdout_frequency", holdout_frequency, x.size)
    if not holdout_length > 0:
        raise InputError(f"'holdout_length' must be > 0; got {holdout_length!r}")
    uniq, inverse = unique_rows(np.column_stack([x, t_x, T_]))
    predicted = model.conditional_expected_purchases(holdout_length, uniq[:, 0], uniq[:, 1], uniq[:, 2])[inverse]
    bins = np.minimum(x, max_frequency).astype(int)
    n = np.bincount(bins, minlength=max_frequency + 1)
    present = n > 0
    labels = [str(b) if b < max_frequency else f"{max_frequency}+" for b in range(max_frequency + 1)]
    safe = np.maximum(n, 1)
    return pa.table(
        {
            "frequency_bin": [lab for lab, keep in zip(labels, present, strict=True) if keep],
            "customers": n[present],
            "actual": (np.bincount(bins, weights=hold, minlength=max_frequency + 1) / safe)[present],
            "predicted": (np.bincount(bins, weights=predicted, minlength=max_frequency + 1) / safe)[present],
        }
    )


def conditional_expectations_figure(
    table: pa.Table, *, title: str = "Holdout transactions by calibration frequency"
) -> go.Figure:
    """Actual vs predicted mean holdout transactions per frequency bin."""
    import plotly.graph_objects as go

    bins = table.column("frequency_bin").to_pylist()
    fig = go.Figure(
        [
            go.Scatter(x=bins, y=table.column("actual").to_numpy(), name="actual", mode="lines+markers"),
            go.Scatter(
                x=bins,
                y=table.column("predicted").to_numpy(),
                name="model",
                mode="lines+markers",
                line={"dash": "dash"},
            ),
        ]
    )
    fig.update_layout(
        title=title, xaxis_title="repeat transactions in calibration", yaxis_title="mean transactions in holdout"
    )
    return fig


def compare_models(
    models: Mapping[str, _TransactionModel],
    frequency: ArrayLike | None = None,
    recency: ArrayLike | None = None,
    T: ArrayLike | None = None,
    holdout_frequency: ArrayLike | None = None,
    holdout_length: float | None = None,
) -> pa.Table:
    """Fit statistics of fitted models side by side, with holdout errors when a holdout is given.

    Returns
    -------
    pyarrow.Table
        ``model, n_params, log_likelihood, aic, bic`` and, with a holdout,
        ``holdout_mae, holdout_rmse, holdout_total_error`` (predicted minus actual total).
    """
    rows: dict[str, list[object]] = {k: [] for k in ("model", "n_params", "log_likelihood", "aic", "bic")}
    holdout = None
    if holdout_frequency is not None:
        if frequency is None or recency is None or T is None or holdout_length is None:
            raise InputError("a holdout comparison needs frequency, recency, T, holdout_frequency and holdout_length")
        x, t_x, T_ = check_rft(frequency, recency, T)
        holdout = (float(holdout_length), column("holdout_frequency", holdout_frequency, x.size))
        for k in ("holdout_mae", "holdout_rmse", "holdout_total_error"):
            rows[k] = []
    for name, model in models.items():
        model._check_fitted()
        if not hasattr(model, "result_"):
            raise InputError(
                f"model {name!r} has no fit statistics (restored with from_params, not fitted); "
                "compare_models needs fitted models"
            )
        res = model.result_
        rows["model"].append(name)
        rows["n_params"].append(res.n_params)
        rows["log_likelihood"].append(res.log_likelihood)
        rows["aic"].append(res.aic)
        rows["bic"].append(res.bic)
        if holdout is not None:
            err = model.conditional_expected_purchases(holdout[0], x, t_x, T_) - holdout[1]
            rows["holdout_mae"].append(float(np.mean(np.abs(err))))
            rows["holdout_rmse"].append(float(np.sqrt(np.mean(err**2))))
            rows["holdout_total_error"].append(float(err.sum()))
    return pa.table(rows)
