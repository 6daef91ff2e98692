"""Workspace files are private (0700/0600) and the user's own files beside them are left alone (issue 10)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from custlens.ingest import import_file
from custlens.warehouse import Workspace


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_workspace_entries_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with Workspace.init(tmp_path / "ws") as ws:
            src = tmp_path / "tx.csv"
            src.write_text("order_id,customer_id,ordered_at,amount\no1,c1,2024-01-01,x\no2,c1,2024-01-02,5\n")
            import_file(ws, src, table="transactions", max_reject_rate=1)
        entries = [p for p in (tmp_path / "ws").rglob("*")]
        assert any(p.parent.name == "quarantine" for p in entries)
        for path in [tmp_path / "ws", *entries]:
            assert _mode(path) & 0o077 == 0, f"{path}: {_mode(path):04o}"
    finally:
        os.umask(old)


def test_the_users_own_files_in_a_workspace_folder_keep_their_modes(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    script = folder / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    Workspace.init(folder).close()
    Workspace.open(folder).close()
    assert _mode(script) == 0o755
    assert _mode(folder / "warehouse.duckdb") == 0o600
