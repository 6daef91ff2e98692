"""Reading source files into the warehouse: readers, mapping, validation, quarantine."""

from __future__ import annotations

from custlens.ingest.readers import decode_text, read_table

__all__ = ["decode_text", "read_table"]
