"""Customer migration ("always a share") value with Markov chains.

Pfeifer, P. E. & Carraway, R. L. (2000), Modeling customer relationships as Markov
chains, Journal of Interactive Marketing 14(2), 43-55.

A customer is in one of ``k`` states; ``P[i, j]`` is the probability of moving from
state ``i`` to state ``j`` in one period and ``R[i]`` the reward (net cash flow) the firm
receives in the period a customer is in state ``i``. With ``d`` the discount rate per
period, the expected present value of a customer now in each state is

* finite horizon ``T`` (periods 0..T, the current one undiscounted):
  ``V_T = sum_{t=0}^{T} [(1 + d)^{-1} P]^t R``
* infinite horizon: ``V = (I - (1 + d)^{-1} P)^{-1} R``.

The recency chain (Dwyer's customer migration model in Markov form): state ``i`` means the
customer last bought ``i`` periods ago; with probability ``p_i`` the customer buys this
period and returns to state 1, otherwise moves to state ``i + 1``; the last state keeps
every customer who does not buy (it absorbs when ``p_k = 0``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv.formula._checks import as_float, check_finite, check_nonnegative, check_probability
from custlens.errors import InputError

__all__ = ["recency_transition_matrix", "check_transition_matrix", "markov_value", "state_distribution"]

ROW_SUM_TOLERANCE = 1e-6


def recency_transition_matrix(purchase_prob: ArrayLike) -> NDArray[np.float64]:
    """Transition matrix of the recency chain from the purchase probability of each state.

    Row ``i`` (state ``i + 1``: last purchase ``i + 1`` periods ago) has ``p_i`` in
    column 0 (buy: back to recency 1) and ``1 - p_i`` in column ``min(i + 1, k - 1)``.

    Parameters
    ----------
    purchase_prob
        ``p_1, ..., p_k``: probability that a customer in each recency state buys in the
        coming period, each in [0, 1].
    """
    p = check_probability(purchase_prob, "purchase_prob")
    if p.ndim != 1 or p.size == 0:
        raise InputError(f"'purchase_prob' must be a non-empty list of probabilities; got shape {p.shape}")
    k = p.size
    matrix = np.zeros((k, k))
    rows = np.arange(k)
    matrix[rows, np.minimum(rows + 1, k - 1)] += 1.0 - p
    matrix[:, 0] += p
    return matrix


def check_transition_matrix(matrix: ArrayLike, tolerance: float = ROW_SUM_TOLERANCE) -> NDArray[np.float64]:
    """Return ``matrix`` as floats after checking that it is a square stochastic matrix.

    Raises
    ------
    InputError
        Naming the first row (1-based) whose entries leave [0, 1] or do not sum to 1.
    """
    P = as_float(matrix, "transition_matrix")
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] == 0:
        raise InputError(f"the transition matrix must be square (k x k); got shape {P.shape}")
    bad = (P < 0) | (P > 1) | ~np.isfinite(P)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(f"transition matrix entries must lie in [0, 1]; row {i + 1}, column {j + 1} is {P[i, j]:g}")
    sums = P.sum(axis=1)
    off = np.abs(sums - 1.0) > tolerance
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise InputError(
            f"row {i + 1} of the transition matrix sums to {sums[i]:.6g}, expected 1 "
            f"({int(off.sum())} row{'s' if off.sum() > 1 else ''} off by more than {tolerance:g})"
        )
    return P


MAX_PERIODS = 10_000
"""Longest finite horizon (periods) of :func:`markov_value`; beyond it use the infinite horizon."""


def markov_value(
    transition_matrix: ArrayLike,
    rewards: ArrayLike,
    discount: float,
    horizon: int | None = None,
) -> NDArray[np.float64]:
    """Expected present value of a customer in each state (Pfeifer & Carraway 2000).

    Parameters
    ----------
    transition_matrix
        ``k x k`` row-stochastic matrix ``P``.
    rewards
        ``R``: reward in each state (length ``k``), received in the period the customer is
        in that state; the current period is not discounted.
    discount
        Discount rate per period, >= 0.
    horizon
        ``T``: the last period counted (periods ``0..T``, so ``T + 1`` rewards); ``None``
        for the infinite horizon ``(I - P / (1 + d))^{-1} R``.

    Returns
    -------
    numpy.ndarray
        ``V``, the value of a customer starting in each state.

    Raises
    ------
    InputError
        For a bad matrix (names the row), rewards of the wrong length, a negative
        discount or horizon, or an infinite horizon whose series diverges (``d = 0`` with
        a chain that keeps earning rewards for ever).
    """
    P = check_transition_matrix(transition_matrix)
    R = check_finite(rewards, "rewards")
    k = P.shape[0]
    if R.ndim != 1 or R.size != k:
        raise InputError(f"{R.size} rewards given for {k} states; give one reward per state")
    d = float(check_nonnegative(discount, "discount"))
    M = P / (1.0 + d)
    if horizon is not None:
        T = int(check_nonnegative(horizon, "horizon"))
        if T != horizon:
            raise InputError(f"'horizon' must be a whole number of periods; got {horizon!r}")
        if T > MAX_PERIODS:
            raise InputError(
                f"'horizon' must be at most {MAX_PERIODS:,} periods; got {horizon!r} "
                "(leave it out for the infinite horizon, which is computed exactly)"
            )
        value = R.copy()
        term = R.copy()
        for _ in range(T):  # T matrix-vector products: O(T k^2)
            term = M @ term
            value += term
        return value
    if d == 0.0:
        return _undiscounted_value(P, R)
    return np.asarray(np.linalg.solve(np.eye(k) - M, R), dtype=np.float64)


def _recurrent_states(P: NDArray[np.float64]) -> NDArray[np.bool_]:
    """States in closed communicating classes (every state they reach leads back)."""
    k = P.shape[0]
    reach = (P > 0) | np.eye(k, dtype=bool)
    for m in range(k):  # transitive closure (Warshall), vectorised per pivot
        reach |= reach[:, [m]] & reach[[m], :]
    return np.all(~reach | reach.T, axis=1)


def _undiscounted_value(P: NDArray[np.float64], R: NDArray[np.float64]) -> NDArray[np.float64]:
    """Infinite-horizon value at d = 0: finite only if recurrent states earn nothing."""
    recurrent = _recurrent_states(P)
    if np.any(R[recurrent] != 0):
        i = int(np.flatnonzero(recurrent & (R != 0))[0])
        raise InputError(
            "the infinite-horizon value diverges with discount 0: state "
            f"{i + 1} is never left for good and earns {R[i]:g} per period; give a positive "
            "discount or a finite horizon"
        )
    value = np.zeros_like(R)
    transient = ~recurrent
    if transient.any():
        Q = P[np.ix_(transient, transient)]
        value[transient] = np.linalg.solve(np.eye(int(transient.sum())) - Q, R[transient])
    return value


def state_distribution(transition_matrix: ArrayLike, initial: ArrayLike, periods: int) -> NDArray[np.float64]:
    """Distribution over states after ``0..periods`` periods, one row per period.

    ``pi_t = pi_0 P^t``; row ``t`` of the result is ``pi_t``.
    """
    P = check_transition_matrix(transition_matrix)
    pi = check_probability(initial, "initial")
    if pi.shape != (P.shape[0],):
        raise InputError(f"'initial' must have one probability per state ({P.shape[0]}); got {pi.size}")
    if abs(pi.sum() - 1.0) > ROW_SUM_TOLERANCE:
        raise InputError(f"'initial' must sum to 1; got {pi.sum():.6g}")
    out = np.empty((periods + 1, P.shape[0]))
    out[0] = pi
    for t in range(periods):
        out[t + 1] = out[t] @ P
    return out
