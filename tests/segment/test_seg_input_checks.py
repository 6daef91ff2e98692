"""User mistakes in transaction logs, snapshot databases and configuration files.

Text dates and text amounts are checked before they are cast (the backend would otherwise
stop with a conversion error naming neither row nor value); snapshot paths that are not
DuckDB databases and configuration paths that are folders are refused with the file named.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from custlens.errors import ConfigError, InputError
from custlens.segment import (
    SegmentResult,
    as_dates,
    as_numbers,
    customer_summary,
    load_config,
    open_snapshot_db,
    rfm_from_transactions,
    save_snapshot,
)
from custlens.segment._transactions import latest_date


def _text_log(dates: list[str | None], amounts: list[str | None]) -> ibis.Table:
    n = len(dates)
    return ibis.memtable(
        pa.table(
            {
                "customer_id": [f"c{i % 2}" for i in range(n)],
                "ordered_at": pa.array(dates, pa.string()),
                "amount": pa.array(amounts, pa.string()),
            }
        )
    )


def test_text_dates_and_amounts_that_parse_give_the_same_summary_as_typed_columns() -> None:
    text = _text_log(["2024-01-01", "2024-02-01", "2024-01-15", "2024-03-01"], ["10", "20.5", "5", "7"])
    typed = ibis.memtable(
        pa.table(
            {
                "customer_id": ["c0", "c1", "c0", "c1"],
                "ordered_at": pa.array([date(2024, 1, 1), date(2024, 2, 1), date(2024, 1, 15), date(2024, 3, 1)]),
                "amount": [10.0, 20.5, 5.0, 7.0],
            }
        )
    )
    got, as_of = customer_summary(text)
    want, as_of_typed = customer_summary(typed)
    assert as_of == as_of_typed == date(2024, 3, 1)
    assert got.order_by("customer_id").to_pyarrow().to_pylist() == want.order_by("customer_id").to_pyarrow().to_pylist()


def test_bad_date_names_column_count_first_row_and_value() -> None:
    log = _text_log(["2024-01-01", "not-a-date", "2024-01-15", "31/12/2024"], ["1", "2", "3", "4"])
    with pytest.raises(InputError) as err:
        latest_date(log, "ordered_at")
    msg = str(err.value)
    assert msg.startswith("transactions: column 'ordered_at': 2 value(s) are not dates")
    assert "(first: data row 2, 'not-a-date')" in msg
    with pytest.raises(InputError, match="'ordered_at'"):
        customer_summary(log, as_of="2024-12-31")  # an explicit as-of date does not skip the check
    with pytest.raises(InputError, match="'ordered_at'"):
        rfm_from_transactions(log)


def test_bad_amount_names_column_first_row_and_value() -> None:
    log = _text_log(["2024-01-01", "2024-01-02", "2024-01-03"], ["10", "12.5", "ten"])
    with pytest.raises(InputError) as err:
        customer_summary(log)
    assert str(err.value) == ("transactions: column 'amount': 1 value(s) are not numbers (first: data row 3, 'ten')")


def test_blank_and_missing_text_cells_are_missing_values_not_errors() -> None:
    log = _text_log(["2024-01-01", "", None, "2024-01-03"], ["1", " ", None, "4"])
    day = as_dates(log.ordered_at, "ordered_at")
    amount = as_numbers(log.amount, "amount")
    out = log.select(day=day, amount=amount).to_pyarrow().to_pylist()
    assert [r["day"] for r in out] == [date(2024, 1, 1), None, None, date(2024, 1, 3)]
    assert [r["amount"] for r in out] == [1.0, None, None, 4.0]


def test_typed_columns_are_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Date/timestamp and numeric columns skip the extra query (no cost on warehouse tables)."""
    import custlens.segment._transactions as tx_mod

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("typed columns must not be checked")

    monkeypatch.setattr(tx_mod, "check_convertible", fail)
    t = ibis.memtable(pa.table({"d": pa.array([date(2024, 1, 1)]), "x": [1], "y": [2.5]}))
    assert as_dates(t.d, "d").type().is_date()
    assert as_numbers(t.x, "x").type().is_floating()
    assert as_numbers(t.y, "y").type().is_floating()


