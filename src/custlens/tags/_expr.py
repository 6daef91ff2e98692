"""Tag expressions: which customers hold a combination of tags, compiled to Ibis.

Grammar (keywords are case-insensitive)::

    expression := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | atom
    atom       := "tag" "(" 'tag id' ")" | tag id | "(" expression ")"

``tag('high_clv') and not tag('churn_risk_high')`` and ``high_clv and not
churn_risk_high`` are the same expression. Nothing is evaluated by Python or pasted into
SQL: the parser builds a tree and the compiler turns it into Ibis boolean operations on a
table with one boolean column per tag.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir

from custlens.errors import ConfigError, did_you_mean

__all__ = ["ExpressionError", "parse_expression", "expression_tags", "compile_expression"]

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>[(),])
    """,
    re.VERBOSE,
)


class ExpressionError(ConfigError):
    """A tag expression does not parse or names an unknown tag; names the position."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class ExprNode:
    """A parsed expression: ``kind`` (``and``, ``or``, ``not``, ``tag``) with ``args``."""

    kind: str
    args: tuple[Any, ...]
    pos: int


def _error(text: str, pos: int, problem: str) -> ExpressionError:
    return ExpressionError(f"tag expression: {problem} at position {pos}\n  {text}\n  {' ' * pos}^")


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _error(text, pos, f"unexpected character {text[pos]!r}")
        if m.lastgroup != "ws":
            kind = str(m.lastgroup)
            value = m.group()
            if kind == "ident" and value.lower() in ("and", "or", "not"):
                kind, value = "kw", value.lower()
            out.append(_Token(kind, value, pos))
        pos = m.end()
    out.append(_Token("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def take(self, kind: str, text: str | None = None) -> _Token | None:
        tok = self.tok
        if tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def describe(self, tok: _Token) -> str:
        return "the end of the expression" if tok.kind == "end" else repr(tok.text)

    def parse(self) -> ExprNode:
        if self.tok.kind == "end":
            raise _error(self.text, 0, "the expression is empty")
        node = self.or_()
        if self.tok.kind != "end":
            raise _error(self.text, self.tok.pos, f"unexpected {self.describe(self.tok)} after a complete expression")
        return node

    def or_(self) -> ExprNode:
        node = self.and_()
        while (tok := self.take("kw", "or")) is not None:
            node = ExprNode("or", (node, self.and_()), tok.pos)
        return node

    def and_(self) -> ExprNode:
        node = self.not_()
        while (tok := self.take("kw", "and")) is not None:
            node = ExprNode("and", (node, self.not_()), tok.pos)
        return node

    def not_(self) -> ExprNode:
        if (tok := self.take("kw", "not")) is not None:
            return ExprNode("not", (self.not_(),), tok.pos)
        return self.atom()

    def atom(self) -> ExprNode:
        tok = self.tok
        if self.take("op", "("):
            node = self.or_()
            if self.take("op", ")") is None:
                raise _error(self.text, self.tok.pos, f"expected ')', got {self.describe(self.tok)}")
            return node
        if tok.kind == "ident" and tok.text.lower() == "tag" and self.tokens[self.i + 1].text == "(":
            self.i += 2
            arg = self.tok
            if arg.kind not in ("string", "ident"):
                raise _error(self.text, arg.pos, f"expected a tag id in tag(...), got {self.describe(arg)}")
            self.i += 1
            if self.take("op", ")") is None:
                raise _error(self.text, self.tok.pos, f"expected ')' after the tag id, got {self.describe(self.tok)}")
            name = arg.text[1:-1] if arg.kind == "string" else arg.text
            return ExprNode("tag", (name,), arg.pos)
        if tok.kind == "ident":
            self.i += 1
            return ExprNode("tag", (tok.text,), tok.pos)
        raise _error(self.text, tok.pos, f"expected a tag, 'not' or '(', got {self.describe(tok)}")


def parse_expression(text: str) -> ExprNode:
    """Parse a tag expression; :class:`ExpressionError` names the position and problem."""
    if not isinstance(text, str):
        raise ExpressionError(f"tag expression: expected text, got {text!r}")
    return _Parser(text).parse()


def expression_tags(node: ExprNode) -> list[tuple[str, int]]:
    """The tag ids an expression names, with their positions, in order."""
    if node.kind == "tag":
        return [(str(node.args[0]), node.pos)]
    return [found for arg in node.args for found in expression_tags(arg)]


def compile_expression(text: str, flags: ir.Table, known: Sequence[str]) -> ir.BooleanValue:
    """Compile ``text`` against ``flags`` (one boolean column per tag id).

    Raises
    ------
    ExpressionError
        When the expression does not parse or names a tag not in ``known`` (with the
        closest tag id).
    """
    tree = parse_expression(text)
    for name, pos in expression_tags(tree):
        if name not in known:
            raise _error(text, pos, f"unknown tag {name!r}{did_you_mean(name, known)}")

    def build(node: ExprNode) -> ir.BooleanValue:
        if node.kind == "tag":
            return flags[str(node.args[0])].fill_null(False)
        if node.kind == "not":
            return ~build(node.args[0])
        left, right = build(node.args[0]), build(node.args[1])
        return left & right if node.kind == "and" else left | right

    return build(tree)
