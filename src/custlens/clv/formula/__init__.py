"""Formula models of customer lifetime value from CRM practice (pure NumPy).

* :mod:`._retention` -- the simple formula, Dwyer's retention ("lost for good") model
  with explicit payment timing, Berger & Nasr's case 1, Gupta & Lehmann's margin multiple;
* :mod:`._markov` -- Dwyer's migration ("always a share") model as the Markov chain of
  Pfeifer & Carraway (2000): the value vector for any transition matrix and the recency
  chain built from purchase probabilities;
* :mod:`._estimate` -- the transition matrix estimated from per-period data, with
  counts, standard errors and Dirichlet or bootstrap intervals;
* :mod:`._cashflow` -- revenue-, profit- and contribution-based lifetime value;
* :mod:`._events` -- next-purchase timing and value (own rhythm; BG/NBD-type models).

Arrays in, arrays or small dataclasses out; no tables, no I/O. ``docs/clv-formulas.md``
gives every formula with its source.
"""

from __future__ import annotations

from custlens.clv.formula._cashflow import (
    contribution_clv,
    discounted_value,
    profit_clv,
    revenue_clv,
    survival_curve,
)
from custlens.clv.formula._estimate import (
    PERIOD_UNITS,
    TransitionEstimate,
    estimate_recency_chain,
    estimate_state_transitions,
    period_index,
)
from custlens.clv.formula._events import (
    GammaWait,
    NextPurchase,
    gamma_next_purchase,
    mean_gap_next_purchase,
)
from custlens.clv.formula._markov import (
    check_transition_matrix,
    markov_value,
    recency_transition_matrix,
    state_distribution,
)
from custlens.clv.formula._retention import (
    TIMINGS,
    berger_nasr_constant,
    expected_lifetime,
    margin_multiple,
    retention_clv,
    simple_clv,
)

__all__ = [
    "TIMINGS",
    "simple_clv",
    "retention_clv",
    "berger_nasr_constant",
    "margin_multiple",
    "expected_lifetime",
    "recency_transition_matrix",
    "check_transition_matrix",
    "markov_value",
    "state_distribution",
    "TransitionEstimate",
    "PERIOD_UNITS",
    "period_index",
    "estimate_recency_chain",
    "estimate_state_transitions",
    "survival_curve",
    "discounted_value",
    "revenue_clv",
    "profit_clv",
    "contribution_clv",
    "NextPurchase",
    "mean_gap_next_purchase",
    "GammaWait",
    "gamma_next_purchase",
]