def test_non_numeric_type_is_refused() -> None:
    t = ibis.memtable(pa.table({"flag": [True, False]}))
    with pytest.raises(InputError, match=r"orders: column 'flag' must be numeric, got boolean"):
        as_numbers(t.flag, "flag", what="orders")


def _result() -> SegmentResult:
    customers = ibis.memtable(pa.table({"customer_id": ["a", "b"], "segment": ["x", "y"]}))
    return SegmentResult("rfm", date(2024, 3, 31), customers, customers, {}, {})


def test_snapshot_db_round_trip_and_reopen(tmp_path: Path) -> None:
    db = tmp_path / "snaps.duckdb"
    sid = save_snapshot(open_snapshot_db(db), _result())
    assert db.read_bytes()[8:12] == b"DUCK"
    con = open_snapshot_db(db, create=False)
    assert con.table("segment_snapshots").snapshot_id.to_pyarrow().to_pylist() == [sid]


def test_snapshot_db_refuses_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=f"{tmp_path}: is a folder; expected a DuckDB"):
        open_snapshot_db(tmp_path)


def test_snapshot_db_refuses_a_csv_and_leaves_it_alone(tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,amount\na,1\n", encoding="utf-8")
    for create in (True, False):
        with pytest.raises(InputError, match=f"{csv}: not a DuckDB snapshot database"):
            open_snapshot_db(csv, create=create)
    assert csv.read_text(encoding="utf-8") == "customer_id,amount\na,1\n"


def test_snapshot_db_missing_when_not_creating(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such snapshot database"):
        open_snapshot_db(tmp_path / "none.duckdb", create=False)
    assert not (tmp_path / "none.duckdb").exists()


def test_config_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"{tmp_path}: is a folder; expected a TOML configuration file"):
        load_config("rfm", tmp_path)


def test_as_of_before_the_first_transaction_is_refused(small_transactions) -> None:
    from custlens.segment import lifecycle_stage, relationship_state, state_flow

    # small_transactions starts on 2023-06-01 (customer d)
    message = r"as_of 2000-01-01 is before the first transaction \(2023-06-01\); nothing to segment"
    for fn in (rfm_from_transactions, relationship_state, lifecycle_stage):
        with pytest.raises(InputError, match=message):
            fn(small_transactions, as_of="2000-01-01")
    with pytest.raises(InputError, match=message):
        customer_summary(small_transactions, as_of=date(2000, 1, 1))
    # the first transaction day itself is fine: one buyer
    summ, used = customer_summary(small_transactions, as_of="2023-06-01")
    assert used == date(2023, 6, 1) and summ.count().execute() == 1
    # a flow may start before the first transaction: everybody arrives from '(none)'
    flow = state_flow(small_transactions, "2000-01-01", "2024-03-31").to_pyarrow().to_pylist()
    assert {r["from_state"] for r in flow} == {"(none)"} and sum(r["customers"] for r in flow) == 5


def test_cli_as_of_before_the_first_transaction_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from custlens.cli import app

    path = tmp_path / "tx.csv"
    path.write_text(
        "customer_id,ordered_at,amount\na,2024-01-03,10\nb,2024-02-01,5\na,2024-03-01,7\n", encoding="utf-8"
    )
    for cmd in ("rfm", "state", "lifecycle"):
        res = CliRunner().invoke(app, ["segment", cmd, str(path), "--end", "2000-01-01"])
        assert res.exit_code == 2, (cmd, res.output)
        assert "as_of 2000-01-01 is before the first transaction (2024-01-03); nothing to segment" in " ".join(
            res.output.split()
        ), (cmd, res.output)
        assert "Traceback" not in res.output
