"""Parameters and designed truths of the synthetic demo company.

:class:`CompanyParams` holds every distribution parameter of the generating process with
its default; the rules each parameter must satisfy are declared once, as data, in
``_RULES`` and checked in one place. The module constants ``ECSI_*`` and ``KANO_*`` are the
designed truths of the survey instruments that tests of the satisfaction package may rely
on (see ``docs/demo-company.md``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, TypeGuard

import numpy as np

from custlens._toml import read_toml
from custlens.errors import ConfigError, InputError

__all__ = [
    "CompanyParams",
    "ECSI_BLOCKS",
    "ECSI_PATHS",
    "ECSI_LOADINGS",
    "ECSI_ITEM_MEANS",
    "ECSI_ITEM_SD",
    "ECSI_SATISFACTION_FROM_PROPENSITY",
    "KANO_ANSWERS",
    "KANO_CATEGORIES",
    "KANO_DESIGN",
    "KANO_DOMINANT_SHARE",
    "KANO_OTHER_SHARE",
    "KANO_QUESTIONABLE_SHARE",
    "KANO_REVERSE_SHARE",
    "ecsi_structural_noise",
]


@dataclass(frozen=True)
class CompanyParams:
    """Distribution parameters of the demo company (defaults are the documented truths).

    Rates are per week as in the buy-till-you-die literature; money is in currency units.

    Parameters
    ----------
    corporate_share
        Share of corporate customers (the rest are personal).
    process
        Purchase process after the first purchase: ``"pareto_nbd"`` (Schmittlein, Morrison
        and Colombo 1987) or ``"bg_nbd"`` (Fader, Hardie and Lee 2005).
    r, alpha
        Purchase rate ``lambda ~ Gamma(shape=r, rate=alpha)`` per week (both processes).
    s, beta
        Pareto/NBD dropout rate ``mu ~ Gamma(shape=s, rate=beta)`` per week.
    a, b
        BG/NBD dropout probability after each repeat purchase ``p ~ Beta(a, b)``.
    p, q, gamma_personal, gamma_corporate
        Gamma-Gamma spend (Fader, Hardie and Lee 2005b): order value ``z ~ Gamma(shape=p,
        rate=nu)``, ``nu ~ Gamma(shape=q, rate=gamma)``, with ``gamma`` by customer type.
    no_purchase_share
        Share of customers who register but never buy.
    first_purchase_delay_days
        Mean of the exponential delay from registration to the first purchase.
    acquisition_growth
        Registration density grows like ``t ** acquisition_growth`` over the period.
    rate_propensity_corr
        Correlation between the customer's satisfaction propensity ``xi`` and the normal
        score of the purchase rate ``lam`` (Gaussian copula: the Gamma marginal of ``lam``
        is kept exactly). This ties satisfaction to customer value.
    dropout_propensity_corr
        Correlation between ``xi`` and the normal score of the customer's staying power
        (``-mu`` or ``-p``). Default 0: a non-zero value makes ``lam`` and the dropout
        dependent, which the Pareto/NBD and BG/NBD models assume away.
    extra_line_prob
        Each order has ``1 + Binomial(3, extra_line_prob)`` lines.
    return_rate
        Mean share of order lines returned.
    leads_per_customer
        Leads recorded per customer.
    lead_conversion_share
        Share of leads that became customers (they carry the customer id).
    ecsi_share, kano_share
        Share of buying customers answering the ECSI and the Kano questionnaire.
    survey_missing_share
        Share of ECSI item answers left out (item nonresponse: the row is absent).
    """

    corporate_share: float = 0.15
    process: Literal["pareto_nbd", "bg_nbd"] = "pareto_nbd"
    r: float = 0.75
    alpha: float = 8.0
    s: float = 0.6
    beta: float = 40.0
    a: float = 0.8
    b: float = 4.0
    p: float = 6.0
    q: float = 4.0
    gamma_personal: float = 200.0
    gamma_corporate: float = 1000.0
    no_purchase_share: float = 0.05
    first_purchase_delay_days: float = 3.0
    acquisition_growth: float = 0.5
    rate_propensity_corr: float = 0.6
    dropout_propensity_corr: float = 0.0
    extra_line_prob: float = 0.3
    return_rate: float = 0.03
    leads_per_customer: float = 0.5
    lead_conversion_share: float = 0.2
    ecsi_share: float = 0.15
    kano_share: float = 0.10
    survey_missing_share: float = 0.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "parameters") -> CompanyParams:
        """Parameters from a mapping (e.g. a parsed TOML file); unknown names are errors.

        Raises
        ------
        ConfigError
            For an unknown parameter name or a value that breaks its rule.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            hint = [n for n in known if n.lower() == unknown[0].lower().replace("-", "_")]
            raise ConfigError(
                f"{source}: unknown parameter(s) {', '.join(map(repr, unknown))}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; expected some of: {', '.join(f.name for f in fields(cls))}"
            )
        try:
            return cls(**values)
        except InputError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> CompanyParams:
        """Parameters from a TOML file of ``name = value`` lines (top level or ``[params]``)."""
        p = Path(path)
        data = read_toml(p, "a TOML file of generator parameters")
        if set(data) == {"params"} and isinstance(data["params"], dict):
            data = data["params"]
        return cls.from_mapping(data, source=str(p))

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            check, expected = _RULES[f.name]
            ok = False
            try:
                ok = bool(check(value))
            except TypeError:
                ok = False
            if not ok:
                raise InputError(
                    f"The {f.name!r} parameter of CompanyParams must be {expected}. Got {value!r} instead."
                )


