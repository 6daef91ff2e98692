"""Mapping files: the format, and clear errors for mistakes in them."""

from __future__ import annotations

from pathlib import Path

import pytest

from custlens.errors import ConfigError, InputError
from custlens.ingest import import_file, load_mapping, parse_mapping
from custlens.ingest.plan import build_plan
from custlens.schema import table
from custlens.warehouse import Workspace

FULL = """
table = "transactions"

[source]
encoding = "auto"
delimiter = ","
date_format = ["%d/%m/%Y %H:%M", "%d/%m/%Y"]
timezone = "Asia/Shanghai"
decimal = ","
thousands = "."
currency_symbols = ["€", "EUR"]
null_values = ["", "-"]

[columns]
order_id = "Bestellung"
customer_id = "Kunde"
ordered_at = "Datum"
amount = "Betrag"
channel = { source = "Kanal", values = { "Laden" = "store" } }

[constants]
category = "books"

[values.channel]
"Netz" = "web"
"""


def test_full_mapping_file_parses_and_imports(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(FULL, encoding="utf-8")
    mapping = load_mapping(path)
    assert mapping.sha256 and mapping.date_formats == ("%d/%m/%Y %H:%M", "%d/%m/%Y")
    assert mapping.columns["channel"].values == {"Laden": "store", "Netz": "web"}
    src = tmp_path / "orders.csv"
    src.write_text(
        "Bestellung,Kunde,Datum,Betrag,Kanal,Notiz\n"
        'B1,k1,31/01/2024 09:00,"1.234,50 €",Laden,x\n'
        "B2,k2,01/02/2024,-,Netz,y\n",
        encoding="utf-8",
    )
    with Workspace.init(tmp_path / "ws") as ws:
        report = import_file(ws, src, table="transactions", mapping=path, max_reject_rate=0.5)
        got = ws.raw.sql("SELECT order_id, amount, channel, category, ordered_tz FROM transactions").fetchall()
    # B2 has amount '-' (a null value here) and amount is required: rejected
    assert (report.rows_loaded, report.rows_rejected) == (1, 1)
    assert got == [("B1", 1234.5, "store", "books", "Asia/Shanghai")]
    assert report.ignored_columns == ("Notiz",)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"colums": {}}, "unknown key(s) 'colums'"),
        ({"source": {"timezone": "Mars/Olympus"}}, "unknown time zone 'Mars/Olympus'"),
        ({"source": {"decimal": ",", "thousands": ","}}, "both ','"),
        ({"source": {"encoding": "koi8-r"}}, "encoding' must be one of auto, utf-8, gb18030, latin-1, cp1252"),
        ({"columns": {"amount": {"source": "a", "constant": 1}}}, "exactly one of 'source' or 'constant'"),
        ({"columns": {"amount": {"source": "a", "format": "x"}}}, "unknown key(s) 'format'"),
        ({"columns": {"amount": 5}}, "must be a source column name or a table"),
        ({"columns": {"price": "a"}}, "does not have; expected one of"),
        ({"table": "customers"}, "written for table 'customers'"),
    ],
)
def test_mapping_mistakes_are_config_errors(doc: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_plan(table("transactions"), parse_mapping(doc), ["a"], origin="f.csv")
    assert message in str(info.value)


def test_missing_source_column_and_missing_required_column(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="from column 'Betrag', which the file does not have"):
        build_plan(
            table("transactions"),
            parse_mapping({"columns": {"amount": "Betrag"}}),
            ["order_id", "customer_id", "ordered_at"],
            origin="f.csv",
        )
    with pytest.raises(InputError, match="transactions.customer_id is required.*columns are: order_id"):
        build_plan(table("transactions"), parse_mapping({}), ["order_id"], origin="f.csv")


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text("[columns\n")
    with pytest.raises(ConfigError, match="not a valid TOML mapping file"):
        load_mapping(path)
    with pytest.raises(InputError, match="no such mapping file"):
        load_mapping(tmp_path / "absent.toml")


def test_the_example_in_docs_import_md_is_a_valid_mapping(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    blocks = [b.split("```")[0] for b in doc.split("```toml")[1:]]
    block = next(b for b in blocks if "erp-orders.toml" in b)
    path = tmp_path / "erp-orders.toml"
    path.write_text(block, encoding="utf-8")
    mapping = load_mapping(path)
    assert mapping.timezone == "Asia/Shanghai" and mapping.skip_rows == 2
    assert mapping.true_values == ("是", "y") and mapping.columns["return_flag"].values["退货"] == "true"
    src = tmp_path / "orders.csv"
    src.write_text(
        "导出: ERP\n日期: 2024-03-02\n"
        "订单号,行号,客户编号,下单时间,金额,成本,数量,商品编码,品类,return_flag\n"
        'A1,1,K1,2024年3月1日 09:30,"¥1,200.00",800,1,P1,家电,正常\n'
        "A1,2,K1,2024-03-01,-50元,-30,-1,P2,图书,退货\n",
        encoding="utf-8",
    )
    with Workspace.init(tmp_path / "ws") as ws:
        report = import_file(ws, src, table="transactions", mapping=path)
        got = ws.raw.sql(
            "SELECT line, amount, margin, category, channel, return_flag FROM transactions ORDER BY line"
        ).fetchall()
    assert report.rows_loaded == 2
    assert got == [(1, 1200.0, 400.0, "appliances", "store", False), (2, -50.0, -20.0, "books", "store", True)]


def test_an_invalid_constant_is_a_config_error(tmp_path: Path) -> None:
    src = tmp_path / "i.csv"
    src.write_text("interaction_id,customer_id,occurred_at\ni1,c1,2024-01-01\n")
    mapping = parse_mapping({"constants": {"kind": "grumble"}})
    with Workspace.init(tmp_path / "ws") as ws:
        with pytest.raises(ConfigError, match="constant 'grumble' for kind is invalid: not an allowed"):
            import_file(ws, src, table="interactions", mapping=mapping)
        assert ws.row_counts()["interactions"] == 0
