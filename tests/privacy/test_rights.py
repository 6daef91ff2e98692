"""Erasure, access, correction and retention."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.errors import InputError, NotFoundError
from custlens.ingest import import_file
from custlens.privacy import apply_retention, correct, erase, export_person, find_customers, read_identity
from custlens.warehouse import Workspace, write_settings

from .conftest import CUSTOMERS, scan, write


def test_erase_removes_identity_pseudonymises_everywhere_and_blocks_reimport(ws: Workspace, tmp_path: Path) -> None:
    ws.raw.execute("CREATE TABLE analysis_customers AS SELECT 'a1' AS analysis_id, 'c1' AS customer_id, 3.5 AS clv")
    correct(ws, "c1", {"email": "alice.new.canary7q1@example.com"}, reason="typo")
    report = erase(ws, "c1", purpose="request 2026-11-02")
    assert report.identity_rows == 1 and report.history_rows == 1 and report.blocklist_entries == 3
    assert report.rows == {
        "analysis_customers.customer_id": 1,
        "customers.customer_id": 1,
        "customers_history.customer_id": 1,  # earlier versions of the customer's attributes too
        "transactions.customer_id": 2,
    }
    ws.close()
    ws = Workspace.open(ws.path, key_file=tmp_path / "ws.key")
    assert scan(ws.path, ("Canary-7Q1", "canary7q1", "138 0000 0001", "c1,", "'c1'", '"c1"')) == []
    assert (
        ws.raw.execute("SELECT count(*) FROM transactions WHERE customer_id = ?", [report.pseudonym]).fetchall()[0][0]
        == 2
    )
    assert read_identity(ws, ["c1"]) == {}
    # a re-import of the person is refused (identity) or pseudonymised (orders): nothing of c1 comes back
    again = import_file(ws, tmp_path / "identity.csv", table="identity", on_repeat="import", max_reject_rate=0)
    assert again.rows_blocked == 1 and again.rows_loaded == 0 and again.rows_duplicate == 2
    moved = write(tmp_path / "moved.csv", "customer_id,name,phone\nc99,Alice again,+86 13800000001\n")
    assert import_file(ws, moved, table="identity", max_reject_rate=0).rows_blocked == 1
    orders = import_file(ws, tmp_path / "transactions.csv", table="transactions", on_repeat="import")
    assert orders.rows_duplicate == 5 and orders.rows_loaded == 0
    cust = import_file(ws, tmp_path / "customers.csv", table="customers", on_repeat="import")
    assert cust.rows_duplicate == 3
    assert ws.raw.execute("SELECT count(*) FROM customers WHERE customer_id = 'c1'").fetchall()[0][0] == 0
    assert find_customers(ws, email="alice.canary7q1@example.com") == []
    with pytest.raises(NotFoundError, match="no customer 'c1'"):
        erase(ws, "c1")
    ws.close()


def test_erase_reports_earlier_exports_and_scrubs_them_from_the_history(ws: Workspace, tmp_path: Path) -> None:
    from custlens.playbook import export_campaign, load_playbook

    assignments = {"customer_id": ["c1", "c2", "c3"], "segment": ["champions", "at_risk", "champions"]}
    out = tmp_path / "campaign.csv"
    export_campaign(assignments, load_playbook(), out, scheme="rfm", workspace=ws, purpose="spring")
    report = erase(ws, "c2")
    assert [e["path"] for e in report.exports] == [str(out.resolve())]
    assert ws.raw.execute("SELECT count(*) FROM _export_customers WHERE customer_id = 'c2'").fetchall()[0][0] == 0


def test_erase_reaches_quarantine_files(ws: Workspace, tmp_path: Path) -> None:
    changed = write(tmp_path / "changed.csv", CUSTOMERS.replace("c3,corporate,north", "c3,corporate,south"))
    report = import_file(ws, changed, table="customers", max_reject_rate=1)
    assert '"c3"' in Path(report.quarantine_path or "").read_text()  # the key conflict names the id
    gone = erase(ws, "c3")
    assert gone.identity_rows == 1
    for path in ws.quarantine_dir.glob("*.csv"):
        assert ",c3," not in path.read_text() and '"c3"' not in path.read_text()


def test_export_person_gathers_everything_and_cli_writes_json(ws: Workspace, tmp_path: Path) -> None:
    correct(ws, "c3", {"phone": "13900000003", "address": None}, reason="call")
    data = export_person(ws, "c3")
    assert data["identity"]["phone"] == "13900000003" and data["identity"]["address"] is None
    assert {h["field"] for h in data["identity_history"]} == {"phone", "address"}
    assert len(data["tables"]["transactions"]) == 2 and data["tables"]["customers"][0]["region"] == "north"
    ws.close()
    out = tmp_path / "c3.json"
    result = CliRunner().invoke(
        app, ["privacy", "export", "c3", "-w", str(ws.path), "-k", str(tmp_path / "ws.key"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["identity"]["name"] == "Chen Canary-7Q3"
    again = CliRunner().invoke(
        app, ["privacy", "export", "c3", "-w", str(ws.path), "-k", str(tmp_path / "ws.key"), "-o", str(out)]
    )
    assert again.exit_code == 2 and "already exists; give --force" in again.output
    missing = CliRunner().invoke(app, ["privacy", "export", "zz", "-w", str(ws.path), "-k", str(tmp_path / "ws.key")])
    assert missing.exit_code == 2 and "no customer 'zz'" in missing.output and "Traceback" not in missing.output


def test_correct_checks_fields_and_keeps_history(ws: Workspace) -> None:
    with pytest.raises(InputError, match="'phon' is not a personal field"):
        correct(ws, "c1", {"phon": "1"})
    with pytest.raises(NotFoundError, match="no identity row"):
        correct(ws, "nobody", {"phone": "1"})
    assert correct(ws, "c1", {"phone": "+86 138 0000 0001"})["changed"] == []
    assert correct(ws, "c1", {"phone": "13811112222"})["changed"] == ["phone"]
    assert find_customers(ws, phone="138-1111-2222") == ["c1"]
    assert find_customers(ws, phone="13800000001") == []


def test_retention_deletes_old_rows_and_inactive_identities(ws: Workspace) -> None:
    doc = ws.settings.to_toml()
    doc["retention"] = {"transactions": "1y", "identity": "18m", "quarantine": "90d"}
    write_settings(ws.path, doc)
    ws.settings.extra["retention"] = doc["retention"]
    dry = apply_retention(ws, today=date(2025, 3, 1), dry_run=True)
    assert dry.rows == {"transactions": 3, "identity": 0}
    assert ws.row_counts()["transactions"] == 5
    done = apply_retention(ws, today=date(2025, 9, 1))
    assert done.rows == {"transactions": 5, "identity": 3}
    assert ws.row_counts()["transactions"] == 0 and ws.row_counts()["identity"] == 0
    ws.settings.extra["retention"] = {"transactions": "seven years"}
    from custlens.errors import ConfigError

    with pytest.raises(ConfigError, match="transactions: a period such as"):
        apply_retention(ws)


def test_cli_erase_is_one_command_with_a_report(ws: Workspace, tmp_path: Path) -> None:
    ws.close()
    key = str(tmp_path / "ws.key")
    result = CliRunner().invoke(app, ["privacy", "erase", "c2", "-w", str(ws.path), "-k", key, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["identity_rows"] == 1 and report["pseudonym"].startswith("erased-")
    wrong = CliRunner().invoke(app, ["privacy", "erase", "c2", "-w", str(ws.path), "-k", key])
    assert wrong.exit_code == 2 and "no customer 'c2'" in wrong.output


def test_retention_ages_the_history_of_receivables_with_them(ws: Workspace, tmp_path: Path) -> None:
    header = "invoice_id,customer_id,issued_on,due_on,paid_on,amount,paid_amount\n"
    src = write(tmp_path / "r.csv", header + "i1,c1,2020-01-05,2020-02-04,,100,0\ni2,c2,2025-01-06,2025-02-05,,50,0\n")
    import_file(ws, src, table="receivables", mode="upsert")
    write(src, header + "i1,c1,2020-01-05,2020-02-04,2020-02-01,100,100\ni2,c2,2025-01-06,2025-02-05,,50,0\n")
    import_file(ws, src, table="receivables", mode="upsert")
    ws.settings.extra["retention"] = {"receivables": "2y"}
    assert apply_retention(ws, today=date(2025, 9, 1)).rows == {"receivables": 1}
    kept = ws.raw.execute("SELECT DISTINCT invoice_id FROM receivables_history").fetchall()
    assert kept == [("i2",)]
