"""Import modes: upsert replaces changed rows by key and keeps every version as history."""

from __future__ import annotations

from pathlib import Path

import pytest

from custlens.errors import InputError, RejectedImportError
from custlens.ingest import import_file
from custlens.ingest import importer as importer_module
from custlens.warehouse import Workspace

from .conftest import rows, write

HEADER = "customer_id,customer_type,region\n"
FIRST = HEADER + "c1,personal,north\nc2,corporate,south\nc3,personal,\nc4,personal,west\n"
# c1 unchanged, c2 region changed, c3 type and region changed, c5 and c6 new (c4 absent: kept)
SECOND = HEADER + "c1,personal,north\nc2,corporate,east\nc3,corporate,west\nc5,personal,north\nc6,corporate,\n"


def history(ws: Workspace, table: str = "customers") -> list[dict]:
    """Rows of a history table with the validity as text (no tz-aware Python values needed)."""
    sql = (
        f"SELECT * EXCLUDE (valid_from, valid_to), valid_from::VARCHAR AS valid_from, valid_to::VARCHAR AS valid_to "
        f"FROM {table}_history ORDER BY {'customer_id' if table == 'customers' else 'invoice_id'}, "
        "valid_from NULLS FIRST, import_id"
    )
    return ws.raw.sql(sql).to_arrow_table().to_pylist()


def imported_at(ws: Workspace, import_id: int) -> str:
    sql = f"SELECT imported_at::VARCHAR FROM _import_ledger WHERE import_id = {import_id}"
    return str(ws.raw.execute(sql).fetchall()[0][0])


def snapshot(ws: Workspace) -> tuple[list[dict], list[dict], int]:
    """Customers, their history and the number of ledger records."""
    ledger = int(ws.raw.execute("SELECT count(*) FROM _import_ledger").fetchall()[0][0])
    return rows(ws, "customers", "customer_id"), history(ws), ledger


def test_upsert_inserts_updates_and_keeps_unchanged_rows(ws: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "customers.csv", FIRST)
    first = import_file(ws, src, table="customers")
    assert (first.mode, first.rows_inserted, first.rows_updated, first.rows_unchanged) == ("append", 4, 0, 0)
    src = write(src, SECOND)  # the same path, new content: the ledger knows files by content
    report = import_file(ws, src, table="customers", mode="upsert")
    assert report.status == "loaded" and report.mode == "upsert"
    # 5 read: 2 new (c5, c6), 2 updated (c2, c3), 1 unchanged (c1, counted among duplicates)
    assert (report.rows_inserted, report.rows_updated, report.rows_unchanged) == (2, 2, 1)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected, report.rows_duplicate) == (5, 4, 0, 1)
    assert report.quarantine_path is None  # unchanged rows are the expected outcome of an upsert
    stored = {r["customer_id"]: (r["customer_type"], r["region"]) for r in rows(ws, "customers")}
    assert stored == {
        "c1": ("personal", "north"),
        "c2": ("corporate", "east"),
        "c3": ("corporate", "west"),
        "c4": ("personal", "west"),
        "c5": ("personal", "north"),
        "c6": ("corporate", None),
    }
    ledger = ws.raw.execute(
        "SELECT mode, rows_read, rows_loaded, rows_inserted, rows_updated, rows_unchanged, rows_duplicate "
        "FROM _import_ledger ORDER BY import_id"
    ).fetchall()
    assert ledger == [("append", 4, 4, 4, 0, 0, 0), ("upsert", 5, 4, 2, 2, 1, 1)]


def test_history_holds_the_replaced_values_with_their_validity(ws: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "customers.csv", FIRST)
    import_file(ws, src, table="customers")
    import_file(ws, write(src, SECOND), table="customers", mode="upsert")
    t1, t2 = imported_at(ws, 1), imported_at(ws, 2)
    assert t1 < t2
    versions = [(r["customer_id"], r["customer_type"], r["region"], r["valid_from"], r["valid_to"], r["import_id"])
                for r in history(ws)]  # fmt: skip
    assert versions == [
        ("c1", "personal", "north", t1, None, 1),
        ("c2", "corporate", "south", t1, t2, 1),  # the previous values, valid until the upsert
        ("c2", "corporate", "east", t2, None, 2),
        ("c3", "personal", None, t1, t2, 1),
        ("c3", "corporate", "west", t2, None, 2),
        ("c4", "personal", "west", t1, None, 1),
        ("c5", "personal", "north", t2, None, 2),
        ("c6", "corporate", None, t2, None, 2),
    ]
    # the open versions are exactly the stored rows
    current = ws.raw.execute(
        "SELECT count(*) FROM customers c JOIN customers_history h ON h.customer_id = c.customer_id "
        "AND h.valid_to IS NULL AND h.customer_type = c.customer_type "
        "AND h.region IS NOT DISTINCT FROM c.region"
    ).fetchall()[0][0]
    assert current == 6


