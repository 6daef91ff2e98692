"""The quarantine file: one CSV per import listing every row that was not loaded.

Columns: ``file, line, column, value, reason``. Written in the workspace's
``quarantine/`` folder (mode 0600); created only when there is something to record. For a
table of personal data (``identity``) the ``value`` column stays empty: a record keeps the
line, the column and the reason, never the person's data.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.csv as pacsv

from custlens.warehouse._files import private_dir

__all__ = ["QuarantineWriter", "QUARANTINE_SCHEMA"]

QUARANTINE_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("line", pa.int64()),
        ("column", pa.string()),
        ("value", pa.string()),
        ("reason", pa.string()),
    ]
)


class QuarantineWriter:
    """Append error records to a quarantine CSV, opening it on the first record."""

    def __init__(self, folder: Path, source: Path, table: str, sha256: str, *, keep_values: bool = True) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self.path = folder / f"{stamp}-{table}-{source.stem[:60]}-{sha256[:8]}.csv"
        self._source = str(source)
        self._keep_values = keep_values
        self._writer: pacsv.CSVWriter | None = None
        self.records = 0

    def write(self, errors: pa.Table) -> None:
        """Append error records (columns ``line, column, value, reason``)."""
        if errors.num_rows == 0:
            return
        if self._writer is None:
            private_dir(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.close(fd)
            self._writer = pacsv.CSVWriter(str(self.path), QUARANTINE_SCHEMA)
        n = errors.num_rows
        values = errors.column("value") if self._keep_values else pa.repeat(pa.scalar("", pa.string()), n)
        table = pa.table(
            {
                "file": pa.repeat(pa.scalar(self._source, pa.string()), n),
                "line": errors.column("line"),
                "column": errors.column("column"),
                "value": values,
                "reason": errors.column("reason"),
            },
            schema=QUARANTINE_SCHEMA,
        )
        self._writer.write_table(table)
        self.records += n

    @property
    def written(self) -> Path | None:
        """The quarantine file, or ``None`` when nothing was recorded."""
        return self.path if self._writer is not None else None

    def close(self) -> None:
        """Flush and close the file."""
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> QuarantineWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
