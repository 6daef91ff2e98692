"""Reading score configuration: AHP judgement files (TOML) and weight lists.

AHP file, one level::

    method = "eigenvector"        # or "geometric" (optional)
    random_index = "saaty2008"    # or "saaty1980" (optional)
    threshold = 0.10              # CR threshold (optional)
    elements = ["revenue", "order_count", "recency_days"]
    matrix = [[1, 3, 5], ["1/3", 1, 2], ["1/5", "1/2", 1]]

or, instead of ``matrix``, one judgement per pair (``"a > b" = v``: a is v times as
important as b)::

    [comparisons]
    "revenue > order_count" = 3

Two levels: the top ``elements`` are criteria, and ``[criteria.NAME]`` tables (each with
``elements`` and ``matrix`` or ``comparisons``) break a criterion into sub-indicators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from custlens._toml import read_toml
from custlens.errors import ConfigError, InputError, did_you_mean
from custlens.scoring._ahp import (
    CONSISTENCY_THRESHOLD,
    AHPHierarchy,
    AHPResult,
    ahp_hierarchy,
    ahp_weights,
    pairwise_matrix,
)

__all__ = ["load_ahp", "ahp_from_mapping", "parse_weights"]

_TOP_KEYS = {"method", "random_index", "threshold", "elements", "matrix", "comparisons", "criteria"}
_NODE_KEYS = {"elements", "matrix", "comparisons"}


def load_ahp(path: str | Path) -> AHPResult | AHPHierarchy:
    """Read an AHP judgement file (format in the module docstring) and derive weights.

    Raises
    ------
    ConfigError
        Naming the file, the node (``goal`` or a criterion) and the problem.
    """
    path = Path(path)
    doc = read_toml(path, "an AHP judgement TOML file")
    return ahp_from_mapping(doc, where=str(path))


def ahp_from_mapping(doc: Mapping[str, Any], where: str = "AHP spec") -> AHPResult | AHPHierarchy:
    """Derive AHP weights from a parsed judgement document (see :func:`load_ahp`)."""
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, sorted(_TOP_KEYS))}")
    method = doc.get("method", "eigenvector")
    ri = doc.get("random_index", "saaty2008")
    threshold = doc.get("threshold", CONSISTENCY_THRESHOLD)
    if not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ConfigError(f"{where}: 'threshold' must be a number in (0, 1); got {threshold!r}")
    opts = {"method": method, "random_index": ri, "threshold": float(threshold)}
    goal = _node(doc, f"{where} [goal]", opts)
    criteria = doc.get("criteria", {})
    if not isinstance(criteria, Mapping):
        raise ConfigError(f"{where}: 'criteria' must be a table of [criteria.NAME] sections")
    if not criteria:
        return goal
    children = {name: _node(sub, f"{where} [criteria.{name}]", opts) for name, sub in criteria.items()}
    return ahp_hierarchy(goal, children)


def _node(doc: Mapping[str, Any], where: str, opts: Mapping[str, Any]) -> AHPResult:
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: expected a table with 'elements' and 'matrix' or 'comparisons'")
    if where.endswith("]") and "[criteria." in where:
        unknown = set(doc) - _NODE_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, sorted(_NODE_KEYS))}")
    names = doc.get("elements")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{where}: 'elements' must be a non-empty list of names; got {names!r}")
    has_matrix, has_pairs = "matrix" in doc, "comparisons" in doc
    if has_matrix == has_pairs:
        raise ConfigError(f"{where}: give exactly one of 'matrix' or 'comparisons'")
    if has_matrix:
        rows = doc["matrix"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ConfigError(f"{where}: 'matrix' must be a list of rows")
        matrix: Any = [[_number(v, f"{where} matrix row {i + 1}") for v in row] for i, row in enumerate(rows)]
        if len(matrix) != len(names) or any(len(r) != len(names) for r in matrix):
            raise ConfigError(
                f"{where}: 'matrix' must be {len(names)} x {len(names)} to match "
                f"'elements'; got {len(matrix)} rows of lengths {[len(r) for r in matrix]}"
            )
    else:
        pairs = doc["comparisons"]
        if not isinstance(pairs, Mapping):
            raise ConfigError(f"{where}: 'comparisons' must be a table of \"a > b\" = value")
        parsed: dict[tuple[str, str], float] = {}
        for key, value in pairs.items():
            parts = [p.strip() for p in str(key).split(">")]
            if len(parts) != 2 or not all(parts):
                raise ConfigError(f'{where}: comparison key {key!r} must read "a > b"')
            parsed[(parts[0], parts[1])] = _number(value, f"{where} comparison {key!r}")
        matrix = pairwise_matrix(names, parsed, where=where)
    try:
        return ahp_weights(matrix, names, **opts)
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(where) else f"{where}: {msg}") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number; got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            pass
    raise ConfigError(f"{where}: expected a number or a fraction such as '1/3'; got {value!r}")


def parse_weights(text: str, indicators: Sequence[str] | None = None) -> dict[str, float] | list[float]:
    """Parse ``"revenue=0.5,profit=0.3"`` (by name) or ``"0.5,0.3"`` (in indicator order).

    Parameters
    ----------
    text : str
        The weights, either all ``name=value`` or all plain values.
    indicators : sequence of str, optional
        The indicator names the weights are for. When given, every named weight must be
        one of them, and plain (positional) weights must be exactly as many as they.

    Returns
    -------
    dict of str to float, or list of float
        Named weights as a mapping, positional weights as a list.

    Raises
    ------
    InputError
        A value that is not a number, a mixture of the two forms, a name that is not one
        of ``indicators``, or a count of positional weights different from theirs.
    """
    items = [p.strip() for p in text.split(",") if p.strip()]
    if not items:
        raise InputError("'weights' is empty; expected e.g. 'revenue=0.5,profit=0.5' or '0.5,0.5'")
    named = ["=" in p for p in items]
    if any(named) and not all(named):
        raise InputError(f"'weights' mixes 'name=value' and plain values: {text!r}")
    try:
        if all(named):
            out: dict[str, float] = {}
            for p in items:
                k, v = p.split("=", 1)
                out[k.strip()] = float(v)
        else:
            values = [float(p) for p in items]
    except ValueError:
        raise InputError(f"'weights': every weight must be a number; got {text!r}") from None
    if all(named):
        if indicators is not None:
            known = list(indicators)
            for k in out:
                if k not in known:
                    raise InputError(
                        f"'weights': unknown indicator {k!r}; expected one of {known}{did_you_mean(k, known)}"
                    )
        return out
    if indicators is not None and len(values) != len(indicators):
        raise InputError(
            f"'weights': got {len(values)} plain weights for {len(indicators)} "
            f"indicators {list(indicators)}; give one weight per indicator, in order"
        )
    return values
