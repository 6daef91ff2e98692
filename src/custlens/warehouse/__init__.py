"""The customer warehouse: a workspace folder with a DuckDB file, reached through Ibis.

``Workspace.init(path)`` creates one, ``Workspace.open(path)`` opens it; ``ws.table(name)``
is a canonical table as an Ibis expression. :func:`connect_spark` runs the same
expressions on PySpark, with the tables registered from Parquet or Arrow; a workspace
with ``backend = "spark"`` (:func:`spark_workspace`) keeps its tables as Parquet on Spark.
"""

from __future__ import annotations

from custlens.warehouse._files import private_dir, private_file
from custlens.warehouse._migrations import LEDGER_TABLE, MIGRATIONS, MIGRATIONS_TABLE
from custlens.warehouse._spark import SPARK_TABLES, connect_spark, export_parquet, spark_workspace, start_spark
from custlens.warehouse._workspace import (
    AUDIT_DIR,
    STAGING_DIR,
    Workspace,
    WorkspaceSettings,
    reading,
    write_settings,
)

__all__ = [
    "Workspace",
    "WorkspaceSettings",
    "connect_spark",
    "start_spark",
    "export_parquet",
    "spark_workspace",
    "SPARK_TABLES",
    "LEDGER_TABLE",
    "STAGING_DIR",
    "AUDIT_DIR",
    "write_settings",
    "reading",
    "private_dir",
    "private_file",
    "MIGRATIONS",
    "MIGRATIONS_TABLE",
]
