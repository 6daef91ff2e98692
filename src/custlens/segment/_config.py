"""Configuration: the shipped defaults in ``segment/defaults/*.toml`` and user overrides.

Every threshold, rule and name a method uses comes from one of these files; a user file or
mapping is merged over the defaults (tables merge key by key, lists replace), and the merged
result is stored with the segmentation so that a snapshot records how it was made.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from custlens._toml import read_toml as read_toml_file
from custlens.errors import ConfigError

__all__ = ["load_defaults", "load_config", "read_toml", "merge", "check_bins", "interval_text", "Bin", "CLOSED_SIDES"]

ConfigLike = str | Path | Mapping[str, Any] | None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a segmentation configuration file; errors name the file, line and problem."""
    return read_toml_file(path, "a TOML configuration file")


def load_defaults(name: str) -> dict[str, Any]:
    """The shipped default configuration ``segment/defaults/<name>.toml``."""
    text = resources.files("custlens.segment").joinpath("defaults", f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` over ``base``: nested tables merge, other values (lists) replace."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(name: str, user: ConfigLike = None, *, replace: bool = False) -> dict[str, Any]:
    """Defaults of ``name`` with the user's file or mapping merged over them.

    ``replace=True`` uses the user's configuration instead of the defaults (segment maps).
    """
    defaults = load_defaults(name)
    if user is None:
        return defaults
    given = read_toml(user) if isinstance(user, (str, Path)) else dict(user)
    return given if replace else merge(defaults, given)


Bin = tuple[float, float, Any]
"""One threshold rule: ``(lower, upper, label)``; the interval is half-open, closed on the left
(``[lower, upper)``, the default) or on the right (``(lower, upper]``)."""

CLOSED_SIDES = ("left", "right")
"""Which end of every threshold interval belongs to it: ``left`` [min, max), ``right`` (min, max]."""


def interval_text(lo: float, hi: float, closed: str = "left") -> str:
    """An interval in the usual notation, e.g. ``[2, 6)`` or ``(500, 1000]``."""
    return f"[{lo:g}, {hi:g})" if closed == "left" else f"({lo:g}, {hi:g}]"


def check_bins(
    rules: Sequence[Mapping[str, Any]], what: str, label_key: str = "score", closed: str = "left"
) -> list[Bin]:
    """Validate a threshold table: each rule has ``min`` and/or ``max`` and a label.

    Rules cover half-open intervals: ``[min, max)`` with ``closed="left"`` (the default) or
    ``(min, max]`` with ``closed="right"``; a missing ``min`` is minus infinity and a
    missing ``max`` plus infinity. Sorted by ``min``, consecutive rules must meet exactly:
    overlaps and gaps are errors naming both rules.
    """
    if closed not in CLOSED_SIDES:
        raise ConfigError(f"{what}: 'closed' must be 'left' ([min, max)) or 'right' ((min, max]), got {closed!r}")
    if not isinstance(rules, Sequence) or isinstance(rules, str) or not rules:
        raise ConfigError(f"{what}: expected a non-empty list of rules like {{{label_key} = 5, min = 0, max = 30}}")
    parsed: list[tuple[float, float, Any, int]] = []
    for i, rule in enumerate(rules, start=1):
        if not isinstance(rule, Mapping):
            raise ConfigError(f"{what} rule {i}: expected a table, got {rule!r}")
        unknown = set(rule) - {"min", "max", label_key, "name_zh"}
        if unknown:
            raise ConfigError(f"{what} rule {i}: unknown key(s) {sorted(unknown)}; expected min, max, {label_key}")
        if label_key not in rule:
            raise ConfigError(f"{what} rule {i}: missing {label_key!r}")
        lo, hi = rule.get("min", -math.inf), rule.get("max", math.inf)
        for key, val in (("min", lo), ("max", hi)):
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise ConfigError(f"{what} rule {i}: {key!r} must be a number, got {val!r}")
        if not lo < hi:
            raise ConfigError(f"{what} rule {i} ({label_key} {rule[label_key]}): min {lo} must be below max {hi}")
        parsed.append((float(lo), float(hi), rule[label_key], i))
    parsed.sort(key=lambda r: r[0])
    for (lo1, hi1, lab1, i1), (lo2, hi2, lab2, i2) in zip(parsed, parsed[1:]):
        if lo2 < hi1:
            raise ConfigError(
                f"{what}: rule {i2} ({label_key} {lab2}: {interval_text(lo2, hi2, closed)}) overlaps "
                f"rule {i1} ({label_key} {lab1}: {interval_text(lo1, hi1, closed)})"
            )
        if lo2 > hi1:
            between = interval_text(hi1, lo2, closed)
            raise ConfigError(
                f"{what}: gap between rule {i1} ({label_key} {lab1}, ends at {hi1:g}) "
                f"and rule {i2} ({label_key} {lab2}, starts at {lo2:g}); values in "
                f"{between} would get no {label_key}"
            )
    labels = [r[2] for r in parsed]
    if len(set(map(str, labels))) != len(labels):
        raise ConfigError(f"{what}: each {label_key} may appear once, got {labels}")
    return [(lo, hi, lab) for lo, hi, lab, _ in parsed]
