"""Background jobs: uploads imported on the one writer, analysis runs, and the CLI refused meanwhile."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from .conftest import Clients

pytestmark = pytest.mark.xdist_group("api")


def _csv(rows: int, start: int = 0) -> bytes:
    ids = [f"N{start + i:07d}" for i in range(rows)]
    table = pa.table({"customer_id": ids, "customer_type": ["personal"] * rows, "region": ["east_china"] * rows})
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return buf.getvalue()


def _upload(clients: Clients, content: bytes, name: str = "new.csv", table: str = "customers", **form: str) -> dict:
    response = clients.client.post(
        "/api/v1/imports",
        data={"table": table, **form},
        files={"file": (name, content, "text/csv")},
        headers=clients.headers("analyst"),
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_import_job_reports_and_keeps_its_result(fresh: Clients) -> None:
    before = fresh.service.workspace.row_counts()["customers"]
    job = _upload(fresh, _csv(50))
    assert job["status"] in ("queued", "running", "done") and job["kind"] == "import"
    done = fresh.service.jobs.wait(job["job_id"], timeout=120)
    assert done.status == "done" and done.progress == 1.0, done.error
    assert done.result is not None and done.result["rows_loaded"] == 50 and done.result["path"] == "new.csv"
    assert fresh.service.workspace.row_counts()["customers"] == before + 50
    listed = fresh.get("analyst", "/api/v1/jobs").json()
    assert listed["total"] == 1 and listed["items"][0]["job_id"] == job["job_id"]
    one = fresh.get("analyst", f"/api/v1/jobs/{job['job_id']}").json()
    assert one["result"]["rows_loaded"] == 50 and one["error"] is None
    assert not list((fresh.workspace / "tmp" / "uploads").glob("*"))  # the upload is removed
    again = fresh.service.jobs.wait(_upload(fresh, _csv(50))["job_id"], timeout=120)
    assert again.status == "done" and again.result is not None and again.result["status"] == "skipped"
    assert fresh.get("analyst", "/api/v1/jobs/import-99").status_code == 404


def test_upsert_through_the_service_updates_by_key_with_history(fresh: Clients) -> None:
    first = fresh.service.jobs.wait(_upload(fresh, _csv(5), name="a.csv")["job_id"], timeout=120)
    assert first.status == "done", first.error
    changed = _csv(5).replace(b"east_china", b"north_china")
    job = _upload(fresh, changed, name="a.csv", mode="upsert")
    assert job["params"]["mode"] == "upsert"
    done = fresh.service.jobs.wait(job["job_id"], timeout=120)
    assert done.status == "done" and done.result is not None, done.error
    assert (done.result["mode"], done.result["rows_updated"], done.result["rows_inserted"]) == ("upsert", 5, 0)
    regions = fresh.service.workspace.raw.execute(
        "SELECT DISTINCT region FROM customers WHERE customer_id LIKE 'N%'"
    ).fetchall()
    assert regions == [("north_china",)]
    closed = fresh.service.workspace.raw.execute(
        "SELECT count(*) FROM customers_history WHERE customer_id LIKE 'N%' AND valid_to IS NOT NULL"
    ).fetchall()
    assert closed == [(5,)]
    bad = fresh.client.post(
        "/api/v1/imports",
        data={"table": "transactions", "mode": "upsert"},
        files={"file": ("t.csv", b"customer_id\n", "text/csv")},
        headers=fresh.headers("analyst"),
    )
    if bad.status_code == 202:  # refused by the import itself, in the job
        failed = fresh.service.jobs.wait(bad.json()["job_id"], timeout=120)
        assert failed.status == "failed" and "mode" in (failed.error or "")
    else:
        assert bad.status_code == 422
    wrong = fresh.client.post(
        "/api/v1/imports",
        data={"table": "customers", "mode": "merge"},
        files={"file": ("t.csv", b"customer_id\n", "text/csv")},
        headers=fresh.headers("analyst"),
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_request"


def test_failed_import_keeps_the_one_line_error(fresh: Clients) -> None:
    bad = b"customer_id,customer_type,created_at\n" + b"".join(
        f"B{i},personal,not a date\n".encode() for i in range(20)
    )
    job = fresh.service.jobs.wait(_upload(fresh, bad)["job_id"], timeout=120)
    assert job.status == "failed" and job.error is not None
    assert job.error.startswith("rejected_import: ") and "\n" not in job.error
    assert fresh.get("analyst", f"/api/v1/jobs/{job.job_id}").json()["error"] == job.error


def test_import_request_errors(fresh: Clients) -> None:
    response = fresh.client.post(
        "/api/v1/imports",
        data={"table": "customers"},
        files={"file": ("x.exe", b"MZ", "application/x")},
        headers=fresh.headers("analyst"),
    )
    assert response.status_code == 422 and ".exe" in response.json()["error"]["message"]
    response = fresh.client.post(
        "/api/v1/imports",
        data={"table": "custmers"},
        files={"file": ("x.csv", b"a\n1\n", "text/csv")},
        headers=fresh.headers("analyst"),
    )
    assert response.status_code == 422 and "customers" in response.json()["error"]["message"]
    assert fresh.get("analyst", "/api/v1/jobs").json()["total"] == 0  # refused before queueing


def test_progress_is_reported(fresh: Clients) -> None:
    seen: list[float] = []
    original = fresh.service.jobs._update

    def spy(job_id: str, **changes: object) -> None:
        if "progress" in changes:
            seen.append(float(changes["progress"]))  # type: ignore[arg-type]
        original(job_id, **changes)

    fresh.service.jobs._update = spy  # type: ignore[method-assign]
    import pyarrow.parquet as pq

    rows = 300_000  # three batches of the Parquet reader
    table = pa.table({"customer_id": [f"P{i:07d}" for i in range(rows)], "customer_type": ["personal"] * rows})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    response = fresh.client.post(
        "/api/v1/imports",
        data={"table": "customers"},
        files={"file": ("many.parquet", buf.getvalue(), "application/octet-stream")},
        headers=fresh.headers("analyst"),
    )
    job = fresh.service.jobs.wait(response.json()["job_id"], timeout=300)
    assert job.status == "done", job.error
    partial = [p for p in seen if 0 < p < 1]
    assert partial and partial == sorted(partial)


def test_analysis_job_becomes_the_latest(fresh: Clients) -> None:
    job = fresh.client.post("/api/v1/analyses", json={}, headers=fresh.headers("analyst"))
    assert job.status_code == 202
    done = fresh.service.jobs.wait(job.json()["job_id"], timeout=300)
    assert done.status == "done" and done.result is not None
    assert done.result["analysis_id"] == "2025-12-31.2"
    assert fresh.get("analyst", "/api/v1/overview").json()["analysis_id"] == "2025-12-31.2"
    bad = fresh.client.post("/api/v1/analyses", json={"as_of": "31/31/2025"}, headers=fresh.headers("analyst"))
    assert bad.status_code == 422 and "as_of" in bad.json()["error"]["message"]


def test_cli_is_refused_while_the_server_imports(fresh: Clients, tmp_path: Path) -> None:
    """One writer: the server imports while a CLI import on the same workspace fails in one line."""
    import os
    import subprocess
    import sys

    from custlens.warehouse import Workspace

    cli_file = tmp_path / "cli.csv"
    cli_file.write_bytes(_csv(10, 900_000))
    before = fresh.service.workspace.row_counts()
    started = threading.Event()
    release = threading.Event()

    def hold(ws: object, progress: object) -> dict:
        started.set()
        release.wait(60)
        return {"message": "held"}

    holder = fresh.service.jobs.submit("import", "tests", hold)
    job = _upload(fresh, _csv(300, 500_000))
    assert started.wait(30)
    src = str(Path(__file__).parents[2] / "src")
    result = subprocess.run(  # another process, as a user at a terminal would run it
        [
            sys.executable,
            "-c",
            "from custlens.cli import main; main()",
            "import",
            str(cli_file),
            "--table",
            "customers",
            "-w",
            str(fresh.workspace),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": src, "COLUMNS": "200"},
        timeout=120,
    )
    release.set()
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [line for line in (result.stdout + result.stderr).strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout + result.stderr
    # today: "error: W/warehouse.duckdb: cannot open the warehouse (IO Error: Could not set lock
    # on file ...)" (exit 5); issue 10 words it "workspace is in use" and may wait for the lock
    assert str(fresh.workspace) in lines[0]
    assert "lock" in lines[0].lower() or "in use" in lines[0].lower()
    assert fresh.service.jobs.wait(holder.job_id, timeout=60).status == "done"
    done = fresh.service.jobs.wait(job["job_id"], timeout=120)
    assert done.status == "done", done.error
    after = fresh.service.workspace.row_counts()
    assert after["customers"] == before["customers"] + 300
    assert {k: v for k, v in after.items() if k != "customers"} == {k: v for k, v in before.items() if k != "customers"}
    fresh.close()
    with Workspace.open(fresh.workspace, read_only=True) as ws:
        ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
        assert len(ids) == len(set(ids)) == after["customers"]
        assert not any(i.startswith("N09") for i in ids)  # nothing of the refused CLI import
        ledger = ws.imports().count().to_pyarrow().as_py()
        assert ledger == 8  # 7 demo tables + the server's import
    fresh.close = lambda: None  # type: ignore[method-assign]


def test_profile_timeline_follows_an_import(fresh: Clients) -> None:
    from .conftest import one_customer

    cid = one_customer(fresh)
    before = fresh.get("sales", f"/api/v1/customers/{cid}").json()["timeline"]
    assert before and before[0]["reference"] != "NEW-ORDER-1"
    lines = f"order_id,line,customer_id,ordered_at,amount\nNEW-ORDER-1,1,{cid},2026-01-02 10:00:00,12.5\n"
    response = fresh.client.post(
        "/api/v1/imports",
        data={"table": "transactions"},
        files={"file": ("more.csv", lines.encode(), "text/csv")},
        headers=fresh.headers("analyst"),
    )
    done = fresh.service.jobs.wait(response.json()["job_id"], timeout=120)
    assert done.status == "done" and done.result is not None and done.result["rows_loaded"] == 1, done.error
    after = fresh.get("sales", f"/api/v1/customers/{cid}").json()["timeline"]
    assert after[0] == {
        "kind": "order",
        "at": "2026-01-02T10:00:00Z",
        "reference": "NEW-ORDER-1",
        "detail": "",
        "amount": 12.5,
    }
    assert after[1:] == before[: len(after) - 1]
