"""Every per-customer feature and all input coercion, as Ibis expressions.

Purchase histories (lifetime-value sense), value indicators, window and activity features,
the wide :func:`customer_features` table the segmentations read, per-period values and
cohorts, costs and the value after them (:func:`cost_features`), the realised parts of
lifetime value (:func:`value_parts`) and the share of wallet. Every function takes Ibis tables with the canonical column names of
:mod:`custlens.schema` (overridable by keyword) and an explicit as-of date (default: the
last transaction day), and returns an Ibis expression that runs on any Ibis backend
(DuckDB, PySpark). :func:`to_frame` executes one as pandas, polars or Arrow. Definitions
are written once, in ``docs/features.md``.

:mod:`custlens.features.coerce` turns user input (dates, amounts, ids) into typed values.

Names are imported on first use (PEP 562), so that ``import custlens.features.coerce`` --
used by the importer and the command line -- does not load Ibis.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from custlens.features._base import as_of_date, to_frame
    from custlens.features.activity import (
        CUSTOMER_FEATURE_COLUMNS,
        activity_features,
        customer_features,
        window_features,
    )
    from custlens.features.cohorts import cohort_table, cohort_triangle, period_values
    from custlens.features.costs import COST_COLUMNS, CostRates, cost_features, load_costs
    from custlens.features.history import calibration_holdout, purchase_history
    from custlens.features.indicators import (
        ATTRIBUTE_COLUMNS,
        CONTACT_INDICATORS,
        FINANCIAL_INDICATORS,
        INDICATOR_COLUMNS,
        TRANSACTION_INDICATORS,
        value_indicators,
    )
    from custlens.features.lifetime import PART_COLUMNS, new_customer_service_rate, value_parts, value_parts_windows
    from custlens.features.wallet import WALLET_COLUMNS, share_of_wallet

_EXPORTS = {
    "to_frame": "custlens.features._base",
    "as_of_date": "custlens.features._base",
    "purchase_history": "custlens.features.history",
    "calibration_holdout": "custlens.features.history",
    "value_indicators": "custlens.features.indicators",
    "window_features": "custlens.features.activity",
    "activity_features": "custlens.features.activity",
    "customer_features": "custlens.features.activity",
    "period_values": "custlens.features.cohorts",
    "cohort_table": "custlens.features.cohorts",
    "cohort_triangle": "custlens.features.cohorts",
    "INDICATOR_COLUMNS": "custlens.features.indicators",
    "TRANSACTION_INDICATORS": "custlens.features.indicators",
    "FINANCIAL_INDICATORS": "custlens.features.indicators",
    "CONTACT_INDICATORS": "custlens.features.indicators",
    "ATTRIBUTE_COLUMNS": "custlens.features.indicators",
    "CUSTOMER_FEATURE_COLUMNS": "custlens.features.activity",
    "cost_features": "custlens.features.costs",
    "load_costs": "custlens.features.costs",
    "CostRates": "custlens.features.costs",
    "COST_COLUMNS": "custlens.features.costs",
    "value_parts": "custlens.features.lifetime",
    "value_parts_windows": "custlens.features.lifetime",
    "new_customer_service_rate": "custlens.features.lifetime",
    "PART_COLUMNS": "custlens.features.lifetime",
    "share_of_wallet": "custlens.features.wallet",
    "WALLET_COLUMNS": "custlens.features.wallet",
}

__all__ = [
    "to_frame",
    "as_of_date",
    "purchase_history",
    "calibration_holdout",
    "value_indicators",
    "window_features",
    "activity_features",
    "customer_features",
    "period_values",
    "cohort_table",
    "cohort_triangle",
    "INDICATOR_COLUMNS",
    "TRANSACTION_INDICATORS",
    "FINANCIAL_INDICATORS",
    "CONTACT_INDICATORS",
    "ATTRIBUTE_COLUMNS",
    "CUSTOMER_FEATURE_COLUMNS",
    "cost_features",
    "load_costs",
    "CostRates",
    "COST_COLUMNS",
    "value_parts",
    "value_parts_windows",
    "new_customer_service_rate",
    "PART_COLUMNS",
    "share_of_wallet",
    "WALLET_COLUMNS",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'custlens.features' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