def _num(v: object) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _positive(v: object) -> bool:
    return _num(v) and v > 0


def _share(v: object) -> bool:
    return _num(v) and 0 <= v <= 1


def _open_share(v: object) -> bool:
    return _num(v) and 0 <= v < 1


_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "corporate_share": (_share, "a float in [0, 1]"),
    "process": (lambda v: v in ("pareto_nbd", "bg_nbd"), "'pareto_nbd' or 'bg_nbd'"),
    "r": (_positive, "a float > 0"),
    "alpha": (_positive, "a float > 0"),
    "s": (_positive, "a float > 0"),
    "beta": (_positive, "a float > 0"),
    "a": (_positive, "a float > 0"),
    "b": (_positive, "a float > 0"),
    "p": (_positive, "a float > 0"),
    "q": (lambda v: _num(v) and v > 1, "a float > 1 (so that mean spend is finite)"),
    "gamma_personal": (_positive, "a float > 0"),
    "gamma_corporate": (_positive, "a float > 0"),
    "no_purchase_share": (_open_share, "a float in [0, 1)"),
    "first_purchase_delay_days": (lambda v: _num(v) and v >= 0, "a float >= 0"),
    "acquisition_growth": (lambda v: _num(v) and v > -1, "a float > -1"),
    "rate_propensity_corr": (lambda v: _num(v) and -1 < v < 1, "a float in (-1, 1)"),
    "dropout_propensity_corr": (lambda v: _num(v) and -1 < v < 1, "a float in (-1, 1)"),
    "extra_line_prob": (_share, "a float in [0, 1]"),
    "return_rate": (lambda v: _num(v) and 0 <= v <= 0.5, "a float in [0, 0.5]"),
    "leads_per_customer": (lambda v: _num(v) and 0 <= v <= 100, "a float in [0, 100]"),
    "lead_conversion_share": (_share, "a float in [0, 1]"),
    "ecsi_share": (_share, "a float in [0, 1]"),
    "kano_share": (_share, "a float in [0, 1]"),
    "survey_missing_share": (lambda v: _num(v) and 0 <= v < 1, "a float in [0, 1)"),
}

# --------------------------------------------------------------------------- ECSI truths
ECSI_BLOCKS: dict[str, tuple[str, ...]] = {
    "IMAG": ("IMAG1", "IMAG2", "IMAG3", "IMAG4", "IMAG5"),
    "CUEX": ("CUEX1", "CUEX2", "CUEX3"),
    "PERQ": ("PERQ1", "PERQ2", "PERQ3", "PERQ4", "PERQ5", "PERQ6", "PERQ7"),
    "PERV": ("PERV1", "PERV2"),
    "CUSA": ("CUSA1", "CUSA2", "CUSA3"),
    "CUSCO": ("CUSCO",),
    "CUSL": ("CUSL1", "CUSL2", "CUSL3"),
}
"""Constructs of the ECSI model (in causal order) and their item codes."""

