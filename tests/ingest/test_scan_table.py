"""scan_table: the engine scans Parquet and UTF-8 CSV files; values equal read_table's; bad lines are errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.errors import InputError
from custlens.ingest import load_transactions, read_table, scan_table

CSV = 'customer_id,ordered_at,amount,note\n007,2024-01-31,12.5,a\n008,2024-02-01,NA,\n009,2024-02-02,3,"x, y"\n'


def _rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def test_csv_is_a_view_with_the_values_read_table_gives(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text(CSV, encoding="utf-8")
    scanned = scan_table(path, text_columns=("customer_id",))
    assert scanned.get_backend().name == "duckdb"  # the engine reads the file, not Python
    assert scanned.schema()["customer_id"].is_string()
    assert scanned.schema()["ordered_at"].is_date() or scanned.schema()["ordered_at"].is_timestamp()
    got = _rows(scanned.to_pyarrow())
    want = _rows(read_table(path, text_columns=("customer_id",)))
    assert [r["customer_id"] for r in got] == ["007", "008", "009"]  # leading zeros kept
    assert [r["amount"] for r in got] == [r["amount"] for r in want] == [12.5, None, 3.0]
    assert [r["note"] for r in got] == ["a", None, "x, y"]
    assert [str(r["ordered_at"])[:10] for r in got] == [str(r["ordered_at"])[:10] for r in want]


def test_parquet_text_columns_are_cast(tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    pq.write_table(pa.table({"customer_id": [7, 8], "amount": [1.0, 2.0]}), path)
    scanned = scan_table(path, text_columns=("customer_id", "absent"))
    assert scanned.get_backend().name == "duckdb"
    assert scanned.customer_id.to_pyarrow().to_pylist() == ["7", "8"]


def test_non_utf8_text_falls_back_to_read_table(tmp_path: Path) -> None:
    path = tmp_path / "gb.csv"
    path.write_bytes("customer_id,city\n1,北京\n2,上海\n".encode("gb18030"))
    assert scan_table(path).city.to_pyarrow().to_pylist() == ["北京", "上海"]


def test_ragged_sample_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6,7\n", encoding="utf-8")
    with pytest.raises(InputError, match="Expected 3 columns"):
        scan_table(path).to_pyarrow()


def test_duplicate_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,a\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="'a' appears 2 times"):
        scan_table(path)


def _late(tmp_path: Path, bad: str) -> Path:
    lines = ["customer_id,ordered_at,amount"] + [f"c{i % 50},2024-01-{1 + i % 28:02d},{i % 9}.5" for i in range(30_000)]
    lines[25_000] = bad  # far beyond the sniffer's sample
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("bad", "says"),
    [("c1,2024-01-02,ten", '"ten"'), ("c1,2024-01-02,1,2", "Expected Number of Columns: 3 Found: 4")],
    ids=["text-in-numbers", "extra-field"],
)
@pytest.mark.parametrize(
    ("command", "options"),
    [(("summary",), ("--amount-col", "amount")), (("segment", "rfm"), ())],
    ids=["summary", "rfm"],
)
def test_a_bad_line_far_down_is_one_error_line(
    tmp_path: Path, bad: str, says: str, command: tuple[str, ...], options: tuple[str, ...]
) -> None:
    path = _late(tmp_path, bad)
    argv = [*command, str(path), *options, "--format", "csv"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Line: 25001" in errors[0] and says in errors[0], result.output
    assert str(path) in errors[0]


def test_load_transactions_reads_only_what_it_needs_and_checks_ids(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,ordered_at,amount\n1,2024-01-01,3\n ,2024-01-02,4\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"'customer_id': 1 value\(s\) are not customer ids \(empty\) \(first: row 3\)"
    ):
        load_transactions(path, amount_col="amount")
    good = tmp_path / "good.csv"
    good.write_text("customer_id,ordered_at,amount\n1,2024/01/01,3\n2,20240102,4\n", encoding="utf-8")
    table = load_transactions(good, amount_col="amount")
    assert table.columns == ("customer_id", "ordered_at", "amount")
    days = [str(v)[:10] for v in table.ordered_at.to_pyarrow().to_pylist()]
    assert days == ["2024-01-01", "2024-01-02"]


def test_the_engine_spills_to_a_private_folder_removed_with_the_table(tmp_path: Path) -> None:
    import gc
    import stat

    from custlens.ingest.readers import SCAN_MEMORY_LIMIT

    path = tmp_path / "tx.csv"
    path.write_text(CSV, encoding="utf-8")
    table = scan_table(path)
    raw = table.get_backend().con
    spill = Path(raw.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    limit = raw.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert spill.is_dir() and stat.S_IMODE(spill.stat().st_mode) == 0o700
    assert not spill.is_relative_to(Path.cwd())  # never the working directory
    assert SCAN_MEMORY_LIMIT == "600MB" and limit == "572.2 MiB"  # DuckDB reports 600 MB in MiB
    del table, raw
    gc.collect()
    assert not spill.exists()
