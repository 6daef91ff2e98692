"""Customer lifetime value from a fitted purchase model and expected spend per purchase.

``CLV = margin * expected spend per purchase * discounted expected purchases over a horizon``
(Fader, Hardie & Lee 2005, "RFM and CLV", eq. (1), with the finite horizon of practice).
Arrays in, an Arrow table out; :func:`custlens.clv.value_customers` does the same from a
summary table, fitting the models first.

Time units: the summary's ``recency`` and ``T`` are in one ``time_unit`` (``D`` days, ``W``
weeks, ``M`` months; :mod:`custlens.schema`), and the model's rates are per that unit. The
horizon and the discount rate are monthly; a month is ``365.25 / 12 = 30.4375`` days
(``schema.DAYS_PER_MONTH``), i.e. ``30.4375 / 7 ~ 4.348`` weeks, so month ``m`` ends at
``m * schema.units_per_month(time_unit)`` time units.

Discounting: ``discrete`` discounts purchases of month ``m`` by ``(1 + d)^-m``:
``sum_{m=1}^{H} (E[Y(m)] - E[Y(m-1)]) / (1+d)^m``; ``continuous`` uses the equivalent
force of interest ``delta = log(1+d)`` per month: ``int_0^H exp(-delta t) dE[Y(t)]``,
evaluated by parts as ``exp(-delta H) E[Y(H)] + delta int_0^H exp(-delta t) E[Y(t)] dt``
with 32-point Gauss-Legendre quadrature.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike, NDArray

from custlens.clv._checks import ParamRule, check_hyper_params, nonneg_float, positive_float
from custlens.clv._numeric import gauss_legendre, unique_rows, worth_compressing
from custlens.clv._transaction import _TransactionModel, check_rft
from custlens.errors import InputError
from custlens.schema import units_per_month

__all__ = ["customer_lifetime_value", "discounted_expected_purchases", "check_value_options"]

FloatArray = NDArray[np.float64]
Discounting = Literal["discrete", "continuous"]


def discounted_expected_purchases(
    model: _TransactionModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    horizon_months: float = 12.0,
    monthly_discount: float = 0.01,
    time_unit: str = "W",
    discounting: Discounting = "discrete",
    covariates: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Discounted and undiscounted expected repeat purchases of each customer over the horizon.

    Parameters are those of :func:`customer_lifetime_value`.

    Returns
    -------
    tuple
        ``(discounted, undiscounted)`` arrays, one value per customer.
    """
    disc, plain, _ = _value_parts(
        model, frequency, recency, T, horizon_months, monthly_discount, time_unit, discounting, covariates
    )
    return disc, plain


MAX_HORIZON_MONTHS = 1200.0
"""Longest horizon valued (100 years): the monthly grid of a longer one would not fit in memory."""

_RULES = (
    ParamRule(
        "horizon_months",
        lambda v: positive_float(v) and float(v) <= MAX_HORIZON_MONTHS,
        f"a float > 0 and <= {MAX_HORIZON_MONTHS:g} (100 years)",
    ),
    ParamRule("monthly_discount", nonneg_float, "a float >= 0"),
    ParamRule("margin", nonneg_float, "a float >= 0"),
)


def check_value_options(
    horizon_months: float, monthly_discount: float, time_unit: str, discounting: str, margin: float = 1.0
) -> float:
    """Check the valuation options (messages name the library parameter); return time units per month."""
    check_hyper_params(
        "customer_lifetime_value",
        {"horizon_months": horizon_months, "monthly_discount": monthly_discount, "margin": margin},
        _RULES,
    )
    if discounting not in ("discrete", "continuous"):
        raise InputError(f"'discounting' must be 'discrete' or 'continuous'; got {discounting!r}")
    return units_per_month(time_unit)


