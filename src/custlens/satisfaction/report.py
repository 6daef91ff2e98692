"""One call from a survey table to the full PLS report (estimates, quality, index, IPMA).

This is what the ``custlens pls`` command and other edges use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custlens.errors import InputError
from custlens.satisfaction.bootstrap import BootstrapResult
from custlens.satisfaction.index import IndexResult, check_scale, satisfaction_index
from custlens.satisfaction.ipma import ipma
from custlens.satisfaction.model import ModelSpec
from custlens.satisfaction.pls import PLSResult, fit_pls

__all__ = ["PLSReport", "pls_report"]


@dataclass
class PLSReport:
    """A fitted model with its index, IPMA and (optionally) bootstrap results."""

    fit: PLSResult
    index: IndexResult | None
    ipma: dict[str, Any] | None
    bootstrap: BootstrapResult | None
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain dicts: the keys the CLI's JSON promises and more."""
        out = self.fit.to_dict()
        out["index"] = self.index.index() if self.index is not None else None
        out["index_weights"] = self.index.weights if self.index is not None else None
        out["ipma"] = self.ipma
        if self.bootstrap is not None:
            out["bootstrap"] = self.bootstrap.to_dict()
        out["notes"] = self.notes
        return out

    def rows(self) -> list[dict[str, Any]]:
        """A flat table: one row per reported number (kind, name, value)."""
        rows: list[dict[str, Any]] = []
        for name, value in self.fit.path_coefficients().items():
            rows.append({"kind": "path", "name": name, "value": value})
        for name, value in self.fit.r2().items():
            rows.append({"kind": "r2", "name": name, "value": value})
        for construct, block in self.fit.outer_weights().items():
            for item, value in block.items():
                rows.append({"kind": "weight", "name": f"{construct} <- {item}", "value": value})
        for construct, block in self.fit.loadings().items():
            for item, value in block.items():
                rows.append({"kind": "loading", "name": f"{construct} -> {item}", "value": value})
        quality = self.fit.quality()
        for construct, measures in quality["constructs"].items():
            for measure, value in measures.items():
                if measure not in ("items", "mode", "r2"):
                    rows.append({"kind": measure, "name": construct, "value": value})
        rows.append({"kind": "gof", "name": "model", "value": quality["gof"]})
        if self.index is not None:
            for construct, value in self.index.index().items():
                rows.append({"kind": "index", "name": construct, "value": value})
        if self.bootstrap is not None:
            for name, stats in self.bootstrap.table("paths").items():
                rows.append({"kind": "path_se", "name": name, "value": stats["se"]})
                rows.append({"kind": "path_t", "name": name, "value": stats["t"]})
        return rows


def pls_report(
    data: Any,
    model: str | Path | ModelSpec,
    *,
    scheme: str = "path",
    missing: str = "listwise",
    scale: tuple[float, float] = (1, 10),
    n_boot: int = 0,
    seed: int | None = None,
    ipma_target: str | None = None,
    **fit_options: Any,
) -> PLSReport:
    """Fit ``model`` to ``data`` and compute the index, IPMA and optional bootstrap.

    The 0-100 index and the IPMA need non-negative unstandardised weights and answers
    inside ``scale``; when that fails the report carries a note instead of failing.
    """
    scale = check_scale(scale)  # a wrong scale is the caller's mistake, not a note
    fit = fit_pls(data, model, scheme=scheme, missing=missing, **fit_options)
    notes: list[str] = []
    if fit.n_dropped:
        notes.append(f"{fit.n_dropped} respondent(s) with missing answers were left out (listwise deletion)")
    try:
        index: IndexResult | None = satisfaction_index(fit, scale)
        ipma_data: dict[str, Any] | None = ipma(fit, ipma_target, scale)
    except InputError as exc:
        index, ipma_data = None, None
        notes.append(f"no 0-100 index: {exc}")
    boot = fit.bootstrap(n_boot=n_boot, seed=seed) if n_boot else None
    return PLSReport(fit, index, ipma_data, boot, notes)
