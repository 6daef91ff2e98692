"""Same arguments give the same tables; chunking and file format do not change them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from custlens.errors import InputError
from custlens.schema import TABLES
from custlens.synth import BLOCK_SIZE, CompanyParams, generate_company, write_company
from custlens.synth.company import customers_for_transactions


def _digest(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def test_same_seed_same_bytes() -> None:
    a = generate_company(1500, seed=3)
    b = generate_company(1500, seed=3)
    for name in TABLES:
        assert _digest(a.tables()[name]) == _digest(b.tables()[name]), name


def test_different_seed_different_data() -> None:
    a = generate_company(1500, seed=3)
    b = generate_company(1500, seed=4)
    for name in TABLES:
        assert not a.tables()[name].equals(b.tables()[name]), name


def test_a_smaller_company_is_a_prefix_of_a_larger_one() -> None:
    """Customer i's data do not depend on how many customers follow it."""
    small = generate_company(1000, seed=5)
    large = generate_company(BLOCK_SIZE + 300, seed=5)
    assert large.customers.slice(0, 1000).equals(small.customers)
    assert small.customers["customer_id"][0].as_py() == "C00000001"
    kept = small.customers["customer_id"]
    for name in ("transactions", "interactions", "receivables", "survey_answers"):
        table = large.tables()[name]
        assert table.filter(pc.is_in(table["customer_id"], value_set=kept)).equals(small.tables()[name]), name
    converted = large.leads.filter(pc.is_in(large.leads["customer_id"], value_set=kept))
    assert converted.equals(small.leads.filter(pc.is_valid(small.leads["customer_id"])))
    assert small.leads.num_rows == pytest.approx(500, abs=30)


def test_written_files_equal_the_in_memory_tables_for_any_chunk_size(tmp_path: Path) -> None:
    n = 2 * BLOCK_SIZE + 100
    memory = generate_company(n, seed=9)
    seen: list[tuple[int, int]] = []
    one = write_company(
        tmp_path / "one", n_customers=n, seed=9, chunk_size=1, on_progress=lambda d, t: seen.append((d, t))
    )
    big = write_company(tmp_path / "big", n_customers=n, seed=9, chunk_size=10**6)
    assert seen[-1] == (n, n) and len(seen) == 3
    for name in TABLES:
        a = pq.read_table(one[name])
        b = pq.read_table(big[name])
        assert a.equals(memory.tables()[name]), name
        assert b.equals(memory.tables()[name]), name
        assert pq.ParquetFile(one[name]).num_row_groups == 3
    # the same arguments give byte-identical files
    again = write_company(tmp_path / "again", n_customers=n, seed=9, chunk_size=1)
    for name in TABLES:
        assert again[name].read_bytes() == one[name].read_bytes(), name
    assert not list((tmp_path / "one").glob("*.partial"))


def test_csv_output_is_utf8_with_header_and_reads_back(tmp_path: Path) -> None:
    paths = write_company(tmp_path, n_customers=600, seed=2, fmt="csv")
    memory = generate_company(600, seed=2)
    for name, path in paths.items():
        assert path.suffix == ".csv"
        text = path.read_text(encoding="utf-8")
        assert text.splitlines()[0].replace('"', "").split(",") == TABLES[name].column_names
        back = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=memory.tables()[name].schema))
        assert back.num_rows == memory.tables()[name].num_rows
    ident = (tmp_path / "identity.csv").read_text(encoding="utf-8")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in ident)


def test_transaction_target_is_met_closely() -> None:
    n = customers_for_transactions(60_000, seed=1)
    company = generate_company(n_transactions=60_000, seed=1)
    assert company.customers.num_rows == n
    rows = company.transactions.num_rows
    last = company.customers["customer_id"][n - 1]
    last_rows = pc.sum(pc.equal(company.transactions["customer_id"], last)).as_py()
    # the smallest customer count whose rows reach the target
    assert rows >= 60_000 and rows - last_rows < 60_000


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"n_customers": 0}, "'n_customers' must be an integer >= 1. Got 0"),
        ({"n_customers": 10, "n_transactions": 100}, "either 'n_customers' or 'n_transactions'"),
        ({"seed": -1}, "'seed' must be an integer >= 0"),
        ({"start": "2024-13-01"}, "'start' must be a date"),
        ({"start": "2025-01-01", "end": "2024-01-01"}, "'end' must not be before 'start'"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs: dict, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        generate_company(**kwargs)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("alpha", -1.0, "The 'alpha' parameter of CompanyParams must be a float > 0. Got -1.0"),
        ("process", "weibull", "'pareto_nbd' or 'bg_nbd'"),
        ("q", 1.0, "a float > 1"),
        ("corporate_share", 1.5, "in \\[0, 1\\]"),
        ("return_rate", "x", "Got 'x' instead"),
    ],
)
def test_bad_parameters_are_named(field: str, value: object, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        CompanyParams(**{field: value})


def test_write_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'fmt' must be 'parquet' or 'csv'"):
        write_company(tmp_path, n_customers=10, fmt="xlsx")  # type: ignore[arg-type]


def test_an_interrupted_write_leaves_no_partial_files(tmp_path: Path) -> None:
    class Stop(Exception):
        pass

    def stop(done: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        write_company(tmp_path, n_customers=3 * BLOCK_SIZE, seed=1, chunk_size=BLOCK_SIZE, on_progress=stop)
    assert list(tmp_path.iterdir()) == []


def test_large_transaction_targets_are_extrapolated_from_the_pilot(monkeypatch: pytest.MonkeyPatch) -> None:
    from custlens.synth import company as company_module

    monkeypatch.setattr(company_module, "PILOT_CUSTOMERS", 2 * BLOCK_SIZE)
    n = customers_for_transactions(80_000, seed=4)
    assert n > 2 * BLOCK_SIZE
    rows = generate_company(n, seed=4).transactions.num_rows
    assert abs(rows - 80_000) / 80_000 < 0.05
