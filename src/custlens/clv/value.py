"""Customer lifetime value from a fitted purchase model and a spend model.

``CLV = margin * expected spend per purchase * discounted expected purchases over a horizon``
(Fader, Hardie & Lee 2005, "RFM and CLV", eq. (1), with the finite horizon of practice).

Time units: the summary's ``recency`` and ``T`` are in one time unit (``D`` days, ``W``
weeks, ``M`` months), and the model's rates are per that unit. The horizon and the
discount rate are monthly; a month is ``365.25 / 12 = 30.4375`` days, i.e.
``30.4375 / 7 ~ 4.348`` weeks, so month ``m`` ends at ``m * units_per_month`` time units.

Discounting: ``discrete`` discounts purchases of month ``m`` by ``(1 + d)^-m``:
``sum_{m=1}^{H} (E[Y(m)] - E[Y(m-1)]) / (1+d)^m``; ``continuous`` uses the equivalent
force of interest ``delta = log(1+d)`` per month: ``int_0^H exp(-delta t) dE[Y(t)]``,
evaluated by parts as ``exp(-delta H) E[Y(H)] + delta int_0^H exp(-delta t) E[Y(t)] dt``
with 32-point Gauss-Legendre quadrature.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike, NDArray

from custlens._frames import as_arrow
from custlens.clv._checks import ParamRule, check_hyper_params, nonneg_float, positive_float
from custlens.clv._numeric import gauss_legendre, unique_rows
from custlens.clv._spend import GammaGamma
from custlens.clv._transaction import BetaGeo, ModifiedBetaGeo, ParetoNBD, _TransactionModel, check_rft
from custlens.errors import InputError

__all__ = ["UNITS_PER_MONTH", "customer_lifetime_value", "discounted_expected_purchases", "score_customers"]

FloatArray = NDArray[np.float64]

#: Time units per month for the ``time_unit`` codes (a month is 365.25/12 days).
UNITS_PER_MONTH: dict[str, float] = {"D": 365.25 / 12.0, "W": 365.25 / 12.0 / 7.0, "M": 1.0}

PURCHASE_MODELS: dict[str, type[_TransactionModel]] = {"bgnbd": BetaGeo, "mbgnbd": ModifiedBetaGeo, "pnbd": ParetoNBD}


def _units(time_unit: str) -> float:
    try:
        return UNITS_PER_MONTH[str(time_unit).upper()]
    except KeyError:
        raise InputError(f"'time_unit' must be one of D, W, M; got {time_unit!r}") from None


def discounted_expected_purchases(
    model: _TransactionModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    horizon_months: float = 12.0,
    monthly_discount: float = 0.01,
    time_unit: str = "W",
    discounting: Literal["discrete", "continuous"] = "discrete",
) -> tuple[FloatArray, FloatArray]:
    """Discounted and undiscounted expected repeat purchases of each customer over the horizon.

    Returns
    -------
    tuple
        ``(discounted, undiscounted)`` arrays, one value per customer.
    """
    disc, plain, _ = _value_parts(
        model, frequency, recency, T, horizon_months, monthly_discount, time_unit, discounting
    )
    return disc, plain


def _value_parts(
    model: _TransactionModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    horizon_months: float,
    monthly_discount: float,
    time_unit: str,
    discounting: str,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Discounted purchases, undiscounted purchases and P(alive), once per distinct customer row."""
    check_hyper_params(
        "customer_lifetime_value",
        {"horizon_months": horizon_months, "monthly_discount": monthly_discount},
        (
            ParamRule("horizon_months", positive_float, "a float > 0"),
            ParamRule("monthly_discount", nonneg_float, "a float >= 0"),
        ),
    )
    if discounting not in ("discrete", "continuous"):
        raise InputError(f"'discounting' must be 'discrete' or 'continuous'; got {discounting!r}")
    upm = _units(time_unit)
    x_all, t_x_all, T_all = check_rft(frequency, recency, T)
    # identical customers get identical predictions: compute once per distinct summary row
    uniq, inverse = unique_rows(np.column_stack([x_all, t_x_all, T_all]))
    x, t_x, T_ = uniq[:, 0], uniq[:, 1], uniq[:, 2]
    H = float(horizon_months)
    if discounting == "discrete":
        whole = int(np.ceil(H - 1e-12))
        grid = np.minimum(np.arange(0, whole + 1, dtype=float), H)
        alive, curve = model._conditional_curve(grid * upm, x, t_x, T_)
        factors = (1.0 + monthly_discount) ** -np.arange(1, whole + 1, dtype=float)
        value = (np.diff(curve, axis=1) * factors).sum(axis=1)  # ufunc sums: no BLAS threads
    else:
        delta = np.log1p(monthly_discount)
        u, w = gauss_legendre(32)
        alive, curve = model._conditional_curve(np.concatenate([u * H, [H]]) * upm, x, t_x, T_)
        inner = (curve[:, :-1] * (w * H * np.exp(-delta * u * H))).sum(axis=1)
        value = np.exp(-delta * H) * curve[:, -1] + delta * inner
    return value[inverse], curve[inverse, -1], alive[inverse]


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
    discounting: Literal["discrete", "continuous"] = "discrete",
    customer_id: ArrayLike | None = None,
) -> pa.Table:
    """Per-customer CLV table: ``customer_id, p_alive, expected_purchases, expected_spend, clv``.

    Parameters
    ----------
    model
        A fitted :class:`BetaGeo`, :class:`ModifiedBetaGeo` or :class:`ParetoNBD`.
    frequency, recency, T
        The customers' summary, ``recency`` and ``T`` in ``time_unit``.
    expected_spend
        Expected value per purchase (e.g. :meth:`GammaGamma.conditional_expected_spend`).
    horizon_months, monthly_discount, time_unit, discounting
        See the module docstring.
    margin
        Share of spend that is margin (1 keeps CLV in revenue terms).
    customer_id
        Identifiers for the first column (default: row numbers).

    Returns
    -------
    pyarrow.Table
        ``expected_purchases`` is undiscounted over the horizon; ``clv`` is
        ``margin * expected_spend * discounted expected purchases``.
    """
    check_hyper_params(
        "customer_lifetime_value", {"margin": margin}, (ParamRule("margin", nonneg_float, "a float >= 0"),)
    )
    disc, plain, alive = _value_parts(
        model, frequency, recency, T, horizon_months, monthly_discount, time_unit, discounting
    )
    spend = np.broadcast_to(np.asarray(expected_spend, dtype=float), disc.shape)
    ids = np.arange(disc.size) if customer_id is None else np.asarray(customer_id)
    if ids.shape[0] != disc.size:
        raise InputError(f"'customer_id' has {ids.shape[0]} rows but the summary has {disc.size}")
    return pa.table(
        {
            "customer_id": pa.array(ids),
            "p_alive": alive,
            "expected_purchases": plain,
            "expected_spend": np.asarray(spend, dtype=float),
            "clv": float(margin) * spend * disc,
        }
    )