def test_upsert_replaces_only_the_columns_the_file_provides(ws: Workspace, tmp_path: Path) -> None:
    import_file(ws, write(tmp_path / "a.csv", FIRST), table="customers")
    report = import_file(
        ws, write(tmp_path / "b.csv", "customer_id,customer_type\nc1,corporate\nc2,corporate\n"),
        table="customers", mode="upsert",
    )  # fmt: skip
    assert (report.rows_updated, report.rows_unchanged) == (1, 1)  # c2's type is unchanged; region not compared
    stored = {r["customer_id"]: (r["customer_type"], r["region"]) for r in rows(ws, "customers")}
    assert stored["c1"] == ("corporate", "north") and stored["c2"] == ("corporate", "south")


def test_rerunning_an_upsert_changes_nothing(ws: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "customers.csv", FIRST)
    import_file(ws, src, table="customers")
    import_file(ws, write(src, SECOND), table="customers", mode="upsert")
    before = snapshot(ws)
    skipped = import_file(ws, src, table="customers", mode="upsert")
    assert skipped.status == "skipped" and snapshot(ws) == before
    again = import_file(ws, src, table="customers", mode="upsert", on_repeat="import")
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged, again.rows_loaded) == (0, 0, 5, 0)
    customers, versions, ledger = snapshot(ws)
    assert (customers, versions, ledger) == (before[0], before[1], before[2] + 1)  # only a ledger record


def test_a_refused_upsert_leaves_rows_history_and_ledger_unchanged(ws: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "customers.csv", FIRST)
    import_file(ws, src, table="customers")
    before = snapshot(ws)
    bad = write(tmp_path / "bad.csv", SECOND + "c7,nobody,north\n")  # customer_type not allowed
    with pytest.raises(RejectedImportError, match="nothing was imported"):
        import_file(ws, bad, table="customers", mode="upsert", max_reject_rate=0)
    assert snapshot(ws) == before


def test_a_failure_after_the_update_rolls_everything_back(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write(tmp_path / "customers.csv", FIRST)
    import_file(ws, src, table="customers")
    before = snapshot(ws)

    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full (simulated)")

    # the stored rows and their history have been updated when the insert of new keys fails
    monkeypatch.setattr(importer_module, "_insert_rows", fail)
    with pytest.raises(RuntimeError, match="simulated"):
        import_file(ws, write(src, SECOND), table="customers", mode="upsert")
    monkeypatch.undo()
    assert snapshot(ws) == before
    report = import_file(ws, src, table="customers", mode="upsert")  # and the same file imports afterwards
    assert (report.rows_inserted, report.rows_updated) == (2, 2)


def test_receivable_payments_are_upserted(ws: Workspace, tmp_path: Path) -> None:
    header = "invoice_id,customer_id,issued_on,due_on,paid_on,amount,paid_amount\n"
    src = write(
        tmp_path / "receivables.csv", header + "i1,c1,2026-01-05,2026-02-04,,100,0\ni2,c2,2026-01-06,2026-02-05,,50,0\n"
    )
    import_file(ws, src, table="receivables", mode="upsert")
    write(src, header + "i1,c1,2026-01-05,2026-02-04,2026-02-01,100,100\ni2,c2,2026-01-06,2026-02-05,,50,0\n")
    report = import_file(ws, src, table="receivables", mode="upsert")
    assert (report.rows_inserted, report.rows_updated, report.rows_unchanged) == (0, 1, 1)
    versions = [(r["invoice_id"], r["paid_amount"], r["valid_to"] is None) for r in history(ws, "receivables")]
    assert versions == [("i1", 0.0, False), ("i1", 100.0, True), ("i2", 0.0, True)]


def test_rows_stored_outside_the_importer_get_a_closed_version_of_unknown_start(ws: Workspace, tmp_path: Path) -> None:
    ws.raw.execute("INSERT INTO customers (customer_id, customer_type, region) VALUES ('c1', 'personal', 'south')")
    import_file(ws, write(tmp_path / "c.csv", HEADER + "c1,personal,north\n"), table="customers", mode="upsert")
    versions = [(r["region"], r["valid_from"] is None, r["valid_to"] is None) for r in history(ws)]
    assert versions == [("south", True, False), ("north", False, True)]


@pytest.mark.parametrize("table", ["transactions", "identity", "leads"])
def test_upsert_is_refused_for_tables_without_history(ws: Workspace, tmp_path: Path, table: str) -> None:
    src = write(tmp_path / "t.csv", "order_id,customer_id,ordered_at,amount\no1,c1,2024-01-01,1\n")
    with pytest.raises(
        InputError, match=rf"'mode' 'upsert' is supported for the tables customers and receivables.*got table '{table}'"
    ):
        import_file(ws, src, table=table, mode="upsert")
    with pytest.raises(InputError, match="'mode' must be 'append' or 'upsert'; got 'replace'"):
        import_file(ws, src, table="customers", mode="replace")  # type: ignore[arg-type]