def _value_parts(
    model: _TransactionModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    horizon_months: float,
    monthly_discount: float,
    time_unit: str,
    discounting: str,
    covariates: ArrayLike | None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Discounted purchases, undiscounted purchases and P(alive) of each customer.

    Both sums are linear in the expected-purchases curve on the month-end (or quadrature)
    grid, so they are taken as ``curve @ weights`` per customer (the model interpolates
    them per frequency, see :meth:`conditional_curve`). Identical rows are computed once
    when the model has covariates or costly per-row terms (Pareto/NBD's P(alive)) and a
    sample shows they are common.
    """
    if not isinstance(model, _TransactionModel):
        raise InputError(f"'model' must be a fitted BetaGeo, ModifiedBetaGeo or ParetoNBD; got {type(model).__name__}")
    upm = check_value_options(horizon_months, monthly_discount, time_unit, discounting)
    x, t_x, T_ = check_rft(frequency, recency, T)
    X = model._covariate_matrix(covariates, x.size) if model.covariate_params else None
    inverse = None
    if X is not None or model._compress_rows:
        stacked = np.column_stack([x, t_x, T_] + ([] if X is None else [X]))
        if X is not None or worth_compressing(stacked):
            uniq, inverse = unique_rows(stacked)
            x, t_x, T_ = uniq[:, 0], uniq[:, 1], uniq[:, 2]
            X = None if X is None else uniq[:, 3:]
    H = float(horizon_months)
    if discounting == "discrete":
        # sum_m (E[Y(t_m)] - E[Y(t_m-1)]) f_m = sum_m E[Y(t_m)] (f_m - f_m+1), f_m = (1+d)^-m
        whole = int(np.ceil(H - 1e-12))
        grid = np.minimum(np.arange(0, whole + 1, dtype=float), H)
        factors = np.append((1.0 + monthly_discount) ** -np.arange(1, whole + 1, dtype=float), 0.0)
        discounted = np.append(0.0, factors[:-1] - factors[1:])
    else:
        # exp(-delta H) E[Y(H)] + delta int_0^H exp(-delta t) E[Y(t)] dt, by Gauss-Legendre
        delta = np.log1p(monthly_discount)
        u, w = gauss_legendre(32)
        grid = np.concatenate([u * H, [H]])
        discounted = np.append(delta * w * H * np.exp(-delta * u * H), np.exp(-delta * H))
    last = np.zeros(grid.size)
    last[-1] = 1.0
    alive, sums = model._curve_sums(grid * upm, np.column_stack([discounted, last]), x, t_x, T_, covariates=X)
    if inverse is None:
        return sums[:, 0], sums[:, 1], alive
    return sums[inverse, 0], sums[inverse, 1], alive[inverse]


def customer_lifetime_value(
    model: _TransactionModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    expected_spend: ArrayLike,
    *,
    horizon_months: float = 12.0,
    monthly_discount: float = 0.01,
    time_unit: str = "W",
    margin: float = 1.0,
    discounting: Discounting = "discrete",
    customer_id: ArrayLike | None = None,
    covariates: ArrayLike | None = None,
) -> pa.Table:
    """Per-customer CLV table: ``customer_id, p_alive, expected_purchases, expected_spend, clv``.

    Parameters
    ----------
    model
        A fitted (or restored, ``from_params``) :class:`BetaGeo`, :class:`ModifiedBetaGeo` or
        :class:`ParetoNBD`; it is not refitted.
    frequency, recency, T
        The customers' summary, ``recency`` and ``T`` in ``time_unit``.
    expected_spend
        Expected value per purchase: one value, or one per customer (e.g.
        :meth:`GammaGamma.conditional_expected_spend`).
    horizon_months
        Horizon in months (> 0; a fraction of a month is allowed).
    monthly_discount
        Discount rate per month (>= 0).
    time_unit
        Unit of ``recency`` and ``T``: ``D``, ``W`` or ``M``.
    margin
        Share of spend that is margin (1 keeps CLV in revenue terms).
    discounting
        ``discrete`` (month-end) or ``continuous``; see the module docstring.
    customer_id
        Identifiers for the first column (an array or an Arrow column; default: row numbers).
    covariates
        One row per customer, for a model fitted with ``covariate_params``: each customer
        is then valued with its own parameters.

    Returns
    -------
    pyarrow.Table
        ``expected_purchases`` is undiscounted over the horizon; ``clv`` is
        ``margin * expected_spend * discounted expected purchases``.
    """
    check_value_options(horizon_months, monthly_discount, time_unit, discounting, margin)
    disc, plain, alive = _value_parts(
        model, frequency, recency, T, horizon_months, monthly_discount, time_unit, discounting, covariates
    )
    try:
        spend = np.broadcast_to(np.asarray(expected_spend, dtype=float), disc.shape)
    except ValueError:
        raise InputError(
            f"'expected_spend' must be one value or one per customer ({disc.size}); got shape "
            f"{np.shape(expected_spend)}"
        ) from None
    if customer_id is None:
        ids = pa.array(np.arange(disc.size))
    elif isinstance(customer_id, (pa.Array, pa.ChunkedArray)):
        ids = customer_id  # kept as Arrow: text identifiers stay text
    else:
        ids = pa.array(np.asarray(customer_id))
    if len(ids) != disc.size:
        raise InputError(f"'customer_id' has {len(ids)} rows but the summary has {disc.size}")
    return pa.table(
        {
            "customer_id": ids,
            "p_alive": alive,
            "expected_purchases": plain,
            "expected_spend": np.asarray(spend, dtype=float),
            "clv": float(margin) * spend * disc,
        }
    )
