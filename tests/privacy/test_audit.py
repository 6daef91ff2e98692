"""The audit log is append-only and hash-chained: any edit or removal is detected."""

from __future__ import annotations

import json
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
