"""The rule language: parsing, compiling to Ibis, first-match rule segments, errors."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from custlens.errors import ConfigError
from custlens.segment.rules import RuleError, compile_rule, parse_rule, rule_segments

T = pa.table(
    {
        "customer_id": ["a", "b", "c", "d", "e"],
        "revenue": [100.0, 2500.0, 800.0, None, 12000.0],
        "order_count": [1, 5, 3, 0, 20],
        "region": ["east", "north", "west", "east", "south"],
        "customer type": ["personal", "corporate", "personal", "personal", "corporate"],
        "vip": [False, True, False, False, True],
    }
)


def _eval(rule: str) -> list[str]:
    t = ibis.memtable(T)
    return t.filter(compile_rule(rule, t, "r")).customer_id.to_pyarrow().to_pylist()


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("revenue >= 800", ["b", "c", "e"]),
        ("revenue > 500 and order_count < 10", ["b", "c"]),
        ("revenue < 500 or region = 'south'", ["a", "e"]),
        ("not (region in ('east', 'west'))", ["b", "e"]),
        ("region not in ('east', 'west')", ["b", "e"]),
        ("order_count between 3 and 5", ["b", "c"]),
        ("order_count not between 3 and 5", ["a", "d", "e"]),
        ("revenue / order_count > 500", ["e"]),
        ("revenue - 100 * order_count >= 2000", ["b", "e"]),
        ("-order_count < -4", ["b", "e"]),
        ("order_count % 2 = 1", ["a", "b", "c"]),
        ("revenue is null", ["d"]),
        ("revenue is not null and vip", ["b", "e"]),
        ("vip = true", ["b", "e"]),
        ('`customer type` == "corporate"', ["b", "e"]),
        ("region = 'east' AND revenue > 0 OR NOT vip AND region = 'nowhere'", ["a"]),
        ("revenue >= 1e3", ["b", "e"]),
        ("region = 'it\\'s'", []),
    ],
)
def test_rules_select_the_right_customers(rule: str, expected: list[str]) -> None:
    assert sorted(_eval(rule)) == expected


def test_precedence_and_binds_tighter_than_or() -> None:
    assert sorted(_eval("region = 'east' or region = 'west' and revenue > 1000")) == ["a", "d"]
    assert sorted(_eval("(region = 'east' or region = 'west') and revenue > 500")) == ["c"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("revenue >", "expected a column, a value or '\\(', got the end of the rule at position 9"),
        ("revenue >= 10 10", "unexpected '10' after a complete condition at position 14"),
        ("revnue > 10", "unknown column 'revnue'; did you mean 'revenue'\\? at position 0"),
        ("region in ('a' 'b')", "expected ',' or '\\)' in the list, got \"'b'\" at position 15"),
        ("revenue ; 1", "unexpected character ';' at position 8"),
        ("order_count between 1 or 2", "expected 'and' in 'between ... and ...'"),
        ("revenue + 1", "not a condition"),
        ("region > 5", "cannot apply 'gt' here"),
        ("", "the rule is empty"),
        ("revenue and vip", "'and' joins conditions"),
        ("(revenue > 1", "expected '\\)'"),
    ],
)
def test_errors_name_rule_position_and_problem(rule: str, message: str) -> None:
    with pytest.raises(RuleError, match=message) as info:
        compile_rule(rule, ibis.memtable(T), "big spenders")
    assert "rule 'big spenders'" in str(info.value)
    assert isinstance(info.value, ConfigError)


def test_parse_tree_is_data_not_code() -> None:
    tree = parse_rule("a > 1 and not b in ('x')")
    assert tree.kind == "and" and tree.args[1].kind == "not"


def test_rule_segments_first_match_wins_and_summary() -> None:
    rules = {
        "fallback": "others",
        "fallback_zh": "其他",
        "rule": [
            {"name": "vip", "name_zh": "贵宾", "when": "revenue >= 2000"},
            {"name": "corporate", "when": "`customer type` = 'corporate'"},  # b, e already vip
            {"name": "east", "when": "region = 'east'"},
        ],
    }
    res = rule_segments(T, rules, keep=["region"])
    rows = {r["customer_id"]: r for r in res.customers.to_pyarrow().to_pylist()}
    assert {k: v["segment"] for k, v in rows.items()} == {
        "a": "east",
        "b": "vip",
        "c": "others",
        "d": "east",
        "e": "vip",
    }
    assert rows["b"]["segment_zh"] == "贵宾" and rows["b"]["region"] == "north"
    summ = {r["segment"]: r for r in res.summary.to_pyarrow().to_pylist()}
    assert summ["vip"]["customers"] == 2 and summ["vip"]["value"] == 14500.0
    assert [r["segment"] for r in res.summary.to_pyarrow().to_pylist()] == ["vip", "east", "others"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"rule": [{"name": "x"}]}, "rule 1 \\('x'\\): missing 'when'"),
        ({"rule": [{"name": "x", "when": "revenue > 1", "colour": "red"}]}, "unknown setting 'colour'"),
        ({"rule": [{"name": "x", "when": "revenue > 1"}, {"name": "x", "when": "vip"}]}, "used twice"),
        ({"rule": [{"name": "bad one", "when": "revenue >> 1"}]}, "rule 'bad one'.*position 9"),
        ({"rules": []}, "did you mean 'rule'"),
    ],
)
def test_bad_rule_files(rules, message) -> None:
    with pytest.raises(ConfigError, match=message):
        rule_segments(T, rules)


def test_rule_file_from_toml(tmp_path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nname = "大客户"\nwhen = "revenue > 1000"\n', encoding="utf-8")
    res = rule_segments(T, path)
    segs = dict(
        zip(*[res.customers.order_by("customer_id")[c].to_pyarrow().to_pylist() for c in ("customer_id", "segment")])
    )
    assert segs == {"a": "other", "b": "大客户", "c": "other", "d": "other", "e": "大客户"}
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]\nname=1", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        rule_segments(T, bad)
