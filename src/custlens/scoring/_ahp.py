"""Analytic hierarchy process: priorities from pairwise comparison matrices.

Pure NumPy: a positive reciprocal matrix in, weights and a consistency check out.

References
----------
Saaty, T. L. (1980). *The Analytic Hierarchy Process*. McGraw-Hill, New York.
Saaty, T. L. (2008). Decision making with the analytic hierarchy process.
*International Journal of Services Sciences*, 1(1), 83-98.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from custlens.errors import ConfigError, did_you_mean

__all__ = [
    "RANDOM_INDEX",
    "CONSISTENCY_THRESHOLD",
    "AHPResult",
    "AHPHierarchy",
    "ahp_weights",
    "ahp_hierarchy",
    "pairwise_matrix",
    "check_pairwise",
]

logger = logging.getLogger(__name__)

Method = Literal["eigenvector", "geometric"]

RANDOM_INDEX: dict[str, tuple[float, ...]] = {
    # Saaty (2008), Int. J. Services Sciences 1(1), table of random consistency indices
    # for n = 1..10; n = 11..15 from Saaty (2005), Theory and Applications of the
    # Analytic Network Process, RWS Publications, p. 31 (same values for n <= 10).
    "saaty2008": (0.0, 0.0, 0.52, 0.89, 1.11, 1.25, 1.35, 1.40, 1.45, 1.49, 1.52, 1.54, 1.56, 1.58, 1.59),
    # Saaty (1980), The Analytic Hierarchy Process, McGraw-Hill, p. 21 (n = 1..10).
    "saaty1980": (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49),
}
"""Random consistency index RI by matrix order n (index n - 1), per published table."""

CONSISTENCY_THRESHOLD = 0.10
"""Saaty's acceptance threshold: judgements with CR >= 0.10 should be revised."""

RECIPROCAL_TOLERANCE = 0.02
"""Largest accepted ``|a_ij * a_ji - 1|`` (lets users write 0.33 for 1/3)."""


@dataclass(frozen=True)
class AHPResult:
    """Priorities derived from one pairwise comparison matrix.

    Attributes
    ----------
    names
        The compared elements, in matrix order.
    matrix
        The positive reciprocal comparison matrix ``A`` (``a_ij`` = importance of i over j).
    weights
        Priority vector, non-negative, summing to 1.
    lambda_max
        Principal eigenvalue (eigenvector method) or its estimate
        ``mean((A w)_i / w_i)`` (geometric-mean method).
    ci
        Consistency index ``(lambda_max - n) / (n - 1)`` (0 for n <= 2).
    ri
        Random index of the chosen table for this n.
    cr
        Consistency ratio ``CI / RI`` (0 for n <= 2, where every reciprocal matrix is consistent).
    method
        ``"eigenvector"`` or ``"geometric"``.
    random_index
        Name of the RI table used (a key of :data:`RANDOM_INDEX`).
    threshold
        CR threshold: the matrix is consistent when ``cr < threshold``.
    """

    names: tuple[str, ...]
    matrix: np.ndarray = field(repr=False)
    weights: np.ndarray
    lambda_max: float
    ci: float
    ri: float
    cr: float
    method: Method
    random_index: str
    threshold: float = CONSISTENCY_THRESHOLD

    @property
    def consistent(self) -> bool:
        """Whether the consistency ratio is below the threshold."""
        return self.cr < self.threshold

    def weight_map(self) -> dict[str, float]:
        """Weights keyed by element name."""
        return {n: float(w) for n, w in zip(self.names, self.weights)}

    def summary(self) -> dict[str, object]:
        """Plain-value summary for JSON output."""
        return {
            "method": self.method,
            "weights": self.weight_map(),
            "lambda_max": self.lambda_max,
            "ci": self.ci,
            "ri": self.ri,
            "cr": self.cr,
            "random_index": self.random_index,
            "threshold": self.threshold,
            "consistent": self.consistent,
        }


