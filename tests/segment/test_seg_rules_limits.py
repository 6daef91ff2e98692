"""Issue 10, defects 8 and 9: hostile rules and files are one clear error, fast, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import ibis
import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.errors import ConfigError
from custlens.segment.rules import MAX_IN_ITEMS, RuleError, compile_rule


@pytest.fixture
def table() -> ibis.Table:
    return ibis.memtable({"revenue": [1.0, 2.0, 3.0], "city": ["a", "b", "c"]})


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("revenue in (1, 'a')", "mixes numbers and texts"),
        ("city in ('a', true)", "mixes texts and true/false"),
        ("(" * 2000 + "revenue > 1" + ")" * 2000, "nests more than 100 levels"),
        ("not " * 2000 + "revenue > 1", "nests more than 100 levels"),
        ("-" * 2000 + "revenue > 1", "nests more than 100 levels"),
        (" or ".join(["revenue > 1"] * 500), "chains more than 200 operations"),
        ("revenue in (" + ",".join(map(str, range(100_000))) + ")", "a rule may have at most 10,000"),
        ("revenue in (" + ",".join(map(str, range(MAX_IN_ITEMS + 1))) + ")", "more than 1,000 values after 'in'"),
    ],
)
def test_hostile_rules_are_one_clear_error(table: ibis.Table, rule: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(RuleError, match=message):
        compile_rule(rule, table, "hostile")
    assert time.perf_counter() - started < 2


def test_a_long_but_allowed_in_list_is_quick(table: ibis.Table) -> None:
    started = time.perf_counter()
    expr = compile_rule("revenue in (" + ",".join(map(str, range(MAX_IN_ITEMS))) + ")", table)
    assert table.filter(expr).count().execute() == 3
    assert time.perf_counter() - started < 5


def test_a_toml_nested_thousands_deep_is_a_config_error(tmp_path: Path) -> None:
    from custlens._toml import read_toml
    from custlens.ingest import load_mapping

    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deeply"):
        read_toml(deep, "a TOML configuration file")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_mapping(deep)
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,ordered_at,amount\na,2024-01-01,10\nb,2024-02-01,5\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["segment", "rfm", str(tx), "--config", str(deep)])
    assert result.exit_code == 2 and "nested too deeply" in result.output and "Traceback" not in result.output
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rule]]\nname = 'x'\nwhen = \"revenue in (1, 'a')\"\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["segment", "rules", str(tx), "--from-transactions", "--rules", str(rules)])
    assert result.exit_code == 2 and "mixes numbers and texts" in result.output, result.output


def test_segment_state_top_must_be_positive(tmp_path: Path) -> None:
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,ordered_at,amount\na,2024-01-01,10\nb,2024-02-01,5\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["segment", "state", str(tx), "--winback", "--top", "-1"])
    assert result.exit_code == 2 and "--top must be a whole number >= 1" in result.output
