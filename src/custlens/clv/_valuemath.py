"""Monthly cash flows of a customer's future value, and that value under changed factors (arrays only).

A fitted purchase model gives, for each customer and month ``m = 1..M`` of the horizon,
the expected purchases in the month, ``p_m = E[Y(t_m)] - E[Y(t_{m-1})]`` (already weighted
by the chance of being alive), and the chance of being alive at its end,
``S_m = P(alive at T + t_m)`` (``S_0`` = P(alive) now), where ``t_m = min(m, H)`` months
(the last month may be partial, of width ``w_m = t_m - t_{m-1}``). The customer's future
value over the horizon is

    V = sum_m v_m [ (1 + g)^(t_m / 12) mu s p'_m  +  w_m S'_m (rho_V - c - k) ],   v_m = (1 + d)^-m

with ``mu`` the gross-margin rate, ``s`` the expected spend per purchase, ``g`` the annual
growth of spend, ``rho_V`` the referral value per alive month, ``c`` the monthly cost to
serve, ``k`` the monthly marketing spend and ``d`` the monthly discount rate (the month-end
discounting of :func:`custlens.clv.customer_lifetime_value`, whose CLV is the first term
with ``g = 0``). A change ``delta`` of the *annual* retention rate acts on each month's
retention ``r_m = S_m / S_{m-1}``: ``r'_m = clip(r_m^(12/w_m) + delta, 0, 1)^(w_m/12)``,
``S'_m = S_0 prod r'``, and the expected purchases follow the survival, ``p'_m = p_m S'_m / S_m``
(the customer buys at the model's rate while alive). Sources: Gupta, Hanssens, Hardie,
Kahn, Kumar, Lin, Ravishanker & Sriram (2006), "Modeling customer lifetime value", *Journal of
Service Research* 9(2), eq. 1 (value = discounted margin x survival - costs); Reichheld &
Sasser (1990) for the five points of retention the course text quotes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MonthlyFlows",
    "monthly_flows",
    "future_value",
    "FutureParts",
    "future_value_chunked",
    "MonthlyTotals",
    "CHUNK",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MonthlyFlows:
    """One customer per row: the model's month-by-month expectations over the horizon.

    Attributes
    ----------
    purchases
        ``(n, M)`` expected purchases in each month (survival-weighted).
    alive
        ``(n, M + 1)`` P(alive) now (column 0) and at the end of each month.
    widths
        ``(M,)`` length of each month in months (1, ..., the last possibly partial).
    """

    purchases: FloatArray
    alive: FloatArray
    widths: FloatArray

    @property
    def ends(self) -> FloatArray:
        """``t_m``, months from now to the end of each month."""
        return np.cumsum(self.widths)


def monthly_flows(
    model: object,
    frequency: FloatArray,
    recency: FloatArray,
    T: FloatArray,
    horizon_months: float,
    units_per_month: float,
) -> MonthlyFlows:
    """Expected purchases per month and P(alive) at each month end, from a fitted purchase model.

    ``model`` is a fitted or restored :class:`~custlens.clv.BetaGeo`,
    :class:`~custlens.clv.ModifiedBetaGeo` or :class:`~custlens.clv.ParetoNBD` (its
    ``conditional_curve``, and ``p_alive_later`` at every month end); ``recency`` and ``T`` are in the model's
    time unit, ``units_per_month`` of it make a month.
    """
    whole = int(np.ceil(horizon_months - 1e-12))
    grid = np.minimum(np.arange(0, whole + 1, dtype=float), horizon_months)
    alive_now, curve = model.conditional_curve(grid * units_per_month, frequency, recency, T)  # type: ignore[attr-defined]
    # p_alive_later at every month end at once (survival interpolated per frequency)
    later = model._alive_later_curve(  # type: ignore[attr-defined]
        grid[1:] * units_per_month, frequency, recency, T, alive=alive_now
    )
    alive = np.column_stack([alive_now, later])
    return MonthlyFlows(np.diff(curve, axis=1), alive, np.diff(grid))


@dataclass(frozen=True)
class FutureParts:
    """The future value of each customer and its parts (discounted sums over the horizon).

    ``gross = sum v mu s p' (1+g)^..``; ``alive_months = sum v w S'`` (discounted expected
    months alive); ``value = gross + alive_months (rho_V - c - k)``.
    """

    gross: FloatArray
    alive_months: FloatArray
    value: FloatArray


def _retention_shift(alive: FloatArray, widths: FloatArray, delta: float) -> FloatArray:
    """Survival with the annual retention rate of every month moved by ``delta`` (see the module)."""
    if delta == 0.0:
        return alive
    prev, nxt = alive[:, :-1], alive[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, np.clip(nxt / prev, 0.0, 1.0), 0.0)
    annual = np.clip(r ** (12.0 / widths) + delta, 0.0, 1.0)
    r_new = annual ** (widths / 12.0)
    return np.column_stack([alive[:, 0], alive[:, :1] * np.cumprod(r_new, axis=1)])


def future_value(
    flows: MonthlyFlows,
    spend: FloatArray,
    margin_rate: FloatArray,
    serve_cost: FloatArray,
    *,
    discount: float,
    marketing: float = 0.0,
    referral_value: float = 0.0,
    growth: float = 0.0,
    retention_shift: float = 0.0,
) -> FutureParts:
    """Each customer's discounted future value over the flows' horizon (the module's formula).

    Parameters
    ----------
    flows
        The model's monthly expectations.
    spend, margin_rate, serve_cost
        Per customer: expected spend per purchase, gross-margin rate, cost to serve per month.
    discount
        Monthly discount rate ``d``.
    marketing, referral_value
        Per alive customer and month: marketing spend ``k`` and referral value ``rho_V``.
    growth
        Annual growth rate ``g`` of spend per purchase.
    retention_shift
        Change ``delta`` of the annual retention rate (0.05 = five points).
    """
    alive = _retention_shift(flows.alive, flows.widths, retention_shift)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(flows.alive[:, 1:] > 0, alive[:, 1:] / flows.alive[:, 1:], 0.0)
    purchases = flows.purchases * scale
    months = np.arange(1, flows.widths.size + 1, dtype=float)
    v = (1.0 + discount) ** -months
    grow = (1.0 + growth) ** (flows.ends / 12.0)
    gross = np.asarray(margin_rate) * np.asarray(spend) * (purchases * (v * grow)).sum(axis=1)
    alive_months = (alive[:, 1:] * (v * flows.widths)).sum(axis=1)
    value = gross + alive_months * (referral_value - np.asarray(serve_cost) - marketing)
    return FutureParts(gross, alive_months, value)


CHUNK = 131_072
"""Customers whose monthly flows are held at once (about ``CHUNK x months x 8`` bytes per matrix)."""


def _per_customer(value: FloatArray | float, n: int) -> FloatArray:
    return np.broadcast_to(np.asarray(value, dtype=float), (n,))


def future_value_chunked(
    model: object,
    frequency: FloatArray,
    recency: FloatArray,
    T: FloatArray,
    horizon_months: float,
    units_per_month: float,
    spend: FloatArray,
    margin_rate: FloatArray,
    serve_cost: FloatArray,
    *,
    discount: float,
    marketing: float = 0.0,
    referral_value: float = 0.0,
    chunk: int | None = None,
) -> FutureParts:
    """:func:`future_value` of :func:`monthly_flows`, ``chunk`` customers at a time (default :data:`CHUNK`).

    The result equals the one-shot computation; memory holds the monthly matrices of one
    chunk only, so it stays bounded however many customers there are.
    """
    n = len(frequency)
    chunk = CHUNK if chunk is None else chunk
    spend, margin_rate, serve_cost = (_per_customer(a, n) for a in (spend, margin_rate, serve_cost))
    gross, alive_months, value = np.empty(n), np.empty(n), np.empty(n)
    for lo in range(0, n, chunk):
        s = slice(lo, lo + chunk)
        flows = monthly_flows(model, frequency[s], recency[s], T[s], horizon_months, units_per_month)
        parts = future_value(
            flows,
            spend[s],
            margin_rate[s],
            serve_cost[s],
            discount=discount,
            marketing=marketing,
            referral_value=referral_value,
        )
        gross[s], alive_months[s], value[s] = parts.gross, parts.alive_months, parts.value
    return FutureParts(gross, alive_months, value)


@dataclass(frozen=True)
class MonthlyTotals:
    """Sums over customers of one horizon's monthly flows: what a total future value needs.

    With no retention shift the future value is linear in each customer's monthly
    expectations, so its total over customers is a sum over months of these sums:
    ``sum_i V_i = sum_m v_m [(1 + g)^(t_m/12) A_m + w_m (B_m (rho_V - k) - C_m)]``.

    Attributes
    ----------
    gross
        ``A_m = sum_i mu_i s_i p_im`` (margin x spend x expected purchases in month ``m``).
    alive
        ``B_m = sum_i S_im`` (expected customers alive at the end of month ``m``).
    serve
        ``C_m = sum_i c_i S_im`` (their cost to serve).
    widths
        The months' lengths, as in :class:`MonthlyFlows`.
    """

    gross: FloatArray
    alive: FloatArray
    serve: FloatArray
    widths: FloatArray

    def __add__(self, other: MonthlyTotals) -> MonthlyTotals:
        return MonthlyTotals(self.gross + other.gross, self.alive + other.alive, self.serve + other.serve, self.widths)

    @classmethod
    def of(
        cls, flows: MonthlyFlows, spend: FloatArray, margin_rate: FloatArray, serve_cost: FloatArray
    ) -> MonthlyTotals:
        """The sums of one chunk's flows (purchases in a month nobody survives count 0, as in :func:`future_value`)."""
        alive = flows.alive[:, 1:]
        purchases = np.where(alive > 0, flows.purchases, 0.0)
        return cls(
            (np.asarray(margin_rate) * np.asarray(spend)) @ purchases,
            alive.sum(axis=0),
            np.asarray(serve_cost) @ alive,
            flows.widths,
        )

    def total(
        self,
        *,
        discount: float,
        marketing: float = 0.0,
        referral_value: float = 0.0,
        growth: float = 0.0,
        serve_factor: float = 1.0,
    ) -> float:
        """The total future value over customers (the sum of :func:`future_value`'s ``value``)."""
        months = np.arange(1, self.widths.size + 1, dtype=float)
        v = (1.0 + discount) ** -months
        grow = (1.0 + growth) ** (np.cumsum(self.widths) / 12.0)
        gross = float((v * grow) @ self.gross)
        alive = float((v * self.widths) @ (self.alive * (referral_value - marketing) - serve_factor * self.serve))
        return gross + alive
