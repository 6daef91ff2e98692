"""The synthetic demo company: a deterministic CRM data set for demos, tests and benchmarks.

>>> from custlens.synth import generate_company
>>> company = generate_company(500, seed=7)
>>> sorted(company.tables())[:3]
['customers', 'identity', 'interactions']

See ``docs/demo-company.md`` for the generating process and its designed truths.
"""

from __future__ import annotations

from custlens.synth._vocab import CATEGORY_MARGIN, REGION_LABELS
from custlens.synth.company import (
    BLOCK_SIZE,
    DEFAULT_CUSTOMERS,
    Company,
    customers_for_transactions,
    generate_company,
    write_company,
)
from custlens.synth.params import (
    ECSI_BLOCKS,
    ECSI_LOADINGS,
    ECSI_PATHS,
    KANO_ANSWERS,
    KANO_DESIGN,
    CompanyParams,
)

__all__ = [
    "BLOCK_SIZE",
    "DEFAULT_CUSTOMERS",
    "Company",
    "CompanyParams",
    "generate_company",
    "write_company",
    "customers_for_transactions",
    "REGION_LABELS",
    "CATEGORY_MARGIN",
    "ECSI_BLOCKS",
    "ECSI_LOADINGS",
    "ECSI_PATHS",
    "KANO_ANSWERS",
    "KANO_DESIGN",
]
