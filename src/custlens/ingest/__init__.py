"""Reading source files into the warehouse: readers, mapping, validation, quarantine.

:func:`import_file` is the validated, atomic import (ledger, quarantine, reject rate);
:func:`read_table` reads a whole file into Arrow; :func:`scan_table` gives commands that
take a data file an Ibis table the engine scans (projection and filter pushdown);
:func:`load_transactions` reads a transaction file into an Ibis table with canonical
columns (for commands that analyse a file without importing it).

Names are imported on first use (PEP 562): ``custlens.ingest.readers`` (used by commands
that must start fast) loads neither Ibis nor DuckDB nor pandas.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from custlens.ingest.importer import (
        DEFAULT_MAX_REJECT_RATE,
        IMPORT_MODES,
        UPSERT_TABLES,
        ImportReport,
        import_file,
    )
    from custlens.ingest.mapping import ColumnRule, ImportMapping, load_mapping, parse_mapping
    from custlens.ingest.readers import decode_text, read_table, scan_table
    from custlens.ingest.transactions import load_transactions

_EXPORTS = {
    "import_file": "custlens.ingest.importer",
    "ImportReport": "custlens.ingest.importer",
    "DEFAULT_MAX_REJECT_RATE": "custlens.ingest.importer",
    "IMPORT_MODES": "custlens.ingest.importer",
    "UPSERT_TABLES": "custlens.ingest.importer",
    "ImportMapping": "custlens.ingest.mapping",
    "ColumnRule": "custlens.ingest.mapping",
    "load_mapping": "custlens.ingest.mapping",
    "parse_mapping": "custlens.ingest.mapping",
    "decode_text": "custlens.ingest.readers",
    "read_table": "custlens.ingest.readers",
    "scan_table": "custlens.ingest.readers",
    "load_transactions": "custlens.ingest.transactions",
}

__all__ = [
    "import_file",
    "ImportReport",
    "DEFAULT_MAX_REJECT_RATE",
    "IMPORT_MODES",
    "UPSERT_TABLES",
    "ImportMapping",
    "ColumnRule",
    "load_mapping",
    "parse_mapping",
    "decode_text",
    "read_table",
    "scan_table",
    "load_transactions",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'custlens.ingest' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