def _column(table: pa.Table, name: str) -> Any:
    if name not in table.column_names:
        raise InputError(f"the summary has no column '{name}' (columns: {', '.join(table.column_names)})")
    return table.column(name).to_numpy(zero_copy_only=False)


def score_customers(
    summary: Any,
    *,
    model: str = "bgnbd",
    spend: str | None = "gg",
    horizon_months: float = 12.0,
    monthly_discount: float = 0.01,
    time_unit: str = "W",
    margin: float = 1.0,
    discounting: Literal["discrete", "continuous"] = "discrete",
    columns: dict[str, str] | None = None,
) -> pa.Table:
    """Fit a purchase model (and the Gamma-Gamma spend model) on a summary and value every customer.

    Parameters
    ----------
    summary
        A table (Arrow, pandas, polars or Ibis) with columns ``customer_id, frequency,
        recency, T, monetary_value`` (``recency`` and ``T`` in ``time_unit``;
        ``monetary_value`` the mean value of the repeat purchases).
    model
        ``bgnbd``, ``mbgnbd`` or ``pnbd``.
    spend
        ``gg`` for Gamma-Gamma expected spend, or ``None`` to use each customer's observed
        ``monetary_value`` as is.
    columns
        Other column names, e.g. ``{"customer_id": "ID"}``.

    Returns
    -------
    pyarrow.Table
        ``customer_id, p_alive, expected_purchases, expected_spend, clv``.
    """
    names = {
        "customer_id": "customer_id",
        "frequency": "frequency",
        "recency": "recency",
        "T": "T",
        "monetary_value": "monetary_value",
        **(columns or {}),
    }
    table = as_arrow(summary)
    if model not in PURCHASE_MODELS:
        raise InputError(f"'model' must be one of {', '.join(PURCHASE_MODELS)}; got {model!r}")
    if spend not in ("gg", None):
        raise InputError(f"'spend' must be 'gg' or None; got {spend!r}")
    x, t_x, T = (_column(table, names[k]) for k in ("frequency", "recency", "T"))
    money = _column(table, names["monetary_value"])
    purchase = PURCHASE_MODELS[model]().fit(x, t_x, T)
    if spend == "gg":
        expected_spend = GammaGamma().fit(x, money).conditional_expected_spend(x, money)
    else:
        expected_spend = np.asarray(money, dtype=float)
    return customer_lifetime_value(
        purchase,
        x,
        t_x,
        T,
        expected_spend,
        horizon_months=horizon_months,
        monthly_discount=monthly_discount,
        time_unit=time_unit,
        margin=margin,
        discounting=discounting,
        customer_id=_column(table, names["customer_id"]),
    )
