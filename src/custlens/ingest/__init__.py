"""Reading source files into the warehouse: readers, mapping, validation, quarantine.

:func:`import_file` is the validated, atomic import (ledger, quarantine, reject rate);
:func:`read_table` reads a whole file into Arrow for commands that take a data file.
"""

from __future__ import annotations

from custlens.ingest.importer import DEFAULT_MAX_REJECT_RATE, ImportReport, import_file
from custlens.ingest.mapping import ColumnRule, ImportMapping, load_mapping, parse_mapping
from custlens.ingest.readers import decode_text, read_table

__all__ = [
    "import_file",
    "ImportReport",
    "DEFAULT_MAX_REJECT_RATE",
    "ImportMapping",
    "ColumnRule",
    "load_mapping",
    "parse_mapping",
    "decode_text",
    "read_table",
]
