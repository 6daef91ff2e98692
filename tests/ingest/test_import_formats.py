"""Hand-checkable imports: each format, encoding and oddity, with the expected values
worked out by hand beside each assertion."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custlens.ingest import import_file, parse_mapping
from custlens.warehouse import Workspace

from .conftest import quarantine, rows, write

UTC = UTC
TX_HEADER = "order_id,customer_id,ordered_at,amount\n"


def test_utf8_with_and_without_bom_give_the_same_rows(ws: Workspace, tmp_path: Path) -> None:
    body = TX_HEADER + "o1,c1,2024-01-05 10:00:00,12.5\no2,c2,2024-01-06,3\n"
    plain = write(tmp_path / "plain.csv", body)
    bom = write(tmp_path / "bom.csv", body, "utf-8-sig")
    r1 = import_file(ws, plain, table="transactions")
    assert r1.encoding == "utf-8" and r1.rows_loaded == 2
    # the BOM file has other bytes (a new hash) but the same keys and values: duplicates
    r2 = import_file(ws, bom, table="transactions")
    assert (r2.rows_loaded, r2.rows_duplicate, r2.rows_rejected) == (0, 2, 0)
    got = rows(ws, "transactions", "order_id")
    assert got[0]["ordered_at"] == datetime(2024, 1, 5, 10, tzinfo=UTC)
    assert got[0]["line"] == 1 and got[0]["ordered_tz"] == "UTC"
    assert got[1]["amount"] == 3.0


def test_gbk_file_with_chinese_headers_and_value_map(ws: Workspace, tmp_path: Path) -> None:
    text = (
        "订单号,客户编号,下单时间,金额,渠道\n"
        'A001,客户1,2024年3月1日 09:30,"￥1,234.50",门店\n'
        "A002,客户2,2024年3月2日 20:15,￥88元,网店\n"
    )
    src = write(tmp_path / "订单.csv", text, "gbk")
    mapping = parse_mapping(
        {
            "source": {"timezone": "Asia/Shanghai", "date_format": "%Y年%m月%d日 %H:%M"},
            "columns": {
                "order_id": "订单号",
                "customer_id": "客户编号",
                "ordered_at": "下单时间",
                "amount": "金额",
                "channel": {"source": "渠道", "values": {"门店": "store", "网店": "web"}},
            },
        }
    )
    report = import_file(ws, src, table="transactions", mapping=mapping)
    assert report.encoding == "gb18030"
    assert (report.rows_read, report.rows_loaded) == (2, 2)
    got = rows(ws, "transactions", "order_id")
    # 09:30 in Shanghai (UTC+8) is 01:30 UTC; 20:15 is 12:15 UTC
    assert got[0]["ordered_at"] == datetime(2024, 3, 1, 1, 30, tzinfo=UTC)
    assert got[1]["ordered_at"] == datetime(2024, 3, 2, 12, 15, tzinfo=UTC)
    assert [g["ordered_tz"] for g in got] == ["Asia/Shanghai"] * 2
    assert [g["amount"] for g in got] == [1234.5, 88.0]
    assert [g["channel"] for g in got] == ["store", "web"]
    assert [g["customer_id"] for g in got] == ["客户1", "客户2"]


@pytest.mark.parametrize(
    ("decimal", "thousands", "cells", "expected"),
    [
        (
            ".",
            ",",
            ['"¥1,234.50"', "$ 12.00", "(7.25)", "1e3", '"1,000,000"'],
            [1234.5, 12.0, -7.25, 1000.0, 1_000_000.0],
        ),
        (",", ".", ['"1.234,50"', '"€ 12,00"', '"-0,5"', "3", '"2.000.000"'], [1234.5, 12.0, -0.5, 3.0, 2_000_000.0]),
        (",", " ", ['"1 234,50"', '"12,5 ₽"', '"7"', '"0,25"', '"1 000 000"'], [1234.5, None, 7.0, 0.25, 1_000_000.0]),
    ],
)
def test_amount_formats(
    ws: Workspace, tmp_path: Path, decimal: str, thousands: str, cells: list[str], expected: list[float | None]
) -> None:
    lines = [f"o{i},c1,2024-01-01,{cell}" for i, cell in enumerate(cells)]
    src = write(tmp_path / "amounts.csv", TX_HEADER + "\n".join(lines) + "\n")
    mapping = parse_mapping({"source": {"decimal": decimal, "thousands": thousands}})
    report = import_file(ws, src, table="transactions", mapping=mapping, max_reject_rate=1.0)
    got = {r["order_id"]: r["amount"] for r in rows(ws, "transactions")}
    for i, want in enumerate(expected):
        assert got.get(f"o{i}") == want, cells[i]
    # "₽" is not among the default currency marks: that one cell is rejected
    assert report.rows_rejected == sum(v is None for v in expected)


def test_ambiguous_thousands_grouping_is_rejected(ws: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "a.csv", TX_HEADER + 'o1,c1,2024-01-01,"1,23"\no2,c1,2024-01-01,"12,345"\n')
    report = import_file(ws, src, table="transactions", max_reject_rate=1.0)
    assert report.rows_rejected == 1
    [record] = quarantine(report.quarantine_path)
    assert (record["line"], record["column"], record["value"]) == (2, "amount", "1,23")
    assert "not a number" in record["reason"]


def test_negative_amounts_are_returns_and_flags_are_kept(ws: Workspace, tmp_path: Path) -> None:
    src = write(
        tmp_path / "r.csv",
        "order_id,customer_id,ordered_at,amount,return_flag\n"
        "o1,c1,2024-01-01,-5,\no2,c1,2024-01-01,5,是\no3,c1,2024-01-01,5,no\n",
    )
    import_file(ws, src, table="transactions")
    got = {r["order_id"]: r["return_flag"] for r in rows(ws, "transactions")}
    assert got == {"o1": True, "o2": True, "o3": False}


def test_margin_is_derived_from_cost(ws: Workspace, tmp_path: Path) -> None:
    src = write(
        tmp_path / "m.csv",
        "order_id,customer_id,ordered_at,amount,cost\no1,c1,2024-01-01,10,6.5\no2,c1,2024-01-01,10,\n",
    )
    import_file(ws, src, table="transactions")
    got = {r["order_id"]: r["margin"] for r in rows(ws, "transactions")}
    assert got == {"o1": 3.5, "o2": None}


def test_missing_ids_bad_dates_and_ragged_rows_go_to_quarantine(ws: Workspace, tmp_path: Path) -> None:
    src = write(
        tmp_path / "bad.csv",
        TX_HEADER + "o1,c1,2024-01-01,1\n"  # line 2: fine
        "o2,,2024-01-01,1\n"  # line 3: missing customer
        "o3,c1,2024-02-30,1\n"  # line 4: no 30 February
        "o4,c1,2024-01-01,1,x\n"  # line 5: five fields
        "o5,c1,2024-01-01,1\n",
    )  # line 6: fine
    report = import_file(ws, src, table="transactions", max_reject_rate=0.75)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 2, 3)
    records = sorted(quarantine(report.quarantine_path), key=lambda r: r["line"])
    assert [(r["line"], r["column"]) for r in records] == [(3, "customer_id"), (4, "ordered_at"), (5, "")]
    assert records[0]["reason"] == "missing required value"
    assert "not a date" in records[1]["reason"] and records[1]["value"] == "2024-02-30"
    assert "has 5 field(s), expected 4" in records[2]["reason"]
    assert all(r["file"] == str(src) for r in records)


def test_line_numbers_after_skipped_rows_and_ragged_rows(ws: Workspace, tmp_path: Path) -> None:
    src = write(
        tmp_path / "skip.csv",
        "exported by ERP\n\nignored\n" + TX_HEADER + "o1,c1,2024-01-01,1\no2,c1\no3,c1,2024-01-01,zz\n",
    )
    mapping = parse_mapping({"source": {"skip_rows": 3}})
    report = import_file(ws, src, table="transactions", mapping=mapping, max_reject_rate=1.0)
    records = sorted(quarantine(report.quarantine_path), key=lambda r: r["line"])
    # header on line 4; o2 is line 6 (too few fields); o3 is line 7 (bad amount)
    assert [(r["line"], r["value"]) for r in records] == [(6, "o2,c1"), (7, "zz")]


def test_duplicates_in_the_file_and_key_conflicts(ws: Workspace, tmp_path: Path) -> None:
    src = write(
        tmp_path / "d.csv",
        TX_HEADER + "o1,c1,2024-01-01,1\n"
        "o1,c1,2024-01-01,1\n"  # exact copy: dropped as duplicate
        "o1,c1,2024-01-01,2\n"  # same key, other amount: rejected
        "o2,c2,2024-01-01,1\n",
    )
    report = import_file(ws, src, table="transactions", max_reject_rate=0.5)
    assert (report.rows_loaded, report.rows_duplicate, report.rows_rejected) == (2, 1, 1)
    reasons = {r["line"]: r["reason"] for r in quarantine(report.quarantine_path)}
    assert reasons[3].startswith("exact duplicate of line 2")
    assert reasons[4] == "same order_id+line as line 2 but different values"
    # a second file overlapping the warehouse: identical rows are duplicates, changed ones rejected
    src2 = write(tmp_path / "d2.csv", TX_HEADER + "o1,c1,2024-01-01,1\no2,c2,2024-01-01,9\no3,c3,2024-01-01,1\n")
    report2 = import_file(ws, src2, table="transactions", max_reject_rate=0.5)
    assert (report2.rows_loaded, report2.rows_duplicate, report2.rows_rejected) == (1, 1, 1)
    assert sorted(r["order_id"] for r in rows(ws, "transactions")) == ["o1", "o2", "o3"]


def test_same_file_twice_is_skipped_refused_or_reimported(ws: Workspace, tmp_path: Path) -> None:
    from custlens.errors import InputError

    src = write(tmp_path / "t.csv", TX_HEADER + "o1,c1,2024-01-01,1\n")
    first = import_file(ws, src, table="transactions")
    again = import_file(ws, src, table="transactions")
    assert again.status == "skipped" and again.import_id == first.import_id
    assert "already imported" in again.message
    with pytest.raises(InputError, match="already imported into 'transactions' as import 1"):
        import_file(ws, src, table="transactions", on_repeat="error")
    third = import_file(ws, src, table="transactions", on_repeat="import")
    assert (third.rows_loaded, third.rows_duplicate) == (0, 1)
    assert ws.row_counts()["transactions"] == 1
    ledger = ws.imports().to_pyarrow()
    assert ledger.num_rows == 2 and set(ledger.column("sha256").to_pylist()) == {first.sha256}


def test_too_many_rejects_commits_nothing(ws: Workspace, tmp_path: Path) -> None:
    from custlens.errors import RejectedImportError

    src = write(tmp_path / "t.csv", TX_HEADER + "o1,c1,2024-01-01,1\n" + "o2,,2024-01-01,1\n")
    with pytest.raises(RejectedImportError) as info:
        import_file(ws, src, table="transactions", max_reject_rate=0.4)
    message = str(info.value)
    assert "1 of 2 rows rejected (50.00%)" in message and "accepted 40.00%" in message
    qfile = message.rsplit(" in ", 1)[1]
    assert Path(qfile).is_file() and quarantine(qfile)[0]["line"] == 3
    assert ws.row_counts()["transactions"] == 0
    assert ws.imports().to_pyarrow().num_rows == 0
    # the default limit is the workspace's (1 %)
    with pytest.raises(RejectedImportError, match="accepted 1.00%"):
        import_file(ws, src, table="transactions")


def test_tsv_and_semicolon_files(ws: Workspace, tmp_path: Path) -> None:
    tsv = write(tmp_path / "a.tsv", TX_HEADER.replace(",", "\t") + "o1\tc1\t2024-01-01\t1,5\n")
    r = import_file(
        ws, tsv, table="transactions", mapping=parse_mapping({"source": {"decimal": ",", "thousands": "."}})
    )
    assert r.rows_loaded == 1
    semi = write(tmp_path / "b.csv", TX_HEADER.replace(",", ";") + "o2;c1;2024-01-01;2\n")
    assert import_file(ws, semi, table="transactions").rows_loaded == 1
    assert sorted(x["amount"] for x in rows(ws, "transactions")) == [1.5, 2.0]


def test_parquet_keeps_its_types_and_local_times(ws: Workspace, tmp_path: Path) -> None:
    table = pa.table(
        {
            "order_id": ["p1", "p2"],
            "customer_id": ["c1", "c2"],
            "ordered_at": pa.array([datetime(2024, 6, 1, 8, 0), datetime(2024, 6, 2, 8, 0)], pa.timestamp("ms")),
            "amount": pa.array([10, -3], pa.int32()),
            "quantity": [1.0, -1.0],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    mapping = parse_mapping({"source": {"timezone": "Europe/Berlin"}})
    report = import_file(ws, tmp_path / "t.parquet", table="transactions", mapping=mapping)
    assert report.format == "parquet" and report.rows_loaded == 2
    got = rows(ws, "transactions", "order_id")
    # 08:00 in Berlin in June (CEST, UTC+2) is 06:00 UTC
    assert got[0]["ordered_at"] == datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    assert got[0]["ordered_tz"] == "Europe/Berlin"
    assert [g["amount"] for g in got] == [10.0, -3.0]
    assert [g["return_flag"] for g in got] == [False, True]


def test_excel_with_dates_and_mixed_cells(ws: Workspace, tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "应收"
    sheet.append(["发票号", "客户", "开票日期", "到期日", "付款日", "金额", "已付"])
    sheet.append(["INV1", "c1", datetime(2024, 1, 5), datetime(2024, 2, 4), None, 1000, 0])
    sheet.append(["INV2", "c2", "2024-01-07", "2024-02-06", "2024-02-01", "¥2,000.00", 2000])
    path = tmp_path / "ar.xlsx"
    book.save(path)
    mapping = parse_mapping(
        {
            "source": {"sheet": "应收"},
            "columns": {
                "invoice_id": "发票号",
                "customer_id": "客户",
                "issued_on": "开票日期",
                "due_on": "到期日",
                "paid_on": "付款日",
                "amount": "金额",
                "paid_amount": "已付",
            },
        }
    )
    report = import_file(ws, path, table="receivables", mapping=mapping)
    assert report.format == "excel" and report.rows_loaded == 2
    got = rows(ws, "receivables", "invoice_id")
    assert got[0]["issued_on"] == date(2024, 1, 5) and got[0]["paid_on"] is None
    assert got[1]["amount"] == 2000.0 and got[1]["paid_on"] == date(2024, 2, 1)


def test_customers_labels_are_normalised_and_checked(ws: Workspace, tmp_path: Path) -> None:
    src = write(
        tmp_path / "c.csv",
        "customer_id,customer_type,listed,registered_capital\n"
        'c1,Personal,,\nc2,CORPORATE,是,"5,000,000"\nc3,robot,,\nc4,corporate,yes,-1\n',
    )
    report = import_file(ws, src, table="customers", max_reject_rate=1.0)
    assert report.rows_loaded == 2
    got = {r["customer_id"]: (r["customer_type"], r["listed"], r["registered_capital"]) for r in rows(ws, "customers")}
    assert got == {"c1": ("personal", None, None), "c2": ("corporate", True, 5_000_000.0)}
    reasons = {r["line"]: r["reason"] for r in quarantine(report.quarantine_path)}
    assert "expected one of: personal, corporate" in reasons[4]
    assert reasons[5] == "below the minimum 0 of registered_capital"


def test_constants_and_offsets_in_timestamps(ws: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "i.csv", "id,who,when\ni1,c1,2024-01-05T10:00:00+08:00\ni2,c1,2024-01-05T10:00:00.250Z\n")
    mapping = parse_mapping(
        {
            "columns": {"interaction_id": "id", "customer_id": "who", "occurred_at": "when"},
            "constants": {"kind": "complaint", "channel": "phone"},
        }
    )
    report = import_file(ws, src, table="interactions", mapping=mapping)
    assert report.rows_loaded == 2 and report.ignored_columns == ()
    got = rows(ws, "interactions", "interaction_id")
    assert got[0]["occurred_at"] == datetime(2024, 1, 5, 2, 0, tzinfo=UTC)
    assert got[1]["occurred_at"] == datetime(2024, 1, 5, 10, 0, 0, 250_000, tzinfo=UTC)
    assert {g["kind"] for g in got} == {"complaint"}


def test_header_only_file_loads_nothing(ws: Workspace, tmp_path: Path) -> None:
    report = import_file(ws, write(tmp_path / "h.csv", TX_HEADER), table="transactions")
    assert (report.status, report.rows_read, report.rows_loaded) == ("loaded", 0, 0)


def test_header_without_newline_loads_nothing(ws: Workspace, tmp_path: Path) -> None:
    report = import_file(ws, write(tmp_path / "h.csv", TX_HEADER.strip()), table="transactions")
    assert (report.rows_read, report.rows_loaded) == (0, 0)


def test_unreadable_inputs_are_input_errors(ws: Workspace, tmp_path: Path) -> None:
    from custlens.errors import InputError

    bad = tmp_path / "bad.csv"
    bad.write_bytes(TX_HEADER.encode() + b"o1,c1,2024-01-01,\xff\xff\n")  # not UTF-8, not GB18030
    with pytest.raises(InputError, match=r"neither UTF-8 \(invalid byte at offset 56\) nor GB18030"):
        import_file(ws, bad, table="transactions")
    with pytest.raises(InputError, match="the file is empty"):
        import_file(ws, write(tmp_path / "e.csv", ""), table="transactions")
    with pytest.raises(InputError, match="unsupported file type '.json'"):
        import_file(ws, write(tmp_path / "x.json", "{}"), table="transactions")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        import_file(ws, write(tmp_path / "x.parquet", "not parquet"), table="transactions")
    nested = tmp_path / "nested.parquet"
    pq.write_table(
        pa.table({"order_id": ["o1"], "customer_id": [["c1"]], "ordered_at": ["2024-01-01"], "amount": [1.0]}), nested
    )
    with pytest.raises(InputError, match="column 'customer_id' has type list<element: string>"):
        import_file(ws, nested, table="transactions")
    assert ws.row_counts()["transactions"] == 0


@pytest.mark.parametrize("rate", [-0.1, 1.5, "lots", float("nan")])
def test_bad_reject_rate_is_an_input_error(ws: Workspace, tmp_path: Path, rate: object) -> None:
    from custlens.errors import InputError

    src = write(tmp_path / "t.csv", TX_HEADER + "o1,c1,2024-01-01,1\n")
    with pytest.raises(InputError, match="'max_reject_rate' must be a number between 0 and 1"):
        import_file(ws, src, table="transactions", max_reject_rate=rate)  # type: ignore[arg-type]


def test_a_spark_workspace_refuses_imports_it_would_never_read(tmp_path: Path) -> None:
    # its canonical tables are Parquet files read by Spark; only identity lives in its DuckDB file
    from custlens.errors import InputError
    from custlens.warehouse import WorkspaceSettings

    settings = WorkspaceSettings(backend="spark", spark_tables=str(tmp_path / "tables"))
    src = write(tmp_path / "t.csv", TX_HEADER + "o1,c1,2024-01-01,1\n")
    with Workspace.init(tmp_path / "ws", settings=settings) as spark_ws:
        with pytest.raises(InputError, match="a Spark workspace reads its 'transactions' table from Parquet"):
            import_file(spark_ws, src, table="transactions")
        assert spark_ws.imports().to_pyarrow().num_rows == 0


def test_plain_looking_amounts_follow_the_separators_of_the_mapping(ws: Workspace, tmp_path: Path) -> None:
    """With ',' as the decimal separator, '1.234' is one thousand two hundred and thirty-four
    even when every amount of the file looks like a plain decimal (no quick reading as 1.234)."""
    src = write(tmp_path / "eu.csv", TX_HEADER + "o1,c1,2024-01-01,1.234\no2,c1,2024-01-01,12\n")
    mapping = parse_mapping({"source": {"decimal": ",", "thousands": "."}})
    import_file(ws, src, table="transactions", mapping=mapping)
    assert {r["order_id"]: r["amount"] for r in rows(ws, "transactions")} == {"o1": 1234.0, "o2": 12.0}
