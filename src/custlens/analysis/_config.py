"""The configuration of the standard analysis: one TOML file, checked once, hashed.

Every setting has a default (``defaults/analysis.toml``, documented in
``docs/analysis.md``); a user's file overrides any of them. The resolved configuration is
stored with each analysis together with its hash, so two stored analyses can be compared
knowing whether they were made the same way.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from custlens._toml import read_toml
from custlens.errors import ConfigError, did_you_mean
from custlens.schema import TIME_UNITS

__all__ = ["AnalysisConfig", "METHODS", "load_analysis_config"]

METHODS = ("rfm", "state", "lifecycle", "abc", "pyramid", "value_matrix", "clv_matrix", "cluster")
"""The segmentations the standard analysis can run, in display order."""

PURCHASE_MODELS = ("bgnbd", "mbgnbd", "pnbd")
SPEND_MODELS = ("gg", "none")
RISK_BANDS = ("low", "medium", "high", "lost")


def _number(
    low: float | None = None, high: float | None = None, *, integer: bool = False, open_low: bool = False
) -> Any:
    def check(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            return False
        if low is not None and (value <= low if open_low else value < low):
            return False
        return high is None or value <= high

    return check


def _choice(options: tuple[str, ...]) -> Any:
    return lambda value: isinstance(value, str) and value in options


def _names(options: tuple[str, ...] | None = None) -> Any:
    def check(value: Any) -> bool:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            return False
        return options is None or all(v in options for v in value)

    return check


def _optional_text(value: Any) -> bool:
    return value is None or (isinstance(value, str) and bool(value))


def _open_unit(value: Any) -> bool:
    return bool(_number(0, 1, open_low=True)(value)) and value < 1


# the cube's dimensions the analysis can fill: customer attributes, its segmentations, line dimensions
_CUBE_LEFT_OUT = ("segment", "risk_band", "score_tier")


def _cube_dimension(value: Any) -> bool:
    from custlens.cube import DIMENSIONS

    return isinstance(value, str) and value in DIMENSIONS and value not in _CUBE_LEFT_OUT


def _cube_measures(value: Any) -> bool:
    from custlens.cube import MEASURES

    return _names()(value) and bool(value) and all(v in MEASURES and MEASURES[v].grain != "customer" for v in value)


# section -> key -> (rule, what the rule expects); the defaults file holds the values
_RULES: dict[str, dict[str, tuple[Any, str]]] = {
    "analysis": {
        "time_unit": (_choice(TIME_UNITS), "one of D, W, M"),
        "methods": (_names(METHODS), f"a list of methods among {', '.join(METHODS)}"),
    },
    "clv": {
        "model": (_choice(PURCHASE_MODELS), f"one of {', '.join(PURCHASE_MODELS)}"),
        "spend": (_choice(SPEND_MODELS), "'gg' (Gamma-Gamma) or 'none' (observed mean spend)"),
        "horizon_months": (_number(0, 1200, open_low=True), "a number of months in (0, 1200]"),
        "monthly_discount": (_number(0, 1), "a monthly rate in [0, 1]"),
        "margin": (_number(0, 1), "a share of spend in [0, 1]"),
        "penalizer": (_number(0), "a number >= 0"),
        "histogram_bins": (_number(5, 200, integer=True), "a whole number from 5 to 200"),
    },
    "churn": {
        "bands": (_names(RISK_BANDS), f"a list of risk bands among {', '.join(RISK_BANDS)}"),
        "at_risk_top": (_number(1, 100_000, integer=True), "a whole number from 1 to 100000"),
    },
    "clv_matrix": {
        "current": (lambda v: isinstance(v, str) and bool(v), "a value-indicator column, e.g. revenue or profit"),
    },
    "score": {
        "indicators": (_names(), "a list of value-indicator columns"),
        "cost": (_names(), "a list of the indicators where lower is better"),
        "method": (_choice(("entropy", "equal")), "'entropy' or 'equal'"),
        "ahp": (_optional_text, "an AHP judgement TOML file, or empty for the 'method' weights"),
    },
    "state_flow": {
        "days": (_number(1, 3650, integer=True), "a whole number of days from 1 to 3650"),
    },
    "satisfaction": {
        "model": (lambda v: isinstance(v, str) and bool(v), "acsi, ecsi, scsb or a model TOML file"),
        "instrument": (lambda v: isinstance(v, str) and bool(v), "the survey instrument of the index items"),
        "scale": (
            lambda v: isinstance(v, list) and len(v) == 2 and all(_number()(x) for x in v) and v[0] < v[1],
            "two numbers [lowest, highest] of the answer scale",
        ),
        "segments": (_choice(METHODS), f"the segmentation to report indices for, one of {', '.join(METHODS)}"),
        "kano_instrument": (lambda v: isinstance(v, str) and bool(v), "the survey instrument of the Kano items"),
    },
    "playbook": {
        "file": (_optional_text, "a playbook TOML file, or empty for the shipped playbook"),
    },
    "value": {
        "segments": (_choice(METHODS), f"the segmentation to report CLV components for, one of {', '.join(METHODS)}"),
        "costs": (_optional_text, "a costs TOML file, or empty for no costs"),
        "current_months": (_number(0, 1200, open_low=True), "a number of months in (0, 1200]"),
        "baseline_months": (_number(0, 1200), "a number of months in [0, 1200]"),
        "referral_channels": (_names(), "a list of acquisition channels"),
        "relative": (_open_unit, "a share in (0, 1)"),
        "retention_points": (_open_unit, "an annual rate in (0, 1)"),
        "growth_points": (_open_unit, "an annual rate in (0, 1)"),
    },
    "lost": {
        "segments": (_choice(METHODS), f"the segmentation to report churn reasons for, one of {', '.join(METHODS)}"),
        "reasons": (_optional_text, "a reasons TOML file, or empty for the shipped rules"),
        "p_alive_threshold": (_number(0, 1), "a probability in [0, 1]"),
    },
    "cube": {
        "rows": (_cube_dimension, "a cube dimension (docs/cube.md) other than segment, risk_band, score_tier"),
        "columns": (_cube_dimension, "a cube dimension (docs/cube.md) other than segment, risk_band, score_tier"),
        "measures": (_cube_measures, "a list of line or derived cube measures (revenue, orders, customers, ...)"),
    },
    "points": {
        "pareto": (_number(10, 10_000, integer=True), "a whole number from 10 to 10000"),
        "scatter": (_number(100, 100_000, integer=True), "a whole number from 100 to 100000"),
    },
}


def _defaults() -> dict[str, Any]:
    text = resources.files("custlens.analysis").joinpath("defaults/analysis.toml").read_text(encoding="utf-8")
    import tomllib

    return tomllib.loads(text)


@dataclass(frozen=True)
class AnalysisConfig:
    """The resolved configuration of the standard analysis (see ``docs/analysis.md``).

    Build it with :func:`load_analysis_config` (defaults merged with a TOML file or a
    mapping). ``sections`` holds every setting by section; ``segment`` holds per-method
    overrides passed to the segmentation methods as their ``config``.
    """

    sections: Mapping[str, Mapping[str, Any]]
    segment: Mapping[str, Mapping[str, Any]]

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self.sections[section]

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain data (what is stored with an analysis)."""
        out = copy.deepcopy({k: dict(v) for k, v in self.sections.items()})
        if self.segment:
            out["segment"] = copy.deepcopy({k: dict(v) for k, v in self.segment.items()})
        return out

    @property
    def hash(self) -> str:
        """A short, stable hash of :meth:`to_dict`."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @property
    def time_unit(self) -> str:
        """Time unit of the purchase summaries and models (D, W or M)."""
        return str(self.sections["analysis"]["time_unit"])

    @property
    def methods(self) -> tuple[str, ...]:
        """The segmentations to run, in display order."""
        listed = set(self.sections["analysis"]["methods"])
        return tuple(m for m in METHODS if m in listed)


def load_analysis_config(config: AnalysisConfig | Mapping[str, Any] | str | Path | None = None) -> AnalysisConfig:
    """Defaults merged with ``config`` (a TOML file, a mapping of sections, or a config).

    Raises
    ------
    ConfigError
        For an unknown section or setting (with a "did you mean"), or a value that breaks
        its rule; the message names the file, section and key, the value and what is
        expected.
    """
    if isinstance(config, AnalysisConfig):
        return config
    where = "analysis configuration"
    given: Mapping[str, Any] = {}
    if isinstance(config, (str, Path)):
        where = str(config)
        given = read_toml(config, "an analysis configuration TOML file")
    elif config is not None:
        if not isinstance(config, Mapping):
            raise ConfigError(
                f"'config' must be a TOML file, a mapping of sections or an AnalysisConfig; got {config!r}"
            )
        given = config
    sections = _defaults()
    segment: dict[str, dict[str, Any]] = {}
    for name, body in given.items():
        if name == "segment":
            if not isinstance(body, Mapping) or not all(
                m in METHODS and isinstance(v, Mapping) for m, v in body.items()
            ):
                raise ConfigError(
                    f"{where}: [segment.<method>] tables configure the methods {', '.join(METHODS)}; got {body!r}"
                )
            segment = {m: dict(v) for m, v in body.items()}
            continue
        if name not in _RULES:
            raise ConfigError(
                f"{where}: unknown section [{name}]{did_you_mean(name, [*_RULES, 'segment'])} "
                f"(sections: {', '.join([*_RULES, 'segment'])})"
            )
        if not isinstance(body, Mapping):
            raise ConfigError(f"{where}: [{name}] must be a table of settings; got {body!r}")
        for key, value in body.items():
            if key not in _RULES[name]:
                raise ConfigError(
                    f"{where}: [{name}] has no setting {key!r}{did_you_mean(key, _RULES[name])} "
                    f"(settings: {', '.join(_RULES[name])})"
                )
            sections[name][key] = value
    for section, key in (("playbook", "file"), ("score", "ahp"), ("value", "costs"), ("lost", "reasons")):
        if sections[section].get(key) == "":
            sections[section][key] = None
    for name, rules in _RULES.items():
        for key, (rule, expected) in rules.items():
            value = sections[name].get(key)
            if not rule(value):
                raise ConfigError(f"{where}: [{name}] {key} must be {expected}; got {value!r}")
    if sections["satisfaction"]["segments"] not in sections["analysis"]["methods"]:
        raise ConfigError(
            f"{where}: [satisfaction] segments = {sections['satisfaction']['segments']!r} is not among "
            f"[analysis] methods ({', '.join(sections['analysis']['methods'])})"
        )
    if sections["cube"]["rows"] == sections["cube"]["columns"]:
        raise ConfigError(f"{where}: [cube] rows and columns must differ; got {sections['cube']['rows']!r} twice")
    unknown_cost = [c for c in sections["score"]["cost"] if c not in sections["score"]["indicators"]]
    if unknown_cost:
        raise ConfigError(f"{where}: [score] cost lists {unknown_cost[0]!r}, which is not in [score] indicators")
    return AnalysisConfig(sections=sections, segment=segment)
