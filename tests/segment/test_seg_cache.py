"""``SegmentResult.cache()``: the per-customer table computed once, then read as a table.

It goes through :func:`custlens.warehouse.compat.materialise`, as the analysis pipeline's
results do: on DuckDB a temporary table of its own that refers to none of the inputs (an
in-memory one, such as k-means' labels, can be let go) and is dropped with the result; on
Spark Ibis' cache, as before.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from custlens.segment import SegmentResult, rule_segments
from custlens.warehouse import compat
from custlens.warehouse.compat import register_arrow

RULES = {"rule": [{"name": "big", "when": "revenue > 100"}, {"name": "often", "when": "order_count >= 3"}]}


def _inputs(backend: object) -> tuple[ir.Table, ir.Table]:
    """Features on the engine and an in-memory table of revenues, joined (as a labelled result is)."""
    ids = [f"c{i:03d}" for i in range(60)]
    base = register_arrow(
        backend, "cache_base", pa.table({"customer_id": ids, "order_count": [i % 5 for i in range(60)]})
    )
    mem = ibis.memtable(pa.table({"customer_id": ids, "revenue": [float(i * 7 % 230) for i in range(60)]}))
    return base.join(mem, "customer_id"), mem


def _rows(result: SegmentResult) -> tuple[list[dict], list[dict]]:
    customers = result.customers.to_pyarrow().sort_by("customer_id").to_pylist()
    return customers, result.summary.to_pyarrow().sort_by("segment").to_pylist()


def test_cached_result_equals_the_result(backend: object) -> None:
    joined, _ = _inputs(backend)
    result = rule_segments(joined, RULES)
    cached = result.cache()
    assert (cached.method, cached.columns, cached.spec, cached.details) == (
        result.method,
        result.columns,
        result.spec,
        result.details,
    )
    assert _rows(cached) == _rows(result)
    assert compat.backend_of(cached.table) is backend  # a table on the same engine, not a copy in memory


def test_cached_result_lets_go_of_in_memory_inputs_and_drops_its_table() -> None:
    con = ibis.duckdb.connect()
    joined, mem = _inputs(con)
    probe = weakref.ref(mem.op())
    result = rule_segments(joined, RULES)
    expected = _rows(result)
    cached = result.cache()
    del joined, mem, result
    gc.collect()
    assert probe() is None  # Ibis' own cache kept the in-memory input as long as the result lived
    assert _rows(cached) == expected
    name = cached.table.op().name
    assert compat.table_exists(con, name)
    del cached
    gc.collect()
    assert not compat.table_exists(con, name)  # dropped with the result


def test_cached_result_outliving_its_workspace_is_quiet(tmp_path: Path) -> None:
    """Released after ``Workspace.close()`` (and at exit), its table's drop fails quietly."""
    code = (
        "import gc\n"
        "from custlens.segment import rule_segments\n"
        "from custlens.warehouse import Workspace\n"
        f"ws = Workspace.init({str(tmp_path / 'ws')!r})\n"
        "result = rule_segments(ws.table('customers'), [{'name': 'personal', 'when': \"customer_type = 'personal'\"}])\n"
        "cached = result.cache()\n"
        "kept = result.cache()\n"
        "assert cached.customers.count().execute() == 0\n"
        "ws.close()\n"
        "del cached\n"
        "gc.collect()\n"  # `kept` is released at exit
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_in_memory_results_stay_in_memory() -> None:
    """A result of in-memory tables only (as k-means' is) is not bound to a backend by caching."""
    data = pa.table({"customer_id": ["a", "b", "c"], "revenue": [1.0, 200.0, 5.0], "order_count": [1, 1, 4]})
    result = rule_segments(data, RULES)
    cached = result.cache()
    assert cached.table is result.table and compat.backend_of(cached.table) is None
    assert _rows(cached) == _rows(result)
