"""Key rotation re-encrypts everything under a new key, all or nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from custlens.errors import ConfigError
from custlens.privacy import _rotate as rotation
from custlens.privacy import correct, read_identity, read_key_file, rotate_key
from custlens.privacy._keys import pending_file, workspace_key
from custlens.warehouse import Workspace


def _state(ws: Workspace) -> list[tuple]:
    return ws.raw.execute("SELECT * FROM identity ORDER BY customer_id").fetchall()


def test_rotation_re_encrypts_everything_and_retires_the_old_key(ws: Workspace, tmp_path: Path) -> None:
    correct(ws, "c2", {"phone": "13900000002"}, reason="moved")
    before = read_identity(ws, ["c1", "c2", "c3"])
    old_key = read_key_file(tmp_path / "ws.key")
    old_rows = _state(ws)
    result = rotate_key(ws)
    assert result["identity_rows"] == 3 and result["history_rows"] == 1
    new_key = read_key_file(tmp_path / "ws.key")
    assert new_key.key_id != old_key.key_id and new_key.erasure == old_key.erasure
    assert stat.S_IMODE((tmp_path / "ws.key").stat().st_mode) == 0o600
    assert read_identity(ws, ["c1", "c2", "c3"]) == before
    assert all(a != b for a, b in zip(old_rows, _state(ws)))  # every row's ciphertexts changed
    with pytest.raises(ConfigError, match="not the key of workspace"):
        read_identity(ws, ["c1"], key=None, key_file=_write_old(tmp_path, old_key))
    from custlens.privacy import export_person, find_customers

    assert export_person(ws, "c2")["identity_history"][0]["old_value"] == "13800000002"
    assert find_customers(ws, phone="13900000002") == ["c2"]


def _write_old(tmp_path: Path, key: object) -> Path:
    from custlens.privacy._keys import write_key_file

    return write_key_file(tmp_path / "old.key", key)  # type: ignore[arg-type]


def test_a_failure_during_rotation_changes_nothing(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_text = (tmp_path / "ws.key").read_text()
    rows = _state(ws)

    def fail(*args: object) -> int:
        raise RuntimeError("disk full (simulated) after the identity rows were re-encrypted")

    monkeypatch.setattr(rotation, "_rekey_history", fail)
    with pytest.raises(RuntimeError, match="simulated"):
        rotate_key(ws)
    assert (tmp_path / "ws.key").read_text() == key_text
    assert not pending_file(tmp_path / "ws.key").exists()
    assert _state(ws) == rows
    assert read_identity(ws, ["c1"], ["name"]) == {"c1": {"name": "Alice Canary-7Q1"}}


def test_a_rotation_killed_between_commit_and_key_file_rename_completes_on_next_use(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = Path.replace

    def die_on_key_rename(self: Path, target: Path) -> Path:  # type: ignore[override]
        if self.name.endswith(".key.new"):
            raise KeyboardInterrupt  # the process is killed right after the commit
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", die_on_key_rename)
    with pytest.raises(KeyboardInterrupt):
        rotate_key(ws)
    monkeypatch.setattr(Path, "replace", real_replace)
    assert pending_file(tmp_path / "ws.key").exists()
    key = workspace_key(ws)  # finds the committed new key and finishes the rotation
    assert not pending_file(tmp_path / "ws.key").exists()
    assert read_key_file(tmp_path / "ws.key").key_id == key.key_id
    assert read_identity(ws, ["c3"], ["contact_person"]) == {"c3": {"contact_person": "Li Canary-7Q3"}}


def test_a_rotation_that_failed_before_commit_leaves_the_old_key_in_force(ws: Workspace, tmp_path: Path) -> None:
    from custlens.privacy import KeyRing
    from custlens.privacy._keys import write_key_file

    write_key_file(pending_file(tmp_path / "ws.key"), KeyRing.generate())  # left by a killed rotation
    assert read_identity(ws, ["c1"], ["name"]) == {"c1": {"name": "Alice Canary-7Q1"}}
    assert not pending_file(tmp_path / "ws.key").exists()
