"""An import killed with SIGKILL leaves the warehouse exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from custlens.ingest import import_file
from custlens.warehouse import Workspace

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent("""
    import sys
    from custlens.ingest import import_file, importer
    from custlens.warehouse import Workspace

    if sys.argv[3] == "usual":  # the batches and the staging file, not the one-pass insert
        importer._load_plain = lambda *args, **kwargs: None

    def report(done, total):
        print(f"{done} {total}", flush=True)

    with Workspace.open(sys.argv[1]) as ws:
        import_file(ws, sys.argv[2], table="transactions", progress=report)
    print("finished", flush=True)
""")


def _big_csv(path: Path, n: int) -> None:
    rng = np.random.default_rng(7)
    ids = np.arange(n)
    table = pa.table(
        {
            "order_id": pa.array(np.char.add("K", ids.astype(str))),
            "customer_id": pa.array(np.char.add("c", (ids % 5000).astype(str))),
            "ordered_at": pa.array(
                (np.datetime64("2024-01-01T00:00:00", "s") + rng.integers(0, 86400 * 365, n)).astype("datetime64[s]")
            ),
            "amount": np.round(rng.gamma(2.0, 30.0, n), 2),
        }
    )
    pacsv.write_csv(table, path)


def _state(ws_path: Path) -> tuple:
    with Workspace.open(ws_path) as ws:
        tx = ws.raw.sql("SELECT * FROM transactions ORDER BY order_id").to_arrow_table()
        ledger = ws.raw.sql("SELECT import_id, sha256 FROM _import_ledger ORDER BY 1").fetchall()
        return tx.to_pylist(), ledger


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.csv"
    _big_csv(path, 1_000_000)
    return path


@pytest.mark.parametrize(
    ("path", "kill_at"),
    [("usual", 0.3), ("usual", 1.0), ("one-pass", 0.3), ("one-pass", 0.8)],
    ids=["while-reading", "after-reading", "one-pass-early", "one-pass-late"],
)
def test_sigkill_mid_import_leaves_the_warehouse_unchanged(
    tmp_path: Path, big_csv: Path, path: str, kill_at: float
) -> None:
    """Killed while the file is read (or, one pass, inserted) and after it (usual path: during the key checks)."""
    ws_path = tmp_path / "ws"
    seed = tmp_path / "seed.csv"
    seed.write_text("order_id,customer_id,ordered_at,amount\nS1,c1,2024-01-01,5\nS2,c2,2024-01-02,7\n")
    with Workspace.init(ws_path) as ws:
        import_file(ws, seed, table="transactions")
    before = _state(ws_path)

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ws_path), str(big_csv), path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    killed = False
    for line in child.stdout:
        if line.startswith("finished"):
            break
        done, total = map(int, line.split())
        if done >= kill_at * total:
            if kill_at >= 1.0:
                time.sleep(0.2)  # into the key checks and the commit statement
            child.send_signal(signal.SIGKILL)
            killed = True
            break
    child.wait(timeout=120)
    assert killed and child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""

    assert _state(ws_path) == before
    assert not list((ws_path / "tmp").glob("*.parquet")), "a killed import's staging file was left"
    # the workspace still works: a later import commits
    later = tmp_path / "later.csv"
    later.write_text("order_id,customer_id,ordered_at,amount\nL1,c1,2024-03-01,1\n")
    with Workspace.open(ws_path) as ws:
        assert import_file(ws, later, table="transactions").rows_loaded == 1
        assert ws.row_counts()["transactions"] == len(before[0]) + 1
