"""The canary test of issue 10: personal data appears nowhere but encrypted, and erasure leaves nothing.

Identity rows with unique marker strings are imported with a small demo company; every byte of
the workspace folder (database, WAL, staging, quarantine, snapshots, audit log), the HTML report
of the stored analysis and the exports without contact data are scanned for the markers. Then
one canary customer (who did not consent to marketing, so no contact export ever held them) is
erased: the workspace and every export made before and after hold nothing of them, neither
their personal data nor their customer id, and a re-import of their identity row is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from custlens.demo import IMPORT_ORDER
from custlens.ingest import import_file
from custlens.privacy import erase, init_workspace

pytestmark = pytest.mark.slow

CANARIES = {
    "A": {
        "name": "Canary-A-name-7f3k",
        "phone": "+86 177 0000 7f3k",
        "email": "canary.a.7f3k@example.org",
        "address": "Canary-A-street-7f3k",
    },
    "B": {
        "name": "Canary-B-name-9q2w",
        "phone": "+86 177 0000 9q2w",
        "email": "canary.b.9q2w@example.org",
        "address": "Canary-B-street-9q2w",
    },
    "C": {
        "name": "Canary-C-name-4m8z",
        "phone": "+86 177 0000 4m8z",
        "email": "canary.c.4m8z@example.org",
        "address": "Canary-C-street-4m8z",
    },
}


def _markers(*labels: str) -> list[bytes]:
    out = []
    for label in labels:
        for value in CANARIES[label].values():
            for enc in ("utf-8", "utf-16-le"):
                out.append(value.encode(enc))
    return out


def _hits(paths: list[Path], needles: list[bytes], ids: tuple[str, ...] = ()) -> list[str]:
    found = []
    patterns = [re.compile(rb"(?<![0-9A-Za-z])" + re.escape(i.encode()) + rb"(?![0-9A-Za-z])") for i in ids]
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            data = f.read_bytes()
            found += [f"{f}: {n!r}" for n in needles if n in data]
            found += [f"{f}: id {p.pattern!r}" for p in patterns if p.search(data)]
    return found


def _sql_hits(ws: object, value: str) -> list[str]:
    """Every table and text column of the warehouse holding ``value`` (compression cannot hide it here)."""
    raw = ws.raw  # type: ignore[attr-defined]
    cols = raw.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND data_type = 'VARCHAR'"
    ).fetchall()
    out = []
    for table, column in cols:
        n = raw.execute(f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [value]).fetchall()[0][0]
        if n:
            out.append(f"{table}.{column}: {n}")
    return out


def test_canaries_never_appear_in_plain_text_and_erasure_leaves_nothing(tmp_path: Path) -> None:
    from custlens.analysis import analyze
    from custlens.playbook import export_campaign, load_playbook
    from custlens.report import build_report
    from custlens.segment.export import write_export
    from custlens.synth import write_company

    files = write_company(tmp_path / "company", n_customers=400, seed=5, fmt="parquet")
    identity = pq.read_table(files["identity"])
    ids = identity.column("customer_id").to_pylist()[:3]
    who = dict(zip("ABC", ids))
    for label, cid in who.items():
        hit = pc.equal(identity.column("customer_id"), cid)
        for field, value in CANARIES[label].items():
            i = identity.column_names.index(field)
            identity = identity.set_column(i, field, pc.if_else(hit, pa.scalar(value), identity.column(field)))
    source = tmp_path / "identity.csv"
    pacsv.write_csv(identity, source)
    customers = pq.read_table(files["customers"])
    for label, consent in (("A", False), ("B", True), ("C", None)):
        hit = pc.equal(customers.column("customer_id"), who[label])
        for name, value in (("consent_marketing", consent), ("consent_profiling", True)):
            i = customers.column_names.index(name)
            customers = customers.set_column(
                i, name, pc.if_else(hit, pa.scalar(value, pa.bool_()), customers.column(i))
            )
    pq.write_table(customers, files["customers"])
    assert _hits([source], _markers("A", "B", "C")), "the scan finds the markers where they are plain"

    ws_path, exports = tmp_path / "ws", tmp_path / "exports"
    exports.mkdir()
    with init_workspace(ws_path, key_file=tmp_path / "ws.key") as ws:
        for name in IMPORT_ORDER:
            import_file(ws, source if name == "identity" else files[name], table=name)
        analysis = analyze(ws)
        report = build_report(analysis, exports / "report.html")
        table = analysis.customers().to_pyarrow()
        write_export(exports / "customers.csv", {"customers": table})
        write_export(exports / "customers.xlsx", {"customers": table})
        assignments = {"customer_id": ids, "segment": ["champions", "champions", "at_risk"]}
        export_campaign(assignments, load_playbook(), exports / "campaign.csv", scheme="rfm", workspace=ws)
        contact = exports / "contacts.csv"
        export_campaign(
            assignments, load_playbook(), contact, scheme="rfm", workspace=ws, contact_fields=("name", "phone", "email")
        )
        # the consented contact export holds B only: the one purpose that needs personal data
        assert _hits([contact], _markers("B")) and not _hits([contact], _markers("A", "C"))
        non_contact = [exports / "customers.csv", exports / "customers.xlsx", exports / "campaign.csv", report]
        assert _hits([ws_path, *non_contact], _markers("A", "B", "C")) == []  # while open (WAL, tmp/)
        analysis.close() if hasattr(analysis, "close") else None
        before = sorted(p for p in exports.iterdir())

        gone = erase(ws, who["A"], purpose="canary")
        assert gone.identity_rows == 1 and gone.rows and gone.stored_results >= 1
        assert [e["path"] for e in gone.exports] == [str((exports / "campaign.csv").resolve()), str(contact.resolve())]
        assert _sql_hits(ws, who["A"]) == []
        for label in "AB":
            assert _sql_hits(ws, CANARIES[label]["name"]) == []  # encrypted, never plain
        again = import_file(ws, source, table="identity", on_repeat="import")
        assert again.rows_blocked == 1 and again.rows_loaded == 0
        later = analyze(ws)
        build_report(later, exports / "report-after.html")
        write_export(exports / "customers-after.csv", {"customers": later.customers().to_pyarrow()})
        later.close() if hasattr(later, "close") else None
    after_files = [p for p in exports.iterdir() if p not in before]
    assert _hits([ws_path], _markers("A", "B", "C"), ids=(who["A"],)) == []
    assert _hits([*before, *after_files], _markers("A")) == []
    assert _hits(after_files, [], ids=(who["A"],)) == []
    assert _hits([ws_path, *non_contact, *after_files], _markers("B", "C")) == []