@dataclass(frozen=True)
class AHPHierarchy:
    """A two-level AHP: criteria compared under the goal, sub-indicators under criteria.

    A criterion without children is itself an indicator. The global weight of a
    sub-indicator is its criterion's weight times its local weight.
    """

    goal: AHPResult
    children: Mapping[str, AHPResult]

    @property
    def names(self) -> tuple[str, ...]:
        """Leaf indicator names, in order."""
        out: list[str] = []
        for crit in self.goal.names:
            out.extend(self.children[crit].names if crit in self.children else (crit,))
        return tuple(out)

    def weight_map(self) -> dict[str, float]:
        """Global weights of the leaf indicators (they sum to 1)."""
        out: dict[str, float] = {}
        for crit, w in self.goal.weight_map().items():
            child = self.children.get(crit)
            if child is None:
                out[crit] = w
            else:
                for name, local in child.weight_map().items():
                    out[name] = w * local
        return out

    @property
    def weights(self) -> np.ndarray:
        """Global weights in :attr:`names` order."""
        wm = self.weight_map()
        return np.array([wm[n] for n in self.names])

    @property
    def nodes(self) -> dict[str, AHPResult]:
        """Every comparison matrix by node name (``"goal"`` and each criterion)."""
        return {"goal": self.goal, **dict(self.children)}

    @property
    def consistent(self) -> bool:
        """Whether every matrix of the hierarchy is consistent."""
        return all(node.consistent for node in self.nodes.values())

    def summary(self) -> dict[str, object]:
        """Plain-value summary for JSON output."""
        return {
            "weights": self.weight_map(),
            "consistent": self.consistent,
            "nodes": {k: v.summary() for k, v in self.nodes.items()},
        }


def check_pairwise(
    matrix: np.ndarray | Sequence[Sequence[float]], names: Sequence[str] | None = None, where: str = "pairwise matrix"
) -> np.ndarray:
    """Validate a pairwise comparison matrix and return it as a float array.

    Rules: square, at least 1 x 1, every entry finite and > 0, diagonal 1, and
    reciprocal (``a_ji = 1 / a_ij`` within :data:`RECIPROCAL_TOLERANCE`).

    Raises
    ------
    ConfigError
        Naming the first offending cell (by element names when given).
    """
    try:
        a = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: entries must be numbers (or fractions such as '1/3')") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ConfigError(f"{where} must be square with at least one row; got shape {a.shape}")
    n = a.shape[0]
    labels = list(names) if names is not None else [f"row {i + 1}" for i in range(n)]
    if len(labels) != n:
        raise ConfigError(f"{where} is {n} x {n} but {len(labels)} element names were given")

    def cell(i: int, j: int) -> str:
        return f"[{labels[i]!r}, {labels[j]!r}]"

    bad = np.argwhere(~np.isfinite(a) | (a <= 0))
    if bad.size:
        i, j = bad[0]
        raise ConfigError(
            f"{where}: every entry must be a positive number; {len(bad)} are not (first: {cell(i, j)} = {a[i, j]!r})"
        )
    diag = np.flatnonzero(np.abs(np.diag(a) - 1.0) > 1e-9)
    if diag.size:
        i = int(diag[0])
        raise ConfigError(f"{where}: diagonal entries must be 1; {cell(i, i)} = {a[i, i]!r}")
    off = np.abs(a * a.T - 1.0) > RECIPROCAL_TOLERANCE
    off = np.triu(off, 1)
    if off.any():
        i, j = np.argwhere(off)[0]
        raise ConfigError(
            f"{where} is not reciprocal: {cell(i, j)} = {a[i, j]:g} but {cell(j, i)} = {a[j, i]:g} "
            f"(expected {1 / a[i, j]:.4g}); {int(off.sum())} pair(s) break this"
        )
    return a


def pairwise_matrix(
    names: Sequence[str], comparisons: Mapping[tuple[str, str], float], where: str = "comparisons"
) -> np.ndarray:
    """Build a reciprocal matrix from one judgement per pair.

    ``comparisons[(a, b)] = v`` reads "a is v times as important as b" (Saaty's 1-9 scale);
    the reciprocal ``1 / v`` is filled in. Every unordered pair must be given exactly once.
    """
    names = list(names)
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"{where}: element {dup!r} is listed twice")
    index = {n: i for i, n in enumerate(names)}
    a = np.eye(len(names))
    seen: set[frozenset[str]] = set()
    for (x, y), value in comparisons.items():
        for e in (x, y):
            if e not in index:
                raise ConfigError(
                    f"{where}: {e!r} in pair ({x!r}, {y!r}) is not one of the elements {names}{_suggest(e, names)}"
                )
        if x == y:
            raise ConfigError(f"{where}: pair ({x!r}, {y!r}) compares an element with itself")
        key = frozenset((x, y))
        if key in seen:
            raise ConfigError(f"{where}: pair ({x!r}, {y!r}) is given twice")
        seen.add(key)
        v = float(value)
        if not np.isfinite(v) or v <= 0:
            raise ConfigError(f"{where}: pair ({x!r}, {y!r}) must be a positive number; got {value!r}")
        a[index[x], index[y]] = v
        a[index[y], index[x]] = 1.0 / v
    missing = [
        (names[i], names[j])
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if frozenset((names[i], names[j])) not in seen
    ]
    if missing:
        raise ConfigError(
            f"{where}: {len(missing)} pair(s) have no judgement "
            f"(first: ({missing[0][0]!r}, {missing[0][1]!r})); every pair is needed"
        )
    return a


