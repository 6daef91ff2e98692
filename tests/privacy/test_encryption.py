"""Identity fields are encrypted at rest; the blind index finds them; the key lives outside."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from custlens.errors import ConfigError, InputError
from custlens.ingest import import_file
from custlens.privacy import find_customers, init_workspace, read_identity
from custlens.warehouse import Workspace

from .conftest import IDENTITY, MARKERS, scan, write


def test_init_creates_the_key_outside_the_workspace_with_mode_0600(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "shop") as ws:
        key_file = Path(ws.settings.extra["privacy"]["key_file"])
    assert key_file == (tmp_path / "shop.key").resolve()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not any(p.name.endswith(".key") for p in (tmp_path / "shop").rglob("*"))
    with pytest.raises(InputError, match="must not be inside the workspace"):
        init_workspace(tmp_path / "other", key_file=tmp_path / "other" / "k.key")
    assert not (tmp_path / "other" / "workspace.toml").exists()


def test_workspace_files_and_folders_are_private(ws: Workspace) -> None:
    ws.close()
    for path in [ws.path, *ws.path.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} has mode {mode:04o}"


def test_the_database_holds_no_personal_value_in_plain_text(ws: Workspace) -> None:
    rows = ws.raw.execute("SELECT name, phone, email, address FROM identity").fetchall()
    assert all(v is None or v.startswith("v1.") for row in rows for v in row)
    ws.raw.execute("CHECKPOINT")
    assert scan(ws.path) == []


def test_read_identity_decrypts_and_find_customers_uses_the_blind_index(ws: Workspace) -> None:
    got = read_identity(ws, ["c1", "c3", "nobody"], ["name", "contact_person", "phone"])
    assert got == {
        "c1": {"name": "Alice Canary-7Q1", "contact_person": None, "phone": "+86 138 0000 0001"},
        "c3": {"name": "Chen Canary-7Q3", "contact_person": "Li Canary-7Q3", "phone": "13800000003"},
    }
    assert find_customers(ws, email="  ALICE.Canary7Q1@example.com ") == ["c1"]
    assert find_customers(ws, phone="+86-138-0000-0001") == ["c1"]
    assert find_customers(ws, phone="0086 138 0000 0001") == ["c1"]
    assert find_customers(ws, phone="138 0000 0002") == ["c2"]
    assert find_customers(ws, email="nobody@example.com") == []
    with pytest.raises(InputError, match="'fields'.*'phonenumber'"):
        read_identity(ws, ["c1"], ["phonenumber"])
    # a long list of ids (one query on an id list) reads what a short one (point look-ups) reads
    many = ["c3", "c1", *(f"none{i}" for i in range(100))]
    assert read_identity(ws, many, ["name", "contact_person", "phone"], audit_read=False) == got


def test_reimporting_the_same_identity_file_gives_duplicates_not_conflicts(ws: Workspace, tmp_path: Path) -> None:
    report = import_file(ws, tmp_path / "identity.csv", table="identity", on_repeat="import")
    assert (report.rows_loaded, report.rows_duplicate, report.rows_rejected) == (0, 3, 0)
    changed = write(tmp_path / "changed.csv", IDENTITY.replace("13800000002", "13800000009"))
    report = import_file(ws, changed, table="identity", max_reject_rate=1)
    assert report.rows_rejected == 1 and report.rows_duplicate == 2


def test_a_ciphertext_moved_to_another_row_or_altered_does_not_decrypt(ws: Workspace) -> None:
    ws.raw.execute(
        "UPDATE identity SET name = (SELECT name FROM identity WHERE customer_id = 'c2') WHERE customer_id = 'c1'"
    )
    with pytest.raises(ConfigError, match=r"identity.name of customer 'c1' does not decrypt"):
        read_identity(ws, ["c1"], ["name"])
    token = ws.raw.execute("SELECT phone FROM identity WHERE customer_id = 'c2'").fetchall()[0][0]
    ws.raw.execute("UPDATE identity SET phone = ? WHERE customer_id = 'c2'", [token[:-6] + "AAAAAA"])
    with pytest.raises(ConfigError, match="does not decrypt"):
        read_identity(ws, ["c2"], ["phone"])


def test_quarantine_of_identity_rows_keeps_line_and_reason_only(ws: Workspace, tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.csv",
        'customer_id,name,phone\nc9,Zed Canary-7Q9\x00,13800000009\n,Nameless Canary-7Q8,13800000008\nc7,"broken,line\n',
    )
    report = import_file(ws, bad, table="identity", max_reject_rate=1)
    assert report.rows_rejected >= 2
    text = Path(report.quarantine_path or "").read_text(encoding="utf-8")
    assert "Canary" not in text and "1380000000" not in text
    assert "control character" in text and "missing required value" in text


def test_a_wrong_or_missing_key_is_refused_before_anything_is_decrypted(ws: Workspace, tmp_path: Path) -> None:
    from custlens.privacy import create_key_file

    create_key_file(tmp_path / "stranger.key")
    with pytest.raises(ConfigError, match="not the key of workspace"):
        read_identity(ws, ["c1"], key_file=tmp_path / "stranger.key")
    os.chmod(tmp_path / "stranger.key", 0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        read_identity(ws, ["c1"], key_file=tmp_path / "stranger.key")
    with pytest.raises(ConfigError, match="no such key file"):
        read_identity(ws, ["c1"], key_file=tmp_path / "missing.key")


def test_a_workspace_without_a_key_refuses_identity_imports(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "bare") as ws:
        with pytest.raises(ConfigError, match="no encryption key.*custlens keys create"):
            import_file(ws, write(tmp_path / "identity.csv", IDENTITY), table="identity")
        assert ws.row_counts()["identity"] == 0
    assert scan(tmp_path / "bare", MARKERS) == []


def test_a_killed_identity_import_leaves_no_personal_data_in_tmp(ws: Workspace, tmp_path: Path) -> None:
    """Staged identity rows are already encrypted: what a SIGKILL leaves in tmp/ is ciphertext."""
    from custlens.ingest import importer

    seen: list[bytes] = []
    real = importer._load

    def inspect_then_die(workspace, target, stage, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(Path(stage).read_bytes())
        raise KeyboardInterrupt  # stands for the kill: the staged file is what would stay

    importer._load = inspect_then_die  # type: ignore[assignment]
    try:
        more = write(
            tmp_path / "more.csv", IDENTITY.replace("c1,", "c11,").replace("c2,", "c12,").replace("c3,", "c13,")
        )
        with pytest.raises(KeyboardInterrupt):
            import_file(ws, more, table="identity")
    finally:
        importer._load = real  # type: ignore[assignment]
    assert seen and all(marker.encode() not in seen[0] for marker in MARKERS)


def test_a_service_thread_reads_on_its_own_cursor_with_a_key_loaded_once(ws: Workspace) -> None:
    import threading

    from custlens.privacy import workspace_key

    key = workspace_key(ws)
    results: list[dict] = []

    def worker(cid: str) -> None:
        cursor = ws.raw.cursor()
        results.append(read_identity(ws, [cid], ["email"], key=key, connection=cursor, actor="api:test"))
        assert find_customers(
            ws, email=f"{'alice' if cid == 'c1' else 'bob'}.canary7q{cid[1]}@example.com", key=key, connection=cursor
        ) == [cid]

    threads = [threading.Thread(target=worker, args=(c,)) for c in ("c1", "c2") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and {r.popitem()[1]["email"] for r in results} == {
        "alice.canary7q1@example.com",
        "bob.canary7q2@example.com",
    }
