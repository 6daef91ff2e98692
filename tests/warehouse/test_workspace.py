"""The workspace: creation, opening, canonical tables, migrations, settings."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest

from custlens.errors import ConfigError, InputError
from custlens.schema import TABLES
from custlens.warehouse import MIGRATIONS, Workspace, WorkspaceSettings


def test_init_creates_layout_and_every_canonical_table(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "shop") as ws:
        assert (ws.path / "workspace.toml").is_file()
        assert (ws.path / "warehouse.duckdb").is_file()
        assert (ws.path / "quarantine").is_dir()
        assert ws.schema_version == max(v for v, _, _ in MIGRATIONS)
        for name, spec in TABLES.items():
            schema = ws.table(name).schema()
            # the identity table also holds its internal digest columns (custlens.privacy)
            assert list(schema.names)[: len(spec.column_names)] == spec.column_names
            for column in spec.columns:
                got, want = schema[column.name], ibis.dtype(column.dtype)
                if want.is_timestamp():  # DuckDB reports microsecond scale
                    assert got.is_timestamp() and got.timezone == want.timezone == "UTC"
                else:
                    assert got == want, (name, column.name)
        assert set(ws.row_counts().values()) == {0}


def test_open_rejects_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a custlens workspace.*custlens init"):
        Workspace.open(tmp_path)


def test_init_refuses_an_existing_workspace_and_a_file(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "w").close()
    with pytest.raises(InputError, match="already holds"):
        Workspace.init(tmp_path / "w")
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        Workspace.init(tmp_path / "f")


def test_unknown_table_names_the_tables_there_are(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "w") as ws, pytest.raises(InputError, match="transactions"):
        ws.table("orders")


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "w") as ws:
        ws.raw.execute("INSERT INTO customers (customer_id, customer_type) VALUES ('c1', 'personal')")
        n_migrations = ws.raw.execute("SELECT count(*) FROM _schema_migrations").fetchall()[0][0]
    with Workspace.open(tmp_path / "w") as ws:
        assert ws.row_counts()["customers"] == 1
        assert ws.raw.execute("SELECT count(*) FROM _schema_migrations").fetchall()[0][0] == n_migrations


def test_missing_columns_are_added_and_recorded(tmp_path: Path) -> None:
    """A warehouse made by an older schema gains the columns schema.py has added since."""
    with Workspace.init(tmp_path / "w") as ws:
        ws.raw.execute("ALTER TABLE transactions DROP COLUMN channel")
        ws.raw.execute("DROP TABLE leads")
    with Workspace.open(tmp_path / "w") as ws:
        assert "channel" in ws.table("transactions").columns
        assert ws.table("leads").count().execute() == 0
        changes = {r[0] for r in ws.raw.execute("SELECT description FROM _schema_migrations").fetchall()}
        assert {"add column transactions.channel", "add table leads"} <= changes


def test_settings_round_trip_and_are_applied(tmp_path: Path) -> None:
    settings = WorkspaceSettings(memory_limit="512MB", threads=1, max_reject_rate=0.05, currency="CNY")
    Workspace.init(tmp_path / "w", settings=settings).close()
    with Workspace.open(tmp_path / "w") as ws:
        assert ws.settings.max_reject_rate == 0.05
        assert ws.settings.currency == "CNY"
        threads = ws.raw.execute("SELECT current_setting('threads')").fetchall()[0][0]
        assert int(threads) == 1


def test_bad_settings_file_is_a_config_error(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "w").close()
    (tmp_path / "w" / "workspace.toml").write_text("[import]\nmax_reject_rate = 7\n")
    with pytest.raises(ConfigError, match="max_reject_rate must be between 0 and 1; got 7"):
        Workspace.open(tmp_path / "w")
    (tmp_path / "w" / "workspace.toml").write_text("not = [toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Workspace.open(tmp_path / "w")


@pytest.mark.parametrize("limit", ["2000000000", "0GB", "lots", "-1GB"])
def test_memory_limit_needs_a_positive_size_with_a_unit(tmp_path: Path, limit: str) -> None:
    # DuckDB refuses a number without a unit ("Unknown unit for memory") when the workspace
    # opens; the settings check says so first, naming the file and the value
    Workspace.init(tmp_path / "w").close()
    (tmp_path / "w" / "workspace.toml").write_text(f'[duckdb]\nmemory_limit = "{limit}"\n')
    with pytest.raises(ConfigError, match=rf"workspace.toml: \[duckdb\] memory_limit .* with a unit .*got '{limit}'"):
        Workspace.open(tmp_path / "w")


@pytest.mark.parametrize("limit", ["500MB", "2 GiB", "80%", ".5GB"])
def test_memory_limit_sizes_duckdb_accepts_open(tmp_path: Path, limit: str) -> None:
    Workspace.init(tmp_path / "w").close()
    (tmp_path / "w" / "workspace.toml").write_text(f'[duckdb]\nmemory_limit = "{limit}"\n')
    with Workspace.open(tmp_path / "w") as ws:
        assert ws.raw.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]


def test_read_only_workspace_reads_but_does_not_write(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "w").close()
    with Workspace.open(tmp_path / "w", read_only=True) as ws:
        assert ws.table("customers").count().execute() == 0
        assert ws.read_only


def test_close_with_cached_results_is_quiet(tmp_path) -> None:
    """Results cached on the workspace (segmentations cache their tables) and released after
    ``close()`` must not try to drop their temporary tables from the closed connection."""
    import subprocess
    import sys

    code = (
        "import gc\n"
        "from custlens.warehouse import Workspace\n"
        f"ws = Workspace.init({str(tmp_path / 'ws')!r})\n"
        "cached = ws.table('customers').cache()\n"
        "cached.to_pyarrow()\n"
        "ws.close()\n"
        "del cached\n"
        "gc.collect()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Exception ignored" not in result.stderr, result.stderr


def test_a_workspace_from_before_versions_gains_history_tables_with_open_versions(tmp_path: Path) -> None:
    """Migration 4 on a warehouse of schema version 3: the stored rows become open versions of
    unknown start, the ledger gains mode and counts (old records: mode 'append'), and a
    column the canonical table lacks is added to it and to its history table."""
    with Workspace.init(tmp_path / "w") as ws:
        ws.raw.execute("DROP TABLE customers_history")
        ws.raw.execute("DROP TABLE receivables_history")
        for column in ("mode", "rows_inserted", "rows_updated", "rows_unchanged"):
            ws.raw.execute(f"ALTER TABLE _import_ledger DROP COLUMN {column}")
        ws.raw.execute("ALTER TABLE customers DROP COLUMN occupation")
        ws.raw.execute("DELETE FROM _schema_migrations WHERE version = 4")
        ws.raw.execute("INSERT INTO customers (customer_id, customer_type) VALUES ('c1', 'personal')")
        ws.raw.execute(
            "INSERT INTO _import_ledger VALUES (1, 'x', 'customers', 'c.csv', 1, 'csv', 'utf-8', NULL, 1, 1, 0, 0, "
            "NULL, now())"
        )
        assert ws.schema_version == 3
    with Workspace.open(tmp_path / "w") as ws:
        assert ws.schema_version == 4
        versions = ws.raw.execute(
            "SELECT customer_id, customer_type, valid_from IS NULL, valid_to IS NULL, import_id FROM customers_history"
        ).fetchall()
        assert versions == [("c1", "personal", True, True, None)]
        assert ws.raw.execute("SELECT count(*) FROM receivables_history").fetchall()[0][0] == 0
        assert ws.raw.execute("SELECT mode, rows_updated FROM _import_ledger").fetchall() == [("append", None)]
        assert "occupation" in ws.table("customers").columns
        columns = {r[0] for r in ws.raw.execute("DESCRIBE customers_history").fetchall()}
        assert {"occupation", "valid_from", "valid_to", "import_id"} <= columns


def test_history_tables_gain_the_columns_their_table_gains(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "w") as ws:
        ws.raw.execute("ALTER TABLE receivables_history DROP COLUMN paid_amount")
    with Workspace.open(tmp_path / "w") as ws:
        columns = {r[0] for r in ws.raw.execute("DESCRIBE receivables_history").fetchall()}
        assert "paid_amount" in columns
        changes = {r[0] for r in ws.raw.execute("SELECT description FROM _schema_migrations").fetchall()}
        assert "add column receivables_history.paid_amount" in changes


@pytest.mark.parametrize("given", ["600MB", "2GB", "1.5GiB", "100000000 bytes", "512 KiB"])
def test_memory_bytes_reads_sizes_as_duckdb_writes_them(given: str) -> None:
    # one reader for the settings and for what DuckDB reports back ("1.8 GiB", rounded)
    import duckdb

    from custlens.warehouse._workspace import memory_bytes

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{given}'")
    reported = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    assert memory_bytes(reported) == pytest.approx(memory_bytes(given), rel=0.06)  # one decimal, cut
    assert memory_bytes("80%") is None and memory_bytes("2000") is None and memory_bytes("lots") is None
