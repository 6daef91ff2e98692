"""Tag expressions: grammar, precedence, errors with positions, and audiences on both engines."""

from __future__ import annotations

import pyarrow as pa
import pytest

from custlens.tags import ExpressionError, audience_table, parse_expression
from custlens.tags._expr import expression_tags

HELD = pa.table(
    {
        "customer_id": ["1", "1", "2", "3", "3", "4"],
        "tag": ["high_clv", "loyal", "high_clv", "high_clv", "churn_risk_high", "loyal"],
    }
)
KNOWN = ["high_clv", "loyal", "churn_risk_high", "dormant"]


def _shape(node: object) -> object:
    if node.kind == "tag":
        return node.args[0]
    return (node.kind, *[_shape(a) for a in node.args])


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("tag('a')", "a"),
        ('tag("a")', "a"),
        ("tag(a)", "a"),
        ("a", "a"),
        ("a and b or c", ("or", ("and", "a", "b"), "c")),
        ("a or b and c", ("or", "a", ("and", "b", "c"))),
        ("not a and b", ("and", ("not", "a"), "b")),
        ("not (a or b)", ("not", ("or", "a", "b"))),
        ("NOT tag('a') AND Tag('b')", ("and", ("not", "a"), "b")),
        ("not not a", ("not", ("not", "a"))),
    ],
)
def test_grammar(text: str, tree: object) -> None:
    assert _shape(parse_expression(text)) == tree


@pytest.mark.parametrize(
    ("text", "says", "pos"),
    [
        ("", "the expression is empty", 0),
        ("a and", "expected a tag, 'not' or '(', got the end of the expression", 5),
        ("a b", "unexpected 'b' after a complete expression", 2),
        ("(a or b", "expected ')', got the end of the expression", 7),
        ("tag(1)", "unexpected character '1'", 4),
        ("tag('a'", "expected ')' after the tag id", 7),
        ("a & b", "unexpected character '&'", 2),
    ],
)
def test_errors_name_the_position(text: str, says: str, pos: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    message = str(info.value)
    assert says in message and f"at position {pos}" in message, message
    assert message.splitlines()[-1] == " " * (pos + 2) + "^"


def test_tags_and_positions() -> None:
    assert expression_tags(parse_expression("tag('a') and not b")) == [("a", 4), ("b", 17)]


@pytest.mark.parametrize(
    ("text", "members"),
    [
        ("tag('high_clv') and not tag('churn_risk_high')", ["1", "2"]),
        ("high_clv or loyal", ["1", "2", "3", "4"]),
        ("not high_clv", ["4", "5"]),  # 5 holds no tag at all
        ("loyal and not (high_clv or dormant)", ["4"]),
        ("dormant", []),
    ],
)
def test_audiences(backend: object, text: str, members: list[str]) -> None:
    from custlens.warehouse.compat import register_arrow

    held = register_arrow(backend, "expr_held", HELD)
    base = register_arrow(backend, "expr_base", pa.table({"customer_id": ["1", "2", "3", "4", "5"]}))
    got = audience_table(held, base, text, KNOWN).to_pyarrow()["customer_id"].to_pylist()
    assert sorted(got) == members


def test_unknown_tags_get_the_closest() -> None:
    import ibis

    held = ibis.memtable(HELD)
    base = ibis.memtable({"customer_id": ["1"]})
    with pytest.raises(
        ExpressionError, match=r"unknown tag 'churn_risk_hihg'; did you mean 'churn_risk_high'\? at position 17"
    ):
        audience_table(held, base, "high_clv and not churn_risk_hihg", KNOWN)
