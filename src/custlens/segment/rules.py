"""A small, safe rule language for segments, compiled to Ibis expressions (never SQL text).

Grammar (keywords are case-insensitive)::

    rule    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum [ op sum
                   | ["not"] "in" "(" literal ("," literal)* ")"
                   | ["not"] "between" sum "and" sum
                   | "is" ["not"] "null" ]
    op      := "==" | "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    sum     := term (("+" | "-") term)*
    term    := unary (("*" | "/" | "%") unary)*
    unary   := "-" unary | atom
    atom    := number | 'text' | "text" | true | false | null | column | `any column` | "(" rule ")"

A rule names columns of the table it is compiled against; an unknown column is an error
that suggests the closest name. A rule is at most :data:`MAX_RULE_CHARS` characters, nests
at most :data:`MAX_DEPTH` levels and lists at most :data:`MAX_IN_ITEMS` values after
``in``, all of one kind (numbers, texts or true/false): a hostile or careless rule is one
clear error, never a stack overflow or a query that runs for minutes. Segments are tried in order and the first matching rule
wins (:func:`rule_segments`). Nothing in a rule is evaluated by Python or pasted into SQL:
the parser builds a tree and the compiler turns it into Ibis operations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import ConfigError, did_you_mean
from custlens.segment._common import (
    SegmentResult,
    SummarySpec,
    as_ibis,
    as_of_or_none,
    check_config_keys,
    name_column,
    require_columns,
)
from custlens.segment._config import ConfigLike, read_toml

__all__ = ["RuleError", "parse_rule", "compile_rule", "rule_segments", "load_rules"]

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<bquote>`[^`]+`)
      | (?P<ident>[^\W\d]\w*)
      | (?P<op><=|>=|==|!=|<>|[<>=+\-*/%(),])
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "between", "is", "null", "true", "false"}
MAX_RULE_CHARS = 10_000
"""Longest rule accepted."""
MAX_DEPTH = 100
"""Deepest nesting accepted (parentheses, 'not', signs, chained 'and'/'or' and operators)."""
MAX_IN_ITEMS = 1_000
"""Most values after 'in' (a longer list belongs in a column or a segment file)."""
_COMPARE = {"==": "eq", "=": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


class RuleError(ConfigError):
    """A rule does not parse or does not fit the table; names the rule, position and problem."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Node:
    """A parsed rule: ``kind`` with ``args``; ``pos`` is the 0-based character offset."""

    kind: str
    args: tuple[Any, ...]
    pos: int


def _error(name: str, text: str, pos: int, problem: str) -> RuleError:
    caret = " " * pos + "^"
    return RuleError(f"rule {name!r}: {problem} at position {pos}\n  {text}\n  {caret}")


