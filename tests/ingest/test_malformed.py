"""Malformed files generated with Hypothesis: an import either succeeds with consistent
counts or raises a CustlensError, and a failed import never changes the warehouse."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from custlens.errors import CustlensError
from custlens.ingest import import_file
from custlens.warehouse import Workspace

COLUMNS = [
    "order_id",
    "line",
    "customer_id",
    "ordered_at",
    "amount",
    "cost",
    "quantity",
    "channel",
    "return_flag",
    "extra",
]
ODD_CELLS = [
    "",
    "NA",
    "o1",
    "o2",
    "c1",
    "客户",
    "2024-01-05",
    "2024-02-30",
    "05/01/2024",
    "2024-01-05T10:00:00Z",
    "9999-99-99",
    "1",
    "-1",
    "1,234.50",
    "¥1,234.50",
    "1.234,50",
    "$ 12",
    "abc",
    "1e400",
    "nan",
    "true",
    "是",
    '"quoted, comma"',
    '"unterminated',
    "\t",
    "  ",
    "\u00a0",
    "0",
    "2147483648",
    "1.5",
    "-0",
    "(3)",
    "\\N",
    "'",
    ";",
    "\x00",
]
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "latin-1"]


GOOD = {
    "order_id": st.text("abcXYZ0123456789-", min_size=1, max_size=6),
    "line": st.integers(0, 3).map(str),
    "customer_id": st.sampled_from(["c1", "c2", "客户3"]),
    "ordered_at": st.sampled_from(["2024-01-05", "2024-01-05 10:00:00", "2024/02/29"]),
    "amount": st.sampled_from(["1", "-2.5", "1,234.50", "¥3"]),
    "cost": st.sampled_from(["", "0.5"]),
    "quantity": st.sampled_from(["1", "-1", ""]),
    "channel": st.sampled_from(["web", "store", ""]),
    "return_flag": st.sampled_from(["true", "false", ""]),
    "extra": st.text(max_size=4),
}
REQUIRED = ["order_id", "customer_id", "ordered_at", "amount"]


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "structured", "structured", "structured", "empty", "header"]))
    if kind == "random":
        return draw(st.binary(max_size=400))
    if kind == "empty":
        return b""
    extra = draw(st.lists(st.sampled_from(COLUMNS), max_size=5, unique=True))
    if draw(st.integers(0, 3)):  # mostly the required columns are there
        header = REQUIRED + [c for c in extra if c not in REQUIRED]
    else:
        header = extra or ["amount"]
    header = draw(st.permutations(header))
    lines = [",".join(header)]
    if kind == "structured":
        n_rows = draw(st.integers(0, 12))
        odd = draw(st.sampled_from([0.0, 0.05, 0.3]))
        for _ in range(n_rows):
            width = len(header) + draw(st.sampled_from([0] * 8 + [-1, 1]))
            cells = []
            for i in range(width):
                if i < len(header) and draw(st.floats(0, 1)) >= odd:
                    cells.append(draw(GOOD[header[i]]).replace(",", ""))
                else:
                    cells.append(draw(st.sampled_from(ODD_CELLS)))
            lines.append(",".join(cells))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    if draw(st.integers(0, 4)) == 0:  # mixed encodings: each line encoded on its own
        return newline.encode().join(line.encode(draw(st.sampled_from(ENCODINGS)), errors="replace") for line in lines)
    return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


def _snapshot(ws: Workspace) -> tuple:
    tx = ws.raw.sql("SELECT * FROM transactions ORDER BY order_id, line").to_arrow_table()
    ledger = ws.raw.execute("SELECT count(*) FROM _import_ledger").fetchall()[0][0]
    return tx.to_pylist(), ledger


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    content=csv_files(),
    rate=st.sampled_from([0.0, 0.01, 0.5, 1.0]),
    suffix=st.sampled_from([".csv", ".csv", ".txt", ".tsv"]),
)
def test_malformed_files_fail_cleanly_or_load_consistently(
    tmp_path: Path, content: bytes, rate: float, suffix: str
) -> None:
    folder = tmp_path / "ws"
    if not folder.exists():  # one workspace for all examples; it grows with each success
        with Workspace.init(folder) as ws:
            seed = tmp_path / "seed.csv"
            seed.write_text("order_id,customer_id,ordered_at,amount\nS1,c1,2024-01-01,5\n")
            import_file(ws, seed, table="transactions")
    with Workspace.open(folder) as ws:
        before = _snapshot(ws)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / f"input{suffix}"
            src.write_bytes(content)
            try:
                report = import_file(ws, src, table="transactions", max_reject_rate=rate, on_repeat="import")
            except CustlensError as exc:
                event(f"refused: {type(exc).__name__}")
                assert _snapshot(ws) == before  # nothing half-loaded
                return
        after = _snapshot(ws)
    event("loaded some rows" if report.rows_loaded else "loaded nothing")
    assert report.rows_read == report.rows_loaded + report.rows_rejected + report.rows_duplicate
    assert report.reject_rate <= rate
    assert len(after[0]) == len(before[0]) + report.rows_loaded
    assert after[1] == before[1] + 1
    if report.rows_rejected or report.rows_duplicate:
        assert report.quarantine_path is not None and Path(report.quarantine_path).is_file()