ECSI_PATHS: dict[tuple[str, str], float] = {
    ("IMAG", "CUEX"): 0.50,
    ("IMAG", "CUSA"): 0.20,
    ("IMAG", "CUSL"): 0.20,
    ("CUEX", "PERQ"): 0.55,
    ("CUEX", "PERV"): 0.15,
    ("CUEX", "CUSA"): 0.10,
    ("PERQ", "PERV"): 0.55,
    ("PERQ", "CUSA"): 0.45,
    ("PERV", "CUSA"): 0.20,
    ("CUSA", "CUSCO"): 0.50,
    ("CUSA", "CUSL"): 0.50,
    ("CUSCO", "CUSL"): 0.15,
}
"""True standardised path coefficients between the latent constructs."""

ECSI_LOADINGS: dict[str, float] = {
    "IMAG1": 0.75,
    "IMAG2": 0.70,
    "IMAG3": 0.80,
    "IMAG4": 0.72,
    "IMAG5": 0.78,
    "CUEX1": 0.70,
    "CUEX2": 0.75,
    "CUEX3": 0.65,
    "PERQ1": 0.80,
    "PERQ2": 0.75,
    "PERQ3": 0.78,
    "PERQ4": 0.72,
    "PERQ5": 0.82,
    "PERQ6": 0.76,
    "PERQ7": 0.70,
    "PERV1": 0.88,
    "PERV2": 0.85,
    "CUSA1": 0.85,
    "CUSA2": 0.80,
    "CUSA3": 0.82,
    "CUSCO": 0.90,
    "CUSL1": 0.85,
    "CUSL2": 0.70,
    "CUSL3": 0.80,
}
"""True loading of each item's standard score on its construct."""

ECSI_ITEM_MEANS: dict[str, float] = {item: 7.0 + 0.1 * (k % 7) for k, item in enumerate(ECSI_LOADINGS)}
"""Centre of each item on the 1-10 answer scale (7.0 to 7.6)."""
ECSI_ITEM_SD = 1.6
"""Spread of each item on the 1-10 scale before rounding and clipping."""
ECSI_SATISFACTION_FROM_PROPENSITY = 0.9
"""Correlation of the satisfaction (CUSA) disturbance with the customer's propensity ``xi``.

The disturbance stays independent of CUSA's predecessors, so the structural paths are
unbiased; through ``xi`` (correlated with the purchase rate) satisfaction rises with
customer value."""


def ecsi_structural_noise() -> dict[str, float]:
    """Variance of each construct's disturbance that makes every construct unit-variance.

    Exogenous constructs get 1.0; for an endogenous construct the variance is
    ``1 - R^2`` implied by :data:`ECSI_PATHS`.
    """
    names = list(ECSI_BLOCKS)
    k = len(names)
    pos = {n: i for i, n in enumerate(names)}
    B = np.zeros((k, k))
    for (src, dst), coef in ECSI_PATHS.items():
        B[pos[dst], pos[src]] = coef
    cov = np.zeros((k, k))
    noise: dict[str, float] = {}
    for j, name in enumerate(names):
        row = B[j, :j]
        explained = float(row @ cov[:j, :j] @ row)
        noise[name] = 1.0 - explained
        cov[j, :j] = cov[:j, :j] @ row
        cov[:j, j] = cov[j, :j]
        cov[j, j] = 1.0
    return noise


# --------------------------------------------------------------------------- Kano truths
KANO_ANSWERS: tuple[str, ...] = ("like", "must-be", "neutral", "live-with", "dislike")
"""Meaning of the Kano answers "1".."5" (in this order)."""
KANO_CATEGORIES: tuple[str, ...] = ("M", "O", "A", "I")
"""Must-be, one-dimensional, attractive, indifferent."""

KANO_DESIGN: dict[str, str] = {
    "secure_payment": "M",
    "accurate_delivery": "M",
    "fast_delivery": "O",
    "after_sales_service": "O",
    "personalised_recommendations": "A",
    "free_gift_wrapping": "A",
    "app_dark_mode": "I",
    "social_sharing": "I",
}
"""Attribute -> designed dominant Kano category."""

KANO_DOMINANT_SHARE = 0.60
"""Share of answer pairs classified as the attribute's designed category."""
KANO_OTHER_SHARE = 0.11
"""Share of answer pairs in each of the three other categories among M, O, A, I."""
KANO_QUESTIONABLE_SHARE = 0.03
"""Share of questionable pairs (like/like or dislike/dislike)."""
KANO_REVERSE_SHARE = 0.04
"""Share of reverse pairs (the functional answer worse than the dysfunctional one)."""
