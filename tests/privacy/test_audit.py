"""The audit log is append-only and hash-chained: any edit or removal is detected."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.errors import InputError
from custlens.privacy import audit, read_identity
from custlens.warehouse import Workspace


def _log(ws: Workspace) -> Path:
    return ws.path / "audit" / "audit.jsonl"


def _three(ws: Workspace) -> None:
    audit.record(ws, "login", actor="api:alice", purpose="daily work")
    audit.record(ws, "role.change", actor="api:admin", subject="user:bob", details={"role": "sales"})
    audit.record(ws, "export", actor="cli:carol", subject="/tmp/list.csv", details={"customers": 12})


def test_reads_exports_and_keys_are_recorded_and_the_chain_verifies(ws: Workspace) -> None:
    read_identity(ws, ["c1"], ["phone"], actor="api:alice", purpose="complaint 381")
    _three(ws)
    entries = audit.show(ws)
    assert [e["action"] for e in entries] == ["key.create", "import", "identity.read", "login", "role.change", "export"]
    assert entries[1]["details"]["rows_loaded"] == 3  # who brought personal data in
    read = entries[2]
    assert read["actor"] == "api:alice" and read["purpose"] == "complaint 381"
    assert read["subject"].startswith("cust:") and '"c1"' not in json.dumps(read)  # the id is never written
    assert audit.verify(ws).ok and audit.verify(ws).entries == 6
    assert [e["action"] for e in audit.show(ws, action="key")] == ["key.create"]
    assert [e["seq"] for e in audit.show(ws, actor="api:admin")] == [5]
    assert audit.show(ws, since="2999-01-01") == []
    with pytest.raises(InputError, match="unknown audit action"):
        audit.record(ws, "coffee")


@pytest.mark.parametrize("tamper", ["edit", "delete_middle", "delete_last", "reorder", "insert", "garbage"])
def test_verify_detects_a_tampered_log(ws: Workspace, tamper: str) -> None:
    _three(ws)
    lines = _log(ws).read_text(encoding="utf-8").splitlines(keepends=True)
    if tamper == "edit":
        lines[2] = lines[2].replace("api:alice", "api:mallory")
        assert "api:mallory" in lines[2]
    elif tamper == "delete_middle":
        del lines[2]
    elif tamper == "delete_last":
        del lines[-1]
    elif tamper == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
    elif tamper == "insert":
        fake = json.loads(lines[1])
        fake["actor"] = "api:mallory"
        lines.insert(2, json.dumps(fake) + "\n")
    else:
        lines[1] = "not json\n"
    _log(ws).write_text("".join(lines), encoding="utf-8")
    result = audit.verify(ws)
    assert not result.ok and result.problem
    out = CliRunner().invoke(app, ["audit", "verify", "-w", str(ws.path)])
    assert out.exit_code == 1 and "broken" in out.output


def test_cli_show_filters_and_verify_passes(ws: Workspace) -> None:
    _three(ws)
    ok = CliRunner().invoke(app, ["audit", "verify", "-w", str(ws.path)])
    assert ok.exit_code == 0 and "5 entries, chain intact" in ok.output
    shown = CliRunner().invoke(app, ["audit", "show", "-w", str(ws.path), "--action", "role", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert [e["subject"] for e in json.loads(shown.stdout)["entries"]] == ["user:bob"]
    bad = CliRunner().invoke(app, ["audit", "show", "-w", str(ws.path), "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since must be an ISO date" in bad.output


def test_the_head_is_rewritten_in_place_and_a_lagging_head_is_reported(ws: Workspace) -> None:
    _three(ws)
    head = ws.path / "audit" / "head.json"
    assert head.stat().st_size == 128 and json.loads(head.read_text())["count"] == 5
    entries = audit.show(ws)
    # a power loss after an append but before its head reached the disk: the head lags
    head.write_text(json.dumps({"count": 4, "hash": entries[3]["hash"]}))
    result = audit.verify(ws)
    assert not result.ok and "entries after the head" in result.problem
    audit.record(ws, "login", actor="api:alice")  # the next append writes the head whole again
    assert head.stat().st_size == 128
    assert audit.verify(ws).ok and audit.verify(ws).entries == 7 - 1


def test_concurrent_appends_share_syncs_and_each_returns_its_synced_entry(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []  # entries in the log at each sync
    real_sync = audit._sync

    def slow_sync(fd: int) -> None:
        time.sleep(0.02)  # a slow disk: appends pile up behind the one being synced
        real_sync(fd)
        synced.append(len(_log(ws).read_text(encoding="utf-8").splitlines()))

    monkeypatch.setattr(audit, "_sync", slow_sync)
    before = audit.verify(ws).entries
    returned: dict[int, dict] = {}

    def one(i: int) -> None:
        entry = audit.record(ws, "login", actor=f"api:user{i}")
        # returned only after a sync that covered this entry
        assert synced and synced[-1] >= entry["seq"]
        returned[i] = entry

    threads = [threading.Thread(target=one, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(returned) == 24
    assert sorted(e["seq"] for e in returned.values()) == list(range(before + 1, before + 25))
    assert len(synced) < 24  # entries waiting together were synced together
    result = audit.verify(ws)
    assert result.ok and result.entries == before + 24
    entries = audit.show(ws)[before:]
    assert {e["actor"] for e in entries} == {f"api:user{i}" for i in range(24)}
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)  # times follow the chain
    assert all(returned[int(e["actor"].removeprefix("api:user"))] == e for e in entries)


def test_a_failed_group_write_fails_every_caller_in_it_and_the_log_stays_whole(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, gate = threading.Event(), threading.Event()
    calls: list[int] = []
    real_append = audit._append

    def failing(folder: Path, batch: list[dict]) -> list[dict]:
        calls.append(len(batch))
        if len(calls) == 1:
            entered.set()
            gate.wait(10)  # hold the first write until the others wait behind it
            raise OSError(28, "No space left on device")
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_append(folder, batch)

    monkeypatch.setattr(audit, "_append", failing)
    before = audit.verify(ws).entries
    errors: list[BaseException] = []

    def one() -> None:
        try:
            audit.record(ws, "login", actor="api:alice")
        except OSError as exc:
            errors.append(exc)

    first = threading.Thread(target=one)
    first.start()
    assert entered.wait(10)
    rest = [threading.Thread(target=one) for _ in range(5)]
    for t in rest:
        t.start()
    committer = audit._committer(ws.path / "audit")
    deadline = time.monotonic() + 10
    while len(committer.waiting) < 5 and time.monotonic() < deadline:
        time.sleep(0.001)
    gate.set()
    for t in [first, *rest]:
        t.join()
    assert calls[:2] == [1, 5] and len(errors) == 6  # the second group (the five) failed together
    assert audit.verify(ws).ok and audit.verify(ws).entries == before
    audit.record(ws, "logout", actor="api:alice")  # the log takes entries again
    assert audit.verify(ws).entries == before + 1
