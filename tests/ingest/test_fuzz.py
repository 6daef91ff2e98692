"""Fuzzing the readers and the mapping parser (Hypothesis): hostile bytes and documents give a
custlens error or a clean import, never a crash, and an import's rows always add up.

CI runs a small budget. A longer run (documented in docs/privacy.md)::

    CUSTLENS_FUZZ_EXAMPLES=1500 PYTHONPATH=src python -m pytest tests/ingest/test_fuzz.py -p no:cacheprovider  # ~50 min
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens.errors import CustlensError
from custlens.ingest import import_file, parse_mapping, read_table
from custlens.warehouse import Workspace

BUDGET = int(os.environ.get("CUSTLENS_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=BUDGET, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = st.sampled_from(
    ["table", "source", "columns", "constants", "values", "encoding", "delimiter", "sheet", "skip_rows",
     "date_format", "timezone", "decimal", "thousands", "currency_symbols", "null_values", "true_values",
     "order_id", "amount", "ordered_at", "customer_id", "x", "", "constant"]
)  # fmt: skip
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=12))
DOCS = st.recursive(
    st.dictionaries(KEYS, LEAVES, max_size=4),
    lambda inner: st.one_of(st.dictionaries(KEYS, inner, max_size=4), st.lists(inner, max_size=3)),
    max_leaves=20,
)


@FUZZ
@given(DOCS)
def test_mapping_parser_gives_a_config_error_or_a_mapping(doc: Any) -> None:
    from custlens.schema import table

    if not isinstance(doc, dict):
        doc = {"columns": doc}
    try:
        mapping = parse_mapping(doc)
        mapping.check(table("transactions"))
    except CustlensError:
        pass


CELLS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=5), min_size=0, max_size=12)


def _csv(rows: list[list[str]]) -> str:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n\r') else v

    header = "order_id,customer_id,ordered_at,amount"
    return header + "\n" + "\n".join(",".join(cell(v) for v in row) for row in rows) + "\n"


@FUZZ
@given(ROWS, st.sampled_from(["utf-8", "gb18030", "latin-1"]))
def test_import_of_hostile_text_adds_up_or_fails_cleanly(rows: list[list[str]], encoding: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        try:
            path.write_bytes(_csv(rows).encode(encoding))
        except UnicodeEncodeError:
            path.write_bytes(_csv(rows).encode("utf-8"))
        with Workspace.init(Path(tmp) / "ws") as ws:
            try:
                report = import_file(ws, path, table="transactions", max_reject_rate=1)
            except CustlensError:
                assert ws.row_counts()["transactions"] == 0
                return
            assert report.rows_read == report.rows_loaded + report.rows_rejected + report.rows_duplicate
            assert ws.row_counts()["transactions"] == report.rows_loaded


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from([".csv", ".tsv", ".xlsx", ".parquet"]))
def test_readers_on_random_bytes_fail_cleanly(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{suffix}"
        path.write_bytes(data)
        try:
            read_table(path)
        except CustlensError:
            pass
        with Workspace.init(Path(tmp) / "ws") as ws:
            try:
                import_file(ws, path, table="customers", max_reject_rate=1)
            except CustlensError:
                assert ws.row_counts()["customers"] == 0
