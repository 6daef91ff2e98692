"""custlens: an analytical CRM engine.

Customer identification and segmentation, customer lifetime value, important-customer
identification, and satisfaction and loyalty measurement, on a DuckDB warehouse (Spark
through Ibis for scale).
"""

from __future__ import annotations

from custlens.errors import (
    BackendError,
    ConfigError,
    ConvergenceError,
    CustlensError,
    InputError,
    NotFittedError,
    RejectedImportError,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "BackendError",
    "ConfigError",
    "ConvergenceError",
    "CustlensError",
    "InputError",
    "NotFittedError",
    "RejectedImportError",
]
