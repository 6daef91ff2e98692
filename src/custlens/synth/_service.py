"""Interactions and receivables of one block.

Interaction counts are Poisson with a mean that grows with the customer's active years and
orders, and leans on the satisfaction propensity ``xi``: complaints scale with
``exp(-0.8 xi)`` (plus 0.3 per returned line), praise with ``exp(0.8 xi)``. Corporate
customers also get sales visits, calls and service tasks. Receivables are one invoice per
corporate order, paid promptly, late or (for bad payers) partly never.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy import special

from custlens.schema import TABLES
from custlens.synth import _vocab as V
from custlens.synth._arrow import dates, join, padded, take, timestamps
from custlens.synth._orders import Orders
from custlens.synth._population import Period, Population

__all__ = ["interactions_table", "receivables_table", "INTERACTION_RATES", "PAYMENT_TERMS"]

# kind: (per active year personal, per active year corporate, per order, xi slope)
INTERACTION_RATES: dict[str, tuple[float, float, float, float]] = {
    "complaint": (0.10, 0.20, 0.02, -0.8),
    "praise": (0.06, 0.10, 0.02, 0.8),
    "suggestion": (0.06, 0.15, 0.01, 0.0),
    "inquiry": (0.30, 0.60, 0.08, 0.0),
    "service_task": (0.20, 1.00, 0.04, 0.0),
    "visit": (0.0, 1.50, 0.0, 0.0),
    "call": (0.20, 2.00, 0.0, 0.0),
    "other": (0.05, 0.05, 0.0, 0.0),
}
"""Expected interactions per kind: ``(years * rate_type + orders * per_order) * exp(slope * xi)``."""

_OUTCOMES = ("resolved", "pending", "escalated", "closed", "accepted")
_OUTCOME_P: dict[str, tuple[float, ...]] = {
    "complaint": (0.72, 0.15, 0.13, 0.0, 0.0),
    "service_task": (0.85, 0.15, 0.0, 0.0, 0.0),
    "inquiry": (0.95, 0.05, 0.0, 0.0, 0.0),
    "suggestion": (0.0, 0.0, 0.0, 0.7, 0.3),
}
_CONTACT_P = np.array([0.35, 0.15, 0.20, 0.10, 0.20])
PAYMENT_TERMS = np.array([30, 45, 60, 90])
"""Payment terms in days (a corporate customer uses one, shares 40/20/30/10 %)."""
_TERMS_P = np.array([0.4, 0.2, 0.3, 0.1])


def interactions_table(rng: np.random.Generator, pop: Population, orders: Orders, period: Period) -> pa.Table:
    """The ``interactions`` rows of a block."""
    kinds = list(INTERACTION_RATES)
    active_end = np.minimum(
        period.days, np.where(np.isnan(pop.first_purchase), pop.created + 90.0, orders.death + 60.0)
    )
    years = np.maximum(active_end - pop.created, 0.0) / 365.25
    rates = np.array([INTERACTION_RATES[k] for k in kinds])  # (kinds, 4)
    per_year = np.where(pop.corporate[:, None], rates[:, 1], rates[:, 0])
    mean = (years[:, None] * per_year + orders.n_orders[:, None] * rates[:, 2]) * np.exp(
        pop.xi[:, None] * rates[:, 3] - rates[:, 3] ** 2 / 2
    )
    mean[:, kinds.index("complaint")] += 0.3 * orders.n_returns
    counts = rng.poisson(mean)  # (n, kinds)
    flat = counts.ravel()
    cell = np.repeat(np.arange(flat.size), flat)
    cust, kind = cell // len(kinds), cell % len(kinds)
    time = pop.created[cust] + rng.random(len(cust)) * (active_end[cust] - pop.created[cust])
    order = np.lexsort((time, cust))
    cust, kind, time = cust[order], kind[order], time[order]
    seq = np.arange(len(cust)) - np.searchsorted(cust, cust)
    channel = np.searchsorted(np.cumsum(_CONTACT_P), rng.random(len(cust)) * _CONTACT_P.sum(), side="right")
    channel_names = (*V.CONTACT_CHANNELS, "onsite")
    channel = np.minimum(channel, len(V.CONTACT_CHANNELS) - 1)
    channel = np.where(kind == kinds.index("call"), V.CONTACT_CHANNELS.index("phone"), channel)
    channel = np.where(kind == kinds.index("visit"), len(V.CONTACT_CHANNELS), channel)
    outcome = np.full(len(cust), _OUTCOMES.index("closed"))
    u = rng.random(len(cust))
    for k, probs in _OUTCOME_P.items():
        sel = kind == kinds.index(k)
        outcome[sel] = np.searchsorted(np.cumsum(probs), u[sel], side="right").clip(max=len(_OUTCOMES) - 1)
    cols = {
        "interaction_id": join("IX", padded(pop.number[cust], 8), "-", padded(seq + 1, 4)),
        "customer_id": pop.customer_id.take(pa.array(cust)),
        "occurred_at": timestamps(period.start_us, time),
        "occurred_tz": pop.tz.take(pa.array(cust)),
        "kind": take(kinds, kind),
        "channel": take(channel_names, channel),
        "outcome": take(_OUTCOMES, outcome),
    }
    return pa.Table.from_pydict(cols, schema=TABLES["interactions"].arrow_schema())


def receivables_table(rng: np.random.Generator, pop: Population, orders: Orders, period: Period) -> pa.Table:
    """One invoice per corporate order, with payment behaviour by payer type.

    Payer type per corporate customer from ``score = -0.8 xi + 0.6 e`` (standard normal):
    prompt (lowest 60 %: paid before the due date), late (next 30 %: due + Gamma(2, 12) days),
    bad (top 10 %: 40 % of invoices never paid, the rest due + Gamma(2, 45) days). Invoices
    still open at the period end have no ``paid_on``; a quarter of them are part-paid.
    """
    n = pop.n
    score = -0.8 * pop.xi + 0.6 * rng.standard_normal(n)
    payer = np.searchsorted(special.ndtri(np.array([0.6, 0.9])), score)
    terms = PAYMENT_TERMS[
        np.searchsorted(np.cumsum(_TERMS_P), rng.random(n) * _TERMS_P.sum(), side="right").clip(max=3)
    ]
    sel = np.flatnonzero(pop.corporate[orders.customer])
    cust = orders.customer[sel]
    issued = np.floor(orders.time[sel])
    due = issued + terms[cust]
    m = len(sel)
    kind = payer[cust]
    paid = np.where(
        kind == 0,
        issued + np.ceil(rng.uniform(0.3, 1.0, m) * terms[cust]),
        due + np.ceil(rng.gamma(2.0, np.where(kind == 1, 12.0, 45.0), m)),
    )
    paid = np.where((kind == 2) & (rng.random(m) < 0.4), np.inf, paid)
    open_ = paid >= np.floor(period.days)
    amount = np.round(orders.value[sel], 2)
    part = np.round(amount * rng.uniform(0.2, 0.8, m), 2)
    paid_amount = np.where(open_, np.where(rng.random(m) < 0.25, part, 0.0), amount)
    cols = {
        "invoice_id": join("INV", padded(pop.number[cust], 8), "-", padded(orders.seq[sel], 4)),
        "customer_id": pop.customer_id.take(pa.array(cust)),
        "issued_on": dates(period.start_day, issued),
        "due_on": dates(period.start_day, due),
        "paid_on": dates(period.start_day, paid, mask=open_),
        "amount": pa.array(amount),
        "paid_amount": pa.array(paid_amount),
    }
    return pa.Table.from_pydict(cols, schema=TABLES["receivables"].arrow_schema())
