"""Fixtures of the privacy tests: a workspace with its key, and a small company with personal data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from custlens.ingest import import_file
from custlens.privacy import init_workspace
from custlens.warehouse import Workspace

IDENTITY = """customer_id,name,contact_person,phone,email,address,postcode
c1,Alice Canary-7Q1,,+86 138 0000 0001,alice.canary7q1@example.com,1 Canary Road 7Q1,100001
c2,Bob Canary-7Q2,,13800000002,bob.canary7q2@example.com,2 Canary Road 7Q2,100002
c3,Chen Canary-7Q3,Li Canary-7Q3,13800000003,chen.canary7q3@example.com,3 Canary Road 7Q3,100003
"""
CUSTOMERS = """customer_id,customer_type,region,consent_marketing,consent_profiling
c1,personal,north,true,true
c2,personal,south,false,true
c3,corporate,north,,false
"""
TRANSACTIONS = """order_id,customer_id,ordered_at,amount
o1,c1,2024-01-05,100
o2,c1,2024-03-05,50
o3,c2,2024-02-01,80
o4,c3,2024-02-11,120
o5,c3,2024-04-11,20
"""
MARKERS = ("Canary-7Q", "canary7q", "Canary Road 7Q", "138 0000 0001", "13800000002", "13800000003")
"""Strings of the identity rows that must never appear in plain text outside the key holder."""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _no_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTLENS_KEY_FILE", raising=False)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace with its key beside it, holding the small company."""
    with init_workspace(tmp_path / "ws", key_file=tmp_path / "ws.key") as workspace:
        for table, text in (("customers", CUSTOMERS), ("identity", IDENTITY), ("transactions", TRANSACTIONS)):
            import_file(workspace, write(tmp_path / f"{table}.csv", text), table=table)
        yield workspace


def scan(folder: Path, needles: tuple[str, ...] = MARKERS) -> list[tuple[str, str]]:
    """(file, marker) for every marker found in any file under ``folder`` (bytes, UTF-8 and UTF-16)."""
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for needle in needles:
            for enc in ("utf-8", "utf-16-le"):
                if needle.encode(enc) in data:
                    hits.append((str(path), needle))
    return hits
