"""Table adapters: fit models named by their short codes on the columns of a summary table.

:func:`fit_summary` is what ``custlens fit`` calls; :func:`value_customers` what
``custlens clv`` calls. Neither reads anything from disk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from custlens._frames import as_arrow, as_ibis
from custlens.clv._checks import arrow_values
from custlens.clv._spend import GammaGamma
from custlens.errors import InputError, did_you_mean
from custlens.schema import DAYS_PER_UNIT, check_time_unit

if TYPE_CHECKING:
    from custlens.clv._transaction import _TransactionModel
    from custlens.clv.value import Discounting

# The other model families (their modules import scipy.special) and the value functions are
# imported where they are used, so that ``custlens fit gg`` loads the Gamma-Gamma model only.

__all__ = [
    "CLVResult",
    "DEFAULT_COLUMNS",
    "SUMMARY_COLUMNS",
    "fit_summary",
    "summary_from_transactions",
    "value_customers",
]

#: The columns each model reads, by model code (``weight`` is optional for ``bgbb``).
DEFAULT_COLUMNS: dict[str, dict[str, str]] = {
    "bgnbd": {"frequency": "frequency", "recency": "recency", "T": "T"},
    "mbgnbd": {"frequency": "frequency", "recency": "recency", "T": "T"},
    "pnbd": {"frequency": "frequency", "recency": "recency", "T": "T"},
    "bgbb": {"frequency": "frequency", "recency": "recency", "n_periods": "n_periods", "weight": "weight"},
    "sbg": {"period": "period", "survivors": "survivors"},
    "gg": {"frequency": "frequency", "monetary_value": "monetary_value"},
}
#: The columns :func:`value_customers` reads.
SUMMARY_COLUMNS: tuple[str, ...] = ("customer_id", "frequency", "recency", "T", "monetary_value")
_OPTIONAL = {"weight"}
_PURCHASE_CODES = ("bgnbd", "mbgnbd", "pnbd")  # the codes of custlens.clv._registry.PURCHASE_MODELS


def _column(table: pa.Table, name: str, role: str) -> Any:
    if name not in table.column_names:
        raise InputError(
            f"the summary has no column {name!r} (for {role}){did_you_mean(name, table.column_names)}; "
            f"columns: {', '.join(table.column_names)}"
        )
    return arrow_values(table.column(name))


def _id_column(table: pa.Table, name: str) -> pa.Array:
    import pyarrow.compute as pc

    _column(table, name, "customer_id")  # the message when it is absent
    ids = table.column(name).combine_chunks()
    counts = pc.value_counts(ids)
    repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(repeated):
        raise InputError(
            f"'customer_id' column {name!r}: {len(repeated):,} id(s) appear more than once "
            f"(first: {repeated[0].as_py()!r}); a summary holds one row per customer"
        )
    return ids


def summary_from_transactions(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str | None = "amount",
    time_unit: str = "W",
    as_of: Any = None,
) -> pa.Table:
    """Per-customer ``customer_id, frequency, recency, T, monetary_value`` from a transaction log.

    Uses :func:`custlens.features.purchase_history` with daily periods; ``recency`` and ``T``
    are then expressed in ``time_unit`` (``D`` days, ``W`` = 7 days, ``M`` = 365.25/12 days,
    :data:`custlens.schema.DAYS_PER_UNIT`), as in the published CDNOW summary (days / 7).
    ``transactions`` may be an Ibis table of any backend (DuckDB, Spark): the summary is
    computed there and only its rows are fetched.
    """
    expr = _summary_expression(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        time_unit=time_unit,
        as_of=as_of,
    )
    return as_arrow(expr, "transactions")


def _summary_expression(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str | None = "amount",
    time_unit: str = "W",
    as_of: Any = None,
) -> Any:
    """:func:`summary_from_transactions` as an Ibis expression, in the engine holding the log."""
    unit = check_time_unit(time_unit)
    from custlens.features import purchase_history

    table = as_ibis(transactions, "transactions")
    return purchase_history(
        table,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col if amount_col in table.columns else None,
        as_of=as_of,
        time_unit="D",
        freq_multiplier=DAYS_PER_UNIT[unit],
    )


def fit_summary(
    model: str,
    summary: Any,
    *,
    columns: Mapping[str, str] | None = None,
    penalizer: float = 0.0,
    transactions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit ``model`` (a code of :data:`custlens.clv.MODELS`) on a summary table.

    Parameters
    ----------
    model
        Model code: ``bgnbd, mbgnbd, pnbd, bgbb, sbg, gg``.
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
        raise InputError(
            f"'model' must be one of {', '.join(DEFAULT_COLUMNS)}; got {model!r}{did_you_mean(model, DEFAULT_COLUMNS)}"
        )
    weights: Any = None
    if transactions is not None:
        if model in ("bgbb", "sbg"):
            raise InputError(f"'transactions' (a transaction log) works for bgnbd, mbgnbd, pnbd and gg, not {model}")
        expr = _summary_expression(summary, **transactions)
        if model in _PURCHASE_CODES:  # only the distinct rows and their counts leave the engine
            from custlens.clv._engine import purchase_statistics

            table = purchase_statistics(expr)
            weights = arrow_values(table.column("weight"))
        else:  # Gamma-Gamma: the repeat buyers' frequency and mean spend
            table = as_arrow(expr.filter(expr.frequency > 0).select("frequency", "monetary_value"), "transactions")
        names = dict(DEFAULT_COLUMNS[model])
    else:
        names = {k: (columns or {}).get(k, v) for k, v in DEFAULT_COLUMNS[model].items()}
        table = as_arrow(summary, "summary")
    values: dict[str, Any] = {}
    for key, col in names.items():
        if col in table.column_names:
            values[key] = arrow_values(table.column(col))
        elif key not in _OPTIONAL:
            raise InputError(
                f"model {model} needs a column {col!r} (for {key}){did_you_mean(col, table.column_names)}; "
                f"the table has: {', '.join(table.column_names)}"
            )
    if "customer_id" in table.column_names:
        _id_column(table, "customer_id")  # one row per customer
    if model in _PURCHASE_CODES:
        from custlens.clv._registry import PURCHASE_MODELS

        est: Any = PURCHASE_MODELS[model](penalizer=penalizer).fit(
            values["frequency"], values["recency"], values["T"], weights=weights
        )
        n = len(values["frequency"]) if weights is None else int(np.sum(weights))
    elif model == "gg":
        est = GammaGamma(penalizer=penalizer).fit(values["frequency"], values["monetary_value"])
        n = int(np.count_nonzero(np.asarray(values["frequency"], dtype=float) > 0))
    elif model == "bgbb":
        from custlens.clv._discrete import BetaGeoBetaBinom

        est = BetaGeoBetaBinom(penalizer=penalizer).fit(
            values["frequency"], values["recency"], values["n_periods"], weights=values.get("weight")
        )
        n = int(est.result_.n_obs)
    else:
        from custlens.clv._discrete import ShiftedBetaGeometric

        est = ShiftedBetaGeometric(penalizer=penalizer).fit(values["survivors"], periods=values["period"])
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


@dataclass(frozen=True)
class CLVResult:
    """Lifetime value of every customer of a summary, with the models that produced it.

    Attributes
    ----------
    table
        ``customer_id, p_alive, expected_purchases, expected_spend, clv`` (Arrow), as
        :func:`~custlens.clv.customer_lifetime_value` returns it.
    purchase_model
        The fitted purchase model (:class:`~custlens.clv.BetaGeo`,
        :class:`~custlens.clv.ModifiedBetaGeo` or :class:`~custlens.clv.ParetoNBD`).
    spend_model
        The fitted :class:`~custlens.clv.GammaGamma`, or ``None`` when the observed
        ``monetary_value`` was the expected spend (``spend=None``).
    settings
        The resolved options as plain JSON values: ``model, spend, horizon_months,
        monthly_discount, time_unit, margin, discounting, columns, covariates,
        covariate_params, penalizer``. ``value_customers(summary, **settings)`` computes the
        same table again (fitting again); with ``model=purchase_model`` and
        ``spend=spend_model`` added (or models restored with ``from_params``) it does so
        without fitting.
    """

    table: pa.Table
    purchase_model: _TransactionModel
    spend_model: GammaGamma | None
    settings: dict[str, Any]


def _names(columns: Mapping[str, str] | None) -> dict[str, str]:
    names = {k: k for k in SUMMARY_COLUMNS}
    for key, value in (columns or {}).items():
        if key not in names:
            raise InputError(
                f"'columns' keys must be among {', '.join(SUMMARY_COLUMNS)}; got {key!r}{did_you_mean(key, names)}"
            )
        names[key] = str(value)
    return names


def _purchase_model(
    model: str | _TransactionModel,
    covariates: Sequence[str] | None,
    covariate_params: Sequence[str] | None,
    penalizer: float,
) -> tuple[_TransactionModel, bool]:
    """The purchase model to use and whether it still has to be fitted."""
    from custlens.clv._registry import PURCHASE_MODELS
    from custlens.clv._transaction import _TransactionModel

    if isinstance(model, _TransactionModel):
        model._check_fitted()
        if covariate_params is not None and tuple(covariate_params) != tuple(model.covariate_params):
            raise InputError(
                f"'covariate_params' {tuple(covariate_params)!r} differs from the given model's "
                f"{tuple(model.covariate_params)!r}"
            )
        if bool(covariates) != bool(model.covariate_params):
            raise InputError(
                "'covariates' must name the covariate columns exactly when the model has covariate_params "
                f"(the model has {tuple(model.covariate_params)!r}; got covariates={covariates!r})"
            )
        return model, False
    if not isinstance(model, str) or model not in PURCHASE_MODELS:
        raise InputError(
            f"'model' must be one of {', '.join(PURCHASE_MODELS)} or a fitted purchase model; got {model!r}"
            f"{did_you_mean(str(model), PURCHASE_MODELS)}"
        )
    if covariate_params is not None and not covariates:
        raise InputError("'covariate_params' needs 'covariates' (the covariate columns of the summary)")
    targets = tuple(covariate_params) if covariate_params is not None else (("alpha",) if covariates else ())
    return PURCHASE_MODELS[model](penalizer=penalizer, covariate_params=targets), True


def value_customers(
    summary: Any,
    *,
    model: str | _TransactionModel = "bgnbd",
    spend: str | GammaGamma | None = "gg",
    horizon_months: float = 12.0,
    monthly_discount: float = 0.01,
    time_unit: str = "W",
    margin: float = 1.0,
    discounting: Discounting = "discrete",
    columns: Mapping[str, str] | None = None,
    covariates: Sequence[str] | None = None,
    covariate_params: Sequence[str] | None = None,
    penalizer: float = 0.0,
) -> CLVResult:
    """Fit a purchase model (and the Gamma-Gamma spend model) on a summary and value every customer.

    Parameters
    ----------
    summary
        A table (Arrow, pandas, polars or Ibis) with columns ``customer_id, frequency,
        recency, T, monetary_value`` (``recency`` and ``T`` in ``time_unit``;
        ``monetary_value`` the mean value of the repeat purchases).
    model
        ``bgnbd``, ``mbgnbd`` or ``pnbd`` to fit that model, or an already fitted (or
        restored) purchase model, which is used as it is.
    spend
        ``gg`` to fit the Gamma-Gamma model for the expected spend, a fitted
        :class:`~custlens.clv.GammaGamma` to use as it is, or ``None`` to use each
        customer's observed ``monetary_value``.
    horizon_months, monthly_discount, time_unit, margin, discounting
        As in :func:`~custlens.clv.customer_lifetime_value`.
    columns
        Names in the table of the expected columns, e.g. ``{"customer_id": "ID",
        "frequency": "x", "recency": "t_x", "monetary_value": "zbar"}``.
    covariates
        Names of time-invariant covariate columns of the summary (numbers): the purchase
        model is fitted with them and each customer is valued with its own parameters.
    covariate_params
        The parameters the covariates act on (default ``("alpha",)``, the purchase-rate
        scale; see :class:`~custlens.clv.BetaGeo`). Only with ``covariates``.
    penalizer
        L2 penalty of the models fitted here (purchase and spend).

    Returns
    -------
    CLVResult
        The table, the two models and the resolved settings.
    """
    from custlens.clv.value import check_value_options, customer_lifetime_value

    names = _names(columns)
    unit = check_time_unit(time_unit)
    check_value_options(horizon_months, monthly_discount, unit, discounting, margin)
    purchase, fit_purchase = _purchase_model(model, covariates, covariate_params, penalizer)
    if not (spend is None or spend == "gg" or isinstance(spend, GammaGamma)):
        raise InputError(f"'spend' must be 'gg', None or a fitted GammaGamma; got {spend!r}")
    table = as_arrow(summary, "summary")
    ids = _id_column(table, names["customer_id"])  # one row per customer, checked before any fit
    x, t_x, T = (_column(table, names[k], k) for k in ("frequency", "recency", "T"))
    money = _column(table, names["monetary_value"], "monetary_value")
    X = None
    if covariates:
        X = np.column_stack([_column(table, str(c), "covariates") for c in covariates]).astype(float)
    if fit_purchase:
        purchase.fit(x, t_x, T, covariates=X)
    spend_model: GammaGamma | None
    if spend is None:
        spend_model = None
        expected_spend = np.asarray(money, dtype=float)
    else:
        spend_model = GammaGamma(penalizer=penalizer).fit(x, money) if isinstance(spend, str) else spend
        expected_spend = spend_model.conditional_expected_spend(x, money)
    result = customer_lifetime_value(
        purchase,
        x,
        t_x,
        T,
        expected_spend,
        horizon_months=horizon_months,
        monthly_discount=monthly_discount,
        time_unit=unit,
        margin=margin,
        discounting=discounting,
        customer_id=ids,
        covariates=X,
    )
    settings = {
        "model": purchase._model,
        "spend": None if spend_model is None else "gg",
        "horizon_months": float(horizon_months),
        "monthly_discount": float(monthly_discount),
        "time_unit": unit,
        "margin": float(margin),
        "discounting": discounting,
        "columns": names,
        "covariates": None if not covariates else [str(c) for c in covariates],
        "covariate_params": list(purchase.covariate_params) or None,
        "penalizer": float(penalizer),
    }
    return CLVResult(table=result, purchase_model=purchase, spend_model=spend_model, settings=settings)
