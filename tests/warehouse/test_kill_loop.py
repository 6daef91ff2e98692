"""kill -9 at random points of imports, the commit included: the warehouse always opens with
the rows it had or with the whole file, never part of it, and no personal data is left in plain
text (issue 10)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from custlens.privacy import init_workspace
from custlens.warehouse import STAGING_DIR, Workspace

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent("""
    import sys, time
    from custlens.ingest import import_file
    from custlens.warehouse import Workspace

    with Workspace.open(sys.argv[1], key_file=sys.argv[4]) as ws:
        print("opened", time.monotonic(), flush=True)
        import_file(ws, sys.argv[2], table=sys.argv[3], progress=lambda d, t: print("read", time.monotonic(), flush=True))
        print("imported", time.monotonic(), flush=True)
    print("closed", time.monotonic(), flush=True)
""")
N = 40_000
MARK = "Kill-Canary-"


def _orders(path: Path, prefix: str) -> Path:
    lines = ["order_id,customer_id,ordered_at,amount"]
    lines += [f"{prefix}{i},c{i % 997},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{1 + i % 50}.25" for i in range(N)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _identity(path: Path, prefix: str) -> Path:
    lines = ["customer_id,name,phone,email"]
    lines += [f"{prefix}{i},{MARK}{prefix}{i},1380000{i:04d},{prefix}{i}@kill.example" for i in range(N // 4)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(ws: Path, src: Path, table: str, key: Path) -> subprocess.Popen[str]:
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ws), str(src), table, str(key)], stdout=subprocess.PIPE, text=True, env=env
    )


def _counts(ws_path: Path, key: Path) -> tuple[int, int, int]:
    with Workspace.open(ws_path, key_file=key) as ws:
        assert not list((ws_path / STAGING_DIR).glob("import-*")), "an orphaned staging file survived the open"
        tx = ws.raw.execute("SELECT count(*) FROM transactions").fetchall()[0][0]
        ident = ws.raw.execute("SELECT count(*) FROM identity").fetchall()[0][0]
        ledger = ws.raw.execute("SELECT count(*) FROM _import_ledger").fetchall()[0][0]
    return int(tx), int(ident), int(ledger)


def test_kill_nine_at_twenty_random_points_never_leaves_part_of_a_file(tmp_path: Path) -> None:
    key = tmp_path / "ws.key"
    ws_path = tmp_path / "ws"
    init_workspace(ws_path, key_file=key).close()
    # calibrate: when does a child open, finish reading, commit, close?
    proc = _run(ws_path, _orders(tmp_path / "cal.csv", "cal"), "transactions", key)
    start = time.monotonic()
    marks = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        what, when = line.split()
        marks.setdefault(what, float(when) - start)
        marks[what + "_last"] = float(when) - start
    assert proc.wait() == 0 and "imported" in marks
    read_end, imported = marks["read_last"], marks["imported"]
    rng = random.Random(10)
    points = [rng.uniform(0.0, imported * 1.1) for _ in range(14)]
    points += [rng.uniform(read_end, imported) for _ in range(8)]  # the key checks, the insert, the commit
    rng.shuffle(points)
    tx, ident, ledger = _counts(ws_path, key)
    outcomes = {"before": 0, "after": 0}
    for i, delay in enumerate(points):
        table = "identity" if i % 3 == 0 else "transactions"
        src = (_identity if table == "identity" else _orders)(tmp_path / f"f{i}.csv", f"k{i}x")
        proc = _run(ws_path, src, table, key)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        leftovers = list((ws_path / STAGING_DIR).glob("import-*"))
        for staged in leftovers:  # what a kill leaves in tmp/ is ciphertext only
            assert MARK.encode() not in staged.read_bytes()
        now = _counts(ws_path, key)
        rows = N if table == "transactions" else N // 4
        grew = (now[0] - tx) + (now[1] - ident)
        assert grew in (0, rows), f"kill at {delay:.2f}s left {grew} of {rows} rows"
        assert now[2] - ledger == (1 if grew else 0), "rows and ledger disagree"
        outcomes["after" if grew else "before"] += 1
        tx, ident, ledger = now
    assert outcomes["before"] and outcomes["after"], outcomes  # kills landed before and after the commit
    hits = [p for p in ws_path.rglob("*") if p.is_file() and MARK.encode() in p.read_bytes()]
    assert hits == []
