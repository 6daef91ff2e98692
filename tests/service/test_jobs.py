"""The job runner: writes one at a time, in order, each result or one-line error kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from custlens.errors import InputError, NotFoundError
from custlens.service import Service


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[Service]:
    from custlens.warehouse import Workspace

    Workspace.init(tmp_path / "ws").close()
    with Service(tmp_path / "ws") as held:
        yield held


def test_jobs_run_one_at_a_time_in_order(service: Service) -> None:
    running = 0
    most = 0
    order: list[int] = []
    lock = threading.Lock()

    def work(n: int):  # type: ignore[no-untyped-def]
        def run(ws, progress):  # type: ignore[no-untyped-def]
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            progress(0.5, f"half of {n}")
            time.sleep(0.05)
            order.append(n)
            with lock:
                running -= 1
            return {"n": n, "message": f"did {n}"}

        return run

    jobs = [service.jobs.submit("import", "tests", work(n)) for n in range(5)]
    done = [service.jobs.wait(j.job_id, timeout=30) for j in jobs]
    assert most == 1 and order == list(range(5))
    assert [d.status for d in done] == ["done"] * 5 and [d.result for d in done][2] == {"n": 2, "message": "did 2"}
    assert done[0].message == "did 0" and done[0].progress == 1.0
    assert [j.job_id for j in service.jobs.list()] == [j.job_id for j in reversed(jobs)]


def test_a_failing_job_keeps_one_line_and_the_runner_goes_on(service: Service) -> None:
    def bad(ws, progress):  # type: ignore[no-untyped-def]
        raise InputError("column 'x' is wrong;\n  see line 3")

    def boom(ws, progress):  # type: ignore[no-untyped-def]
        raise RuntimeError("kaput")

    first = service.jobs.wait(service.jobs.submit("import", "t", bad).job_id, timeout=30)
    second = service.jobs.wait(service.jobs.submit("import", "t", boom).job_id, timeout=30)
    third = service.jobs.wait(service.jobs.submit("import", "t", lambda ws, p: {"ok": True}).job_id, timeout=30)
    assert first.status == "failed" and first.error == "input: column 'x' is wrong; see line 3"
    assert second.error == "internal: RuntimeError: kaput"
    assert third.status == "done"
    with pytest.raises(NotFoundError, match="no job 'import-99'"):
        service.jobs.get("import-99")


def test_the_writer_sees_and_readers_then_see_its_changes(service: Service) -> None:
    def write(ws, progress):  # type: ignore[no-untyped-def]
        ws.raw.execute("INSERT INTO customers (customer_id, customer_type) VALUES ('W1', 'personal')")
        return {}

    service.jobs.wait(service.jobs.submit("import", "t", write).job_id, timeout=30)
    rows = service.cursor().execute("SELECT customer_id FROM customers").fetchall()
    assert rows == [("W1",)]


def test_indexes_are_created(service: Service) -> None:
    from custlens.service import INDEXED_TABLES

    names = {r[0] for r in service.cursor().execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    assert {f"custlens_{t}_customer_id" for t in INDEXED_TABLES} <= names