def _tokenize(text: str, name: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _error(name, text, pos, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "ident" and value.lower() in _KEYWORDS:
            tokens.append(Token("kw", value.lower(), pos))
        elif kind != "ws":
            tokens.append(Token(kind, value, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, name: str) -> None:
        self.text, self.name = text, name
        self.tokens = _tokenize(text, name)
        self.i = 0
        self.depth = 0

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the rule nests more than {MAX_DEPTH} levels deep; simplify it")

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, problem: str, tok: Token | None = None) -> RuleError:
        tok = tok or self.tok
        return _error(self.name, self.text, tok.pos, problem)

    def take(self, kind: str, text: str | None = None) -> Token | None:
        if self.tok.kind == kind and (text is None or self.tok.text == text):
            self.i += 1
            return self.tokens[self.i - 1]
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        tok = self.take(kind, text)
        if tok is None:
            raise self.fail(f"expected {what}, got {self._describe(self.tok)}")
        return tok

    @staticmethod
    def _describe(tok: Token) -> str:
        return "the end of the rule" if tok.kind == "end" else repr(tok.text)

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.fail("the rule is empty")
        node = self.or_()
        if self.tok.kind != "end":
            raise self.fail(f"unexpected {self._describe(self.tok)} after a complete condition")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while (tok := self.take("kw", "or")) is not None:
            node = Node("or", (node, self.and_()), tok.pos)
        return node

    def and_(self) -> Node:
        node = self.not_()
        while (tok := self.take("kw", "and")) is not None:
            node = Node("and", (node, self.not_()), tok.pos)
        return node

    def not_(self) -> Node:
        if (tok := self.take("kw", "not")) is not None:
            self.deeper()
            node = Node("not", (self.not_(),), tok.pos)
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> Node:
        left = self.sum_()
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARE:
            self.i += 1
            return Node(_COMPARE[tok.text], (left, self.sum_()), tok.pos)
        negate = False
        if tok.kind == "kw" and tok.text == "not" and self.tokens[self.i + 1].text in ("in", "between"):
            self.i += 1
            negate = True
            tok = self.tok
        if self.take("kw", "in"):
            self.expect("op", "(", "'(' after 'in'")
            items = [self.literal()]
            while self.take("op", ","):
                items.append(self.literal())
                if len(items) > MAX_IN_ITEMS:
                    raise self.fail(
                        f"more than {MAX_IN_ITEMS:,} values after 'in'; put such a list in a column instead"
                    )
            self.expect("op", ")", "',' or ')' in the list")
            kinds = {_kind(n.args[0]) for n in items if n.args[0] is not None}
            if len(kinds) > 1:
                raise _error(
                    self.name,
                    self.text,
                    tok.pos,
                    f"the list after 'in' mixes {' and '.join(sorted(kinds))}; give values of one kind",
                )
            node = Node("in", (left, tuple(items)), tok.pos)
            return Node("not", (node,), tok.pos) if negate else node
        if self.take("kw", "between"):
            low = self.sum_()
            self.expect("kw", "and", "'and' in 'between ... and ...'")
            node = Node("between", (left, low, self.sum_()), tok.pos)
            return Node("not", (node,), tok.pos) if negate else node
        if self.take("kw", "is"):
            is_not = self.take("kw", "not") is not None
            self.expect("kw", "null", "'null' after 'is'")
            return Node("notnull" if is_not else "isnull", (left,), tok.pos)
        return left

    def sum_(self) -> Node:
        node = self.term()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            tok = self.tok
            self.i += 1
            node = Node(tok.text, (node, self.term()), tok.pos)
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "%"):
            tok = self.tok
            self.i += 1
            node = Node(tok.text, (node, self.unary()), tok.pos)
        return node

    def unary(self) -> Node:
        if (tok := self.take("op", "-")) is not None:
            self.deeper()
            node = Node("neg", (self.unary(),), tok.pos)
            self.depth -= 1
            return node
        return self.atom()

    def literal(self) -> Node:
        tok = self.tok
        sign = -1 if self.take("op", "-") else 1
        tok2 = self.tok
        if tok2.kind == "number":
            self.i += 1
            value = float(tok2.text) if re.search(r"[.eE]", tok2.text) else int(tok2.text)
            return Node("lit", (sign * value,), tok.pos)
        if sign == 1 and tok2.kind == "string":
            self.i += 1
            return Node("lit", (_unquote(tok2.text),), tok.pos)
        if sign == 1 and tok2.kind == "kw" and tok2.text in ("true", "false", "null"):
            self.i += 1
            return Node("lit", ({"true": True, "false": False, "null": None}[tok2.text],), tok.pos)
        raise self.fail(f"expected a number, text or true/false/null, got {self._describe(tok2)}", tok2)

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind in ("number", "string") or (tok.kind == "kw" and tok.text in ("true", "false", "null")):
            return self.literal()
        if tok.kind == "ident":
            self.i += 1
            return Node("col", (tok.text,), tok.pos)
        if tok.kind == "bquote":
            self.i += 1
            return Node("col", (tok.text[1:-1],), tok.pos)
        if self.take("op", "("):
            self.deeper()
            node = self.or_()
            self.expect("op", ")", "')'")
            self.depth -= 1
            return node
        raise self.fail(f"expected a column, a value or '(', got {self._describe(tok)}")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    return "numbers" if isinstance(value, (int, float)) else "texts"


def _tree_depth(node: Node) -> int:
    """Depth of a syntax tree, without recursion."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        for arg in current.args:
            if isinstance(arg, Node):
                stack.append((arg, depth + 1))
    return deepest


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse_rule(text: str, name: str = "rule") -> Node:
    """Parse a rule into a syntax tree; :class:`RuleError` names the rule and position."""
    if not isinstance(text, str):
        raise RuleError(f"rule {name!r}: expected the condition as text, got {text!r}")
    if len(text) > MAX_RULE_CHARS:
        raise RuleError(f"rule {name!r}: {len(text):,} characters; a rule may have at most {MAX_RULE_CHARS:,}")
    tree = _Parser(text, name).parse()
    if _tree_depth(tree) > 2 * MAX_DEPTH:
        raise RuleError(
            f"rule {name!r}: the condition chains more than {2 * MAX_DEPTH} operations; split it into "
            "several rules or use 'in (...)'"
        )
    return tree


_BINARY = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
}


def _compile(node: Node, table: ir.Table, text: str, name: str) -> ir.Value:
    def sub(n: Node) -> ir.Value:
        return _compile(n, table, text, name)

    try:
        if node.kind == "lit":
            value = node.args[0]
            return ibis.null() if value is None else ibis.literal(value)
        if node.kind == "col":
            col = node.args[0]
            if col not in table.columns:
                raise _error(name, text, node.pos, f"unknown column {col!r}{did_you_mean(col, table.columns)}")
            return table[col]
        if node.kind in _BINARY:
            left, right = sub(node.args[0]), sub(node.args[1])
            if node.kind in ("and", "or") and not (left.type().is_boolean() and right.type().is_boolean()):
                raise _error(name, text, node.pos, f"'{node.kind}' joins conditions, but one side is not a condition")
            return _BINARY[node.kind](left, right)
        if node.kind == "not":
            return ~sub(node.args[0])
        if node.kind == "neg":
            return -sub(node.args[0])
        if node.kind == "in":
            return sub(node.args[0]).isin([n.args[0] for n in node.args[1]])
        if node.kind == "between":
            return sub(node.args[0]).between(sub(node.args[1]), sub(node.args[2]))
        if node.kind == "isnull":
            return sub(node.args[0]).isnull()
        if node.kind == "notnull":
            return sub(node.args[0]).notnull()
    except RuleError:
        raise
    except Exception as exc:  # noqa: BLE001 - any Ibis type error in a rule is the rule's error
        raise _error(
            name,
            text,
            node.pos,
            f"cannot apply {node.kind!r} here ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'type mismatch'})",
        ) from None
    raise _error(name, text, node.pos, f"unknown operation {node.kind!r}")  # pragma: no cover


def compile_rule(text: str, table: ir.Table, name: str = "rule") -> ir.BooleanValue:
    """Compile a rule against ``table`` into an Ibis boolean expression.

    Raises
    ------
    RuleError
        When the rule does not parse, names an unknown column, mixes incompatible types or
        is not a condition (true/false).
    """
    tree = parse_rule(text, name)
    expr = _compile(tree, table, text, name)
    if not expr.type().is_boolean():
        raise _error(
            name,
            text,
            0,
            f"the rule is a {expr.type()} value, not a condition (compare it with something, e.g. 'revenue > 1000')",
        )
    return expr


def load_rules(rules: ConfigLike) -> dict[str, Any]:
    """Read and check a rule-segment file: ``[[rule]]`` tables with ``name``, ``when``, ``name_zh``."""
    if rules is None:
        raise ConfigError("rule segments: give a rules file with [[rule]] tables (name, when)")
    cfg = read_toml(rules) if isinstance(rules, (str, Path)) else dict(rules)
    where = str(rules) if isinstance(rules, (str, Path)) else "rules"
    check_config_keys(cfg, ["fallback", "fallback_zh", "rule"], where)
    items = cfg.get("rule")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{where}: expected one or more [[rule]] tables with 'name' and 'when'")
    seen = set()
    for i, rule in enumerate(items, start=1):
        if not isinstance(rule, Mapping) or not isinstance(rule.get("name"), str):
            raise ConfigError(f"{where}, rule {i}: needs a text 'name'")
        check_config_keys(rule, ["name", "name_zh", "when"], f"{where}, rule {i} ({rule['name']!r})")
        if "when" not in rule:
            raise ConfigError(f"{where}, rule {i} ({rule['name']!r}): missing 'when' (the condition)")
        if rule["name"] in seen:
            raise ConfigError(f"{where}, rule {i}: the name {rule['name']!r} is used twice")
        seen.add(rule["name"])
    return cfg


def rule_segments(
    features: Any,
    rules: ConfigLike | Sequence[Mapping[str, Any]],
    *,
    as_of: Any = None,
    customer_col: str = "customer_id",
    value_col: str | None = None,
    orders_col: str | None = None,
    keep: Sequence[str] = (),
) -> SegmentResult:
    """Segment customers by user rules; the first matching rule wins.

    Parameters
    ----------
    features
        One row per customer.
    rules
        A TOML file or mapping with ``[[rule]]`` tables (``name``, ``when``, optional
        ``name_zh``) and optional ``fallback``/``fallback_zh`` (default ``"other"``), or a
        list of rule tables.
    keep
        Extra feature columns to keep in the result.
    """
    t = as_ibis(features, "rule segments")
    if isinstance(rules, Sequence) and not isinstance(rules, (str, bytes)):
        rules = {"rule": list(rules)}
    cfg = load_rules(rules)
    require_columns(t, {"customer_col": customer_col, **{c: c for c in keep}}, "rule segments")
    fallback = cfg.get("fallback", "other")
    branches = [(compile_rule(r["when"], t, r["name"]).fill_null(False), r["name"]) for r in cfg["rule"]]
    seg = ibis.cases(*branches, else_=fallback)
    names_zh = {r["name"]: r.get("name_zh", r["name"]) for r in cfg["rule"]}
    names_zh[fallback] = cfg.get("fallback_zh", "其他")
    value_col = value_col or ("revenue" if "revenue" in t.columns else None)
    orders_col = orders_col or ("order_count" if "order_count" in t.columns else None)
    extra = {c: t[c] for c in (value_col, orders_col) if c}
    out = t.select(
        customer_id=t[customer_col].cast("string"),
        **{c: t[c] for c in keep},
        **{f"_{k}": v for k, v in extra.items()},
        segment=seg,
    )
    out = out.mutate(segment_zh=name_column(out.segment, names_zh))
    spec = SummarySpec(
        (*[r["name"] for r in cfg["rule"]], fallback),
        names_zh,
        f"_{value_col}" if value_col else None,
        f"_{orders_col}" if orders_col else None,
    )
    return SegmentResult(
        "rules",
        as_of_or_none(as_of),
        out,
        ("customer_id", *keep, "segment", "segment_zh"),
        spec,
        cfg,
        {"value_column": value_col},
    )
