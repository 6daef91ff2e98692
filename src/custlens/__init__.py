"""custlens: an analytical CRM engine.

Customer identification and segmentation, customer lifetime value, important-customer
identification, and satisfaction and loyalty measurement, on a DuckDB warehouse (Spark
through Ibis for scale).
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING, Any

from custlens.errors import (
    BackendError,
    ConfigError,
    ConvergenceError,
    CustlensError,
    InputError,
    NotFittedError,
    RejectedImportError,
)

if TYPE_CHECKING:
    from custlens._refresh import RefreshReport, refresh

__version__ = "0.1.0"

_EXPORTS = {"refresh": "custlens._refresh", "RefreshReport": "custlens._refresh"}

__all__ = [
    "__version__",
    "BackendError",
    "ConfigError",
    "ConvergenceError",
    "CustlensError",
    "InputError",
    "NotFittedError",
    "RejectedImportError",
    "RefreshReport",
    "refresh",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'custlens' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