def ahp_weights(
    matrix: np.ndarray | Sequence[Sequence[float]],
    names: Sequence[str] | None = None,
    *,
    method: Method = "eigenvector",
    random_index: str = "saaty2008",
    threshold: float = CONSISTENCY_THRESHOLD,
) -> AHPResult:
    """Priority weights and consistency of a pairwise comparison matrix.

    Parameters
    ----------
    matrix
        Positive reciprocal matrix, ``a_ij`` = importance of element i over element j.
    names
        Element names (default ``x1 .. xn``).
    method
        ``"eigenvector"``: the normalised principal right eigenvector (Saaty 1980);
        ``"geometric"``: normalised row geometric means (logarithmic least squares),
        with ``lambda_max`` estimated as ``mean((A w)_i / w_i)``.
    random_index
        RI table: ``"saaty2008"`` (default) or ``"saaty1980"``.
    threshold
        CR threshold for :attr:`AHPResult.consistent` (Saaty: 0.10).

    Returns
    -------
    AHPResult
        Inconsistency is reported in the result (``consistent`` is False, and a warning is
        logged), not raised; callers decide whether to refuse it.
    """
    n_given = len(names) if names is not None else None
    a = check_pairwise(matrix, names)
    n = a.shape[0]
    labels = tuple(names) if names is not None else tuple(f"x{i + 1}" for i in range(n))
    if n_given is not None and n_given != n:  # pragma: no cover - check_pairwise guards
        raise ConfigError(f"{n_given} names for a {n} x {n} matrix")
    if random_index not in RANDOM_INDEX:
        raise ConfigError(f"unknown random index table {random_index!r}; expected one of {sorted(RANDOM_INDEX)}")
    table = RANDOM_INDEX[random_index]
    if n > len(table):
        raise ConfigError(
            f"the {random_index} random index table covers n <= {len(table)}; "
            f"the matrix has {n} elements: split them into a hierarchy"
        )
    if method == "eigenvector":
        values, vectors = np.linalg.eig(a)
        k = int(np.argmax(values.real))
        w = np.abs(vectors[:, k].real)
        lam = float(values[k].real)
    elif method == "geometric":
        w = np.exp(np.log(a).mean(axis=1))
        w = w / w.sum()
        lam = float(np.mean((a @ w) / w))
    else:
        raise ConfigError(f"AHP method must be 'eigenvector' or 'geometric'; got {method!r}")
    w = w / w.sum()
    if n <= 2:
        ci = ri = cr = 0.0
    else:
        ci = max((lam - n) / (n - 1), 0.0)
        ri = table[n - 1]
        cr = ci / ri
    result = AHPResult(labels, a, w, lam, ci, ri, cr, method, random_index, threshold)
    if not result.consistent:
        logger.warning("AHP matrix over %s is inconsistent: CR = %.3f >= %.2f", labels, cr, threshold)
    return result


def ahp_hierarchy(goal: AHPResult, children: Mapping[str, AHPResult]) -> AHPHierarchy:
    """Compose a two-level hierarchy; children keys must be criteria of ``goal``.

    Raises
    ------
    ConfigError
        When a child names an unknown criterion or a leaf name occurs twice.
    """
    for crit in children:
        if crit not in goal.names:
            raise ConfigError(
                f"sub-criteria given for {crit!r}, which is not a criterion of the goal "
                f"{list(goal.names)}{_suggest(crit, goal.names)}"
            )
    h = AHPHierarchy(goal, dict(children))
    leaves = h.names
    dup = [n for n in leaves if leaves.count(n) > 1]
    if dup:
        raise ConfigError(f"indicator {dup[0]!r} appears under more than one criterion")
    return h


def _suggest(name: str, options: Sequence[str]) -> str:
    return did_you_mean(name, options)
