"""Rewriting the database file so that no freed page keeps deleted or overwritten values.

DuckDB reuses freed blocks but does not clear them: after an ``UPDATE`` or ``DELETE`` the
old values stay readable in the file (``VACUUM`` does not change that). An erasure must
leave nothing behind, so :func:`compact_database` copies every table into a fresh file and
puts it in place of the old one (the connection of the workspace is reopened).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from custlens.warehouse._files import private_file

if TYPE_CHECKING:
    from custlens.warehouse._workspace import Workspace

__all__ = ["compact_database"]


def compact_database(workspace: Workspace) -> None:
    """Copy the warehouse into a new file, replace the old file with it and reconnect.

    Ibis tables taken from the workspace before the call are bound to the old connection;
    take them again afterwards.
    """
    from custlens.warehouse._workspace import _connect

    db = workspace.database_path
    fresh = db.with_name(db.name + ".compact")
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    raw = workspace.raw
    raw.execute("CHECKPOINT")
    name = raw.execute("SELECT current_database()").fetchall()[0][0]
    literal = str(fresh).replace("'", "''")
    raw.execute(f"ATTACH '{literal}' AS _custlens_compact")
    try:
        raw.execute(f'COPY FROM DATABASE "{name}" TO _custlens_compact')
    finally:
        raw.execute("DETACH _custlens_compact")
    private_file(fresh)
    workspace.con.disconnect()
    os.replace(fresh, db)
    db.with_name(db.name + ".wal").unlink(missing_ok=True)
    workspace.con = _connect(db, workspace.settings, workspace.read_only)
    workspace.con.con.execute("SET enable_progress_bar = false")
