"""Table adapters: fit a model named by its short code on the columns of a summary table.

This is what the ``custlens fit`` command calls; it reads nothing from disk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from custlens.clv._base import MLEstimator
from custlens.clv.value import PURCHASE_MODELS, as_arrow
from custlens.errors import InputError

__all__ = ["MODELS", "DEFAULT_COLUMNS", "fit_summary", "summary_from_transactions"]

#: Short codes of the fit command and the columns each model reads.
DEFAULT_COLUMNS: dict[str, dict[str, str]] = {
    "bgnbd": {"frequency": "frequency", "recency": "recency", "T": "T"},
    "mbgnbd": {"frequency": "frequency", "recency": "recency", "T": "T"},
    "pnbd": {"frequency": "frequency", "recency": "recency", "T": "T"},
    "gg": {"frequency": "frequency", "monetary_value": "monetary_value"},
    "bgbb": {"frequency": "frequency", "recency": "recency", "n_periods": "n_periods", "weight": "weight"},
    "sbg": {"period": "period", "survivors": "survivors"},
}
MODELS = tuple(DEFAULT_COLUMNS)
_OPTIONAL = {"weight"}


def _estimator(model: str, **hyper: Any) -> MLEstimator:
    from custlens.clv._discrete import BetaGeoBetaBinom, ShiftedBetaGeometric
    from custlens.clv._spend import GammaGamma

    classes: dict[str, type[MLEstimator]] = {
        **PURCHASE_MODELS,
        "gg": GammaGamma,
        "bgbb": BetaGeoBetaBinom,
        "sbg": ShiftedBetaGeometric,
    }
    return classes[model](**hyper)


def summary_from_transactions(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str | None = "amount",
    time_unit: str = "W",
    end: Any = None,
) -> pa.Table:
    """Per-customer ``customer_id, frequency, recency, T, monetary_value`` from a transaction log.

    Uses :func:`custlens.features.purchase_history` with daily periods; ``recency`` and ``T``
    are then expressed in ``time_unit`` (``D`` days, ``W`` = 7 days, ``M`` = 365.25/12 days),
    as in the published CDNOW summary (days / 7).
    """
    import ibis

    from custlens.features import purchase_history

    days = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}
    unit = str(time_unit).upper()
    if unit not in days:
        raise InputError(f"'time_unit' must be one of D, W, M; got {time_unit!r}")
    table = as_arrow(transactions)
    expr = purchase_history(
        ibis.memtable(table),
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col if amount_col in table.column_names else None,
        end=end,
        freq="D",
        freq_multiplier=days[unit],
    )
    return expr.to_pyarrow()


def fit_summary(
    model: str,
    summary: Any,
    *,
    columns: dict[str, str] | None = None,
    penalizer: float = 0.0,
    transactions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit ``model`` (``bgnbd, mbgnbd, pnbd, gg, bgbb, sbg``) on a summary table.

    Parameters
    ----------
    model
        Short model code.
    summary
        Arrow/pandas/polars/Ibis table with the columns of :data:`DEFAULT_COLUMNS`
        (``weight`` is optional for ``bgbb``).
    columns
        Renames, e.g. ``{"frequency": "x", "recency": "t_x"}``.
    penalizer
        L2 penalty (see :class:`~custlens.clv.BetaGeo`).
    transactions
        When given, ``summary`` is a transaction log, summarised first by
        :func:`summary_from_transactions` with these keyword arguments (not for ``bgbb``
        and ``sbg``, whose data are not transaction logs).

    Returns
    -------
    dict
        ``model, params, log_likelihood, standard_errors, n_customers, converged`` plus
        ``aic, bic, n_iter``; parameter names as in the source papers.
    """
    if model not in DEFAULT_COLUMNS:
        raise InputError(f"MODEL must be one of {', '.join(MODELS)}; got {model!r}")
    if transactions is not None:
        if model in ("bgbb", "sbg"):
            raise InputError(f"--transactions works for bgnbd, mbgnbd, pnbd and gg, not {model}")
        table = summary_from_transactions(summary, **transactions)
        names = dict(DEFAULT_COLUMNS[model])
    else:
        names = {k: (columns or {}).get(k, v) for k, v in DEFAULT_COLUMNS[model].items()}
        table = as_arrow(summary)
    values: dict[str, Any] = {}
    for key, col in names.items():
        if col in table.column_names:
            values[key] = table.column(col).to_numpy(zero_copy_only=False)
        elif key not in _OPTIONAL:
            raise InputError(
                f"model {model} needs a column '{col}' (for {key}); the file has: {', '.join(table.column_names)}"
            )
    est = _estimator(model, penalizer=penalizer)
    if model in PURCHASE_MODELS:
        est.fit(values["frequency"], values["recency"], values["T"])  # type: ignore[attr-defined]
        n = len(values["frequency"])
    elif model == "gg":
        est.fit(values["frequency"], values["monetary_value"])  # type: ignore[attr-defined]
        n = int(np.count_nonzero(np.asarray(values["frequency"], dtype=float) > 0))
    elif model == "bgbb":
        est.fit(
            values["frequency"],
            values["recency"],
            values["n_periods"],  # type: ignore[attr-defined]
            weights=values.get("weight"),
        )
        n = int(est.result_.n_obs)
    else:
        est.fit(values["survivors"], periods=values["period"])  # type: ignore[attr-defined]
        n = int(est.result_.n_obs)
    res = est.result_
    return {
        "model": model,
        "params": dict(res.params),
        "log_likelihood": res.log_likelihood,
        "standard_errors": res.std_errors,
        "n_customers": n,
        "converged": res.converged,
        "aic": res.aic,
        "bic": res.bic,
        "n_iter": res.n_iter,
    }
