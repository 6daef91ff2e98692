"""Issue 10, defect 1: a second ``Workspace.open`` must never lose a running import.

Before the fix, opening the workspace again in the same process deleted the running
import's staging file; the import then reported success with 0 rows loaded and the ledger
marked the file as imported, so a retry was skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custlens.errors import BackendError
from custlens.ingest import import_file, importer
from custlens.warehouse import STAGING_DIR, Workspace


@pytest.fixture(autouse=True)
def _staged(monkeypatch: pytest.MonkeyPatch) -> None:
    """These files are plain: keep them on the path with a staging file (the one under test)."""
    monkeypatch.setattr(importer, "_load_plain", lambda *args, **kwargs: None)


def _orders(path: Path, n: int) -> Path:
    lines = ["order_id,customer_id,ordered_at,amount"]
    lines += [f"o{i},c{i % 50},2024-01-{1 + i % 28:02d},{10 + i % 7}.5" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_second_open_in_the_same_process_keeps_the_running_import(tmp_path: Path) -> None:
    src = _orders(tmp_path / "orders.csv", 5_000)
    opened: list[int] = []

    def reopen(done: int, total: int) -> None:
        if not opened:
            staged = list((tmp_path / "ws" / STAGING_DIR).glob("import-*"))
            assert staged, "the staging file exists while the import reads"
            with Workspace.open(tmp_path / "ws") as other:  # what the service or a test might do
                opened.append(other.row_counts()["transactions"])
            assert all(p.exists() for p in staged), "a second open removed the running import's staging file"

    with Workspace.init(tmp_path / "ws") as ws:
        report = import_file(ws, src, table="transactions", progress=reopen)
        assert opened == [0]
        assert (report.rows_read, report.rows_loaded) == (5_000, 5_000)
        assert ws.row_counts()["transactions"] == 5_000


def test_a_vanished_staging_file_is_an_error_and_nothing_is_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _orders(tmp_path / "orders.csv", 2_000)
    real = importer._stage_rows

    def then_vandal(*args, **kwargs):  # type: ignore[no-untyped-def]
        counts = real(*args, **kwargs)
        for p in (tmp_path / "ws" / STAGING_DIR).glob("import-*"):
            p.unlink()  # what the second open did before the fix
        return counts

    monkeypatch.setattr(importer, "_stage_rows", then_vandal)
    with Workspace.init(tmp_path / "ws") as ws:
        with pytest.raises(BackendError, match="staging file .* disappeared"):
            import_file(ws, src, table="transactions")
        monkeypatch.setattr(importer, "_stage_rows", real)
        assert ws.row_counts()["transactions"] == 0
        assert ws.raw.execute("SELECT count(*) FROM _import_ledger").fetchall()[0][0] == 0
        # the file is not marked as imported: a retry loads it
        report = import_file(ws, src, table="transactions")
        assert report.status == "loaded" and report.rows_loaded == 2_000


def test_rows_that_do_not_add_up_are_not_committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _orders(tmp_path / "orders.csv", 100)
    real = importer._stage_rows

    def miscounting(*args, **kwargs):  # type: ignore[no-untyped-def]
        read, rejected, blocked, staged = real(*args, **kwargs)
        return read + 1, rejected, blocked, staged

    monkeypatch.setattr(importer, "_stage_rows", miscounting)
    with Workspace.init(tmp_path / "ws") as ws:
        with pytest.raises(BackendError, match="do not add up"):
            import_file(ws, src, table="transactions")
        assert ws.row_counts()["transactions"] == 0
        assert ws.raw.execute("SELECT count(*) FROM _import_ledger").fetchall()[0][0] == 0


def test_orphaned_staging_files_are_removed_held_ones_kept(tmp_path: Path) -> None:
    from custlens.warehouse._files import StagingFile

    Workspace.init(tmp_path / "ws").close()
    folder = tmp_path / "ws" / STAGING_DIR
    folder.mkdir(exist_ok=True)
    orphan = folder / "import-1-dead.parquet"
    orphan.write_bytes(b"left by a killed import")
    with StagingFile(folder, "import") as held:
        held.path.write_bytes(b"in progress")
        Workspace.open(tmp_path / "ws").close()
        assert not orphan.exists()
        assert held.path.exists()
    assert not held.path.exists()
