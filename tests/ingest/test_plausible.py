"""Issue 10, defects 4 and 5: implausible values are rejected, Latin-1 files are not read as Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest

from custlens.errors import ConfigError, InputError
from custlens.ingest import import_file
from custlens.warehouse import Workspace, WorkspaceSettings

from .conftest import quarantine, rows, write


@pytest.fixture
def cny(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Workspace.init(tmp_path / "ws", settings=WorkspaceSettings(currency="CNY")) as ws:
        yield ws


def _reasons(report) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return {r["line"]: r["reason"] for r in quarantine(report.quarantine_path)}


def test_dates_amounts_offsets_and_foreign_currencies_are_rejected(cny: Workspace, tmp_path: Path) -> None:
    src = write(
        tmp_path / "tx.csv",
        "order_id,customer_id,ordered_at,amount\n"
        "o1,c1,2024-01-05,¥10\n"  # 2: fine
        "o2,c1,9999-12-31,10\n"  # 3: far future
        "o3,c1,0001-01-01,10\n"  # 4: far past
        "o4,c1,2024-01-05,1e308\n"  # 5: beyond the amount bound
        "o5,c1,2024-01-05T10:00:00+25:00,10\n"  # 6: no such offset
        "o6,c1,2024-01-05,$5\n"  # 7: another currency
        "o7,c1,2024-01-05,€5\n"  # 8
        "o8,c1,2024-01-05,5元\n"  # 9: fine (the workspace's own)
        "o9,c1,2024-01-05T10:00:00+14:00,RMB 7\n"  # 10: fine
        "o10,c\x01,2024-01-05,1\n",  # 11: a control character
    )
    report = import_file(cny, src, table="transactions", max_reject_rate=1)
    reasons = _reasons(report)
    assert report.rows_loaded == 3 and report.rows_rejected == 7
    assert "outside the accepted window 1900-01-01 to 2100-12-31" in reasons[3] and "date" in reasons[4]
    assert "beyond the accepted bound" in reasons[5]
    assert "offset beyond +/-14:00" in reasons[6]
    assert "another currency; the workspace's currency is CNY" in reasons[7] and "another currency" in reasons[8]
    assert "control character" in reasons[11]
    amounts = sorted(r["amount"] for r in rows(cny, "transactions"))
    assert amounts == [5.0, 7.0, 10.0]


def test_the_window_and_bound_are_settings(tmp_path: Path) -> None:
    settings = WorkspaceSettings(earliest_date="2020-01-01", latest_date="2030-12-31", max_amount=100)
    with Workspace.init(tmp_path / "ws", settings=settings) as ws:
        src = write(
            tmp_path / "tx.csv",
            "order_id,customer_id,ordered_at,amount\no1,c,2019-12-31,1\no2,c,2024-01-01,101\no3,c,2024-01-01,$100\n",
        )
        report = import_file(ws, src, table="transactions", max_reject_rate=1)
        assert report.rows_loaded == 1  # no workspace currency: the usual marks are removed, as before
    with pytest.raises(ConfigError, match="earliest_date 2031-01-01 must be before latest_date"):
        Workspace.init(
            tmp_path / "w2", settings=WorkspaceSettings(earliest_date="2031-01-01", latest_date="2030-01-01")
        )


def test_a_nul_or_control_character_in_the_header_is_an_error(ws: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "h.csv", "order_id,customer_id,ordered\x00_at,amount\no1,c,2024-01-01,1\n")
    with pytest.raises(InputError, match="column 3 of the header holds a control character"):
        import_file(ws, src, table="transactions")


def test_latin1_is_detected_not_read_as_chinese(ws: Workspace, tmp_path: Path) -> None:
    text = "customer_id,customer_type,city\nk1,personal,München\nk2,personal,Málaga\nk3,personal,Ærøskøbing\n"
    src = write(tmp_path / "latin.csv", text, encoding="latin-1")
    with pytest.raises(InputError, match="Latin-1 or Windows-1252.*--encoding cp1252"):
        import_file(ws, src, table="customers")
    assert ws.row_counts()["customers"] == 0
    report = import_file(ws, src, table="customers", encoding="cp1252")
    assert report.encoding == "cp1252"
    assert sorted(r["city"] for r in rows(ws, "customers")) == ["Málaga", "München", "Ærøskøbing"]


def test_gb18030_still_detected_and_a_forced_wrong_encoding_warns(ws: Workspace, tmp_path: Path) -> None:
    chinese = write(
        tmp_path / "cn.csv", "customer_id,customer_type,city\nk1,personal,北京市\nk2,personal,上海市\n", "gb18030"
    )
    assert import_file(ws, chinese, table="customers").encoding == "gb18030"
    latin = write(tmp_path / "l.csv", "customer_id,customer_type,city\nk3,personal,Søren Ødegård Renée\n", "latin-1")
    report = import_file(ws, latin, table="customers", encoding="gb18030", max_reject_rate=1)
    assert report.warnings and "looks like Latin-1" in report.warnings[0]
