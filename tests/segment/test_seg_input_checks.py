"""User mistakes in transaction logs, snapshot databases and configuration files.

Text dates and text amounts are checked before they are cast (the backend would otherwise
stop with a conversion error naming neither row nor value; the checks themselves are
tested with :mod:`custlens.features.coerce`); snapshot paths that are not DuckDB databases
and configuration paths that are folders are refused with the file named.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from custlens.errors import ConfigError, InputError
from custlens.features import customer_features
from custlens.segment import (
    SegmentResult,
    features_from_transactions,
    lifecycle_stage_from_transactions,
    load_config,
    open_snapshot_db,
    relationship_state_from_transactions,
    rfm_from_transactions,
    save_snapshot,
    state_flow,
)
from custlens.segment import TransactionColumns as Cols


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


def test_text_dates_and_amounts_that_parse_give_the_same_features_as_typed_columns() -> None:
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
    got, as_of = features_from_transactions(text, as_of=None, columns=Cols())
    want, as_of_typed = features_from_transactions(typed, as_of=None, columns=Cols())
    assert as_of == as_of_typed == date(2024, 3, 1)
    assert got.order_by("customer_id").to_pyarrow().to_pylist() == want.order_by("customer_id").to_pyarrow().to_pylist()


def test_bad_text_dates_and_amounts_stop_every_transaction_method() -> None:
    log = _text_log(["2024-01-01", "not-a-date", "2024-01-15", "31/12/2024"], ["1", "2", "3", "4"])
    for fn in (rfm_from_transactions, relationship_state_from_transactions, lifecycle_stage_from_transactions):
        with pytest.raises(InputError) as err:
            fn(log, as_of="2024-12-31")  # an explicit as-of date does not skip the check
        msg = str(err.value)
        assert msg.startswith("transactions: column 'ordered_at': 2 value(s) are not dates"), msg
        assert "(first: data row 2, value 'not-a-date')" in msg
    log = _text_log(["2024-01-01", "2024-01-02", "2024-01-03"], ["10", "12.5", "ten"])
    with pytest.raises(InputError, match=r"column 'amount': 1 value\(s\) are not numbers .*data row 3, value 'ten'"):
        rfm_from_transactions(log)


def _result() -> SegmentResult:
    customers = ibis.memtable(pa.table({"customer_id": ["a", "b"], "segment": ["x", "y"]}))
    return SegmentResult("rfm", date(2024, 3, 31), customers, ("customer_id", "segment"))


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


def test_as_of_before_the_first_transaction_is_refused_when_checked(small_transactions) -> None:
    # small_transactions starts on 2023-06-01 (customer d)
    message = r"'as_of' 2000-01-01 is before the first transaction \(2023-06-01\); nothing is on or before it"
    for fn in (rfm_from_transactions, relationship_state_from_transactions, lifecycle_stage_from_transactions):
        with pytest.raises(InputError, match=message):
            fn(small_transactions, as_of="2000-01-01", check_as_of=True)
        # unchecked (the default: nothing runs while building), the result is simply empty
        assert fn(small_transactions, as_of="2000-01-01").customers.count().execute() == 0
    with pytest.raises(InputError, match=message):
        features_from_transactions(small_transactions, as_of=date(2000, 1, 1), columns=Cols(), check_as_of=True)
    with pytest.raises(InputError, match=message):
        state_flow(small_transactions, "1999-01-01", "2000-01-01", check_as_of=True)
    # the first transaction day itself is fine: one buyer
    feats, used = features_from_transactions(small_transactions, as_of="2023-06-01", columns=Cols(), check_as_of=True)
    assert used == date(2023, 6, 1) and feats.count().execute() == 1
    # a flow may start before the first transaction: everybody arrives from '(none)'
    flow = state_flow(small_transactions, "2000-01-01", "2024-03-31", check_as_of=True).to_pyarrow().to_pylist()
    assert {r["from_state"] for r in flow} == {"(none)"} and sum(r["customers"] for r in flow) == 5


def test_features_from_transactions_are_customer_features(small_transactions) -> None:
    feats, used = features_from_transactions(small_transactions, as_of=None, columns=Cols(), window_days=30)
    want = customer_features(ibis.memtable(small_transactions), as_of=used, window_days=30)
    key = ["customer_id"]
    assert feats.order_by(key).to_pyarrow().equals(want.order_by(key).to_pyarrow())


def test_cli_as_of_before_the_first_transaction_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from custlens.cli import app

    path = tmp_path / "tx.csv"
    path.write_text(
        "customer_id,ordered_at,amount\na,2024-01-03,10\nb,2024-02-01,5\na,2024-03-01,7\n", encoding="utf-8"
    )
    for cmd in ("rfm", "state", "lifecycle"):
        for flag in ("--as-of", "--end"):
            res = CliRunner().invoke(app, ["segment", cmd, str(path), flag, "2000-01-01"])
            assert res.exit_code == 2, (cmd, res.output)
            # the library names 'as_of'; the command's error reporter may spell it as the flag
            assert "2000-01-01 is before the first transaction (2024-01-03)" in " ".join(res.output.split()), (
                cmd,
                res.output,
            )
            assert "Traceback" not in res.output
