"""Tag definitions: a taxonomy of categories and tags read from an editable TOML file.

File format (the shipped default is ``custlens/tags/defaults/tags.toml``; every key is
described in ``docs/tags.md``)::

    version = 1

    [[category]]
    id = "value"
    name = "Value"
    name_zh = "价值"

    [[tag]]                          # one tag
    id = "big_spender"
    category = "value"
    kind = "rule"                    # fact | rule | statistic | model | window
    name = "Big spender"
    name_zh = "高消费客户"
    when = "revenue >= 10000"

    [[family]]                       # several tags sharing keys; each member adds its own
    category = "value"
    kind = "model"
    column = "clv"
    among = "order_count > 0"
    tags = [
      { id = "high_clv", from = 0.8, to = 1.0, name = "High CLV", name_zh = "高终生价值" },
    ]

A family's keys are given to every member; a member's own keys win. Tags are listed by
category (in the order the categories are declared), then in file order: single tags
before family members.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from custlens._toml import read_toml
from custlens.errors import ConfigError, NotFoundError, did_you_mean

__all__ = [
    "KINDS",
    "Category",
    "Tag",
    "Taxonomy",
    "default_taxonomy_path",
    "load_taxonomy",
    "taxonomy_from_mapping",
]

KINDS: dict[str, str] = {
    "fact": "a customer attribute equals a value, is one of values, or lies in [min, max)",
    "rule": "a condition in the rule language ('when')",
    "statistic": "a quantile band (from, to] of a numeric column, optionally among a population",
    "model": "an output of the stored analysis: a model column (clv, p_alive, risk_band, ...) or a segment",
    "window": "bought (a product category, through a channel) in the last N days",
}
"""Tag kinds and what each tests."""

_COMMON = ("id", "category", "kind", "name", "name_zh", "description")
_CONDITION = ("value", "values", "min", "max", "from", "to")
_KEYS: dict[str, tuple[str, ...]] = {
    "fact": ("column", "value", "values", "min", "max"),
    "rule": ("when",),
    "statistic": ("column", "from", "to", "among"),
    "model": ("column", "method", *_CONDITION, "among"),
    "window": ("days", "product_category", "channel", "min_orders", "min_amount"),
}
_ID = re.compile(r"[a-z][a-z0-9_]*\Z")
_RESERVED = ("customer_id", "tag")


@dataclass(frozen=True)
class Category:
    """A category of the taxonomy (e.g. ``value`` / 价值)."""

    id: str
    name: str
    name_zh: str
    description: str = ""


@dataclass(frozen=True)
class Tag:
    """One tag: its identity, names and the condition that gives it to a customer.

    Attributes
    ----------
    id
        Lower-case identifier (letters, digits, ``_``), unique in the taxonomy; what tag
        expressions and stored assignments name.
    category, kind, name, name_zh, description
        Where it sits, how it is computed (:data:`KINDS`) and its names.
    spec
        The kind's keys (``column``, ``value``, ``when``, ``from``/``to``, ``days``, ...).
    """

    id: str
    category: str
    kind: str
    name: str
    name_zh: str
    spec: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def band(self) -> tuple[float, float] | None:
        """The quantile band ``(from, to)`` of statistic and model tags that have one."""
        if "from" in self.spec or "to" in self.spec:
            return float(self.spec.get("from", 0.0)), float(self.spec.get("to", 1.0))
        return None

    def definition(self) -> str:
        """The condition in words, e.g. ``region = 'east_china'`` or ``clv in quantile band (0.8, 1]``."""
        s = self.spec
        if self.kind == "rule":
            return str(s["when"])
        if self.kind == "window":
            parts = [f"purchase orders >= {s.get('min_orders', 1)} in the last {s['days']} days"]
            for key in ("product_category", "channel"):
                if key in s:
                    parts.append(f"{key} in ({_literals(_as_list(s[key]))})")
            if "min_amount" in s:
                parts.append(f"purchases >= {s['min_amount']}")
            return " and ".join(parts)
        subject = f"segment_{s['method']}" if "method" in s else str(s["column"])
        if "value" in s:
            text = f"{subject} = {_literal(s['value'])}"
        elif "values" in s:
            text = f"{subject} in ({_literals(s['values'])})"
        elif self.band is not None:
            low, high = self.band
            text = f"{subject} in quantile band ({low:g}, {high:g}]"
        else:
            bounds = ([f"{subject} >= {s['min']}"] if "min" in s else []) + (
                [f"{subject} < {s['max']}"] if "max" in s else []
            )
            text = " and ".join(bounds)
        return f"{text} among {s['among']}" if "among" in s else text

    def to_dict(self) -> dict[str, Any]:
        """The tag as plain data (stored with every application)."""
        return {
            "id": self.id,
            "category": self.category,
            "kind": self.kind,
            "name": self.name,
            "name_zh": self.name_zh,
            "description": self.description,
            **dict(self.spec),
        }


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else f"{value}"


def _literals(values: Sequence[Any]) -> str:
    return ", ".join(_literal(v) for v in values)


@dataclass(frozen=True)
class Taxonomy:
    """Categories and tags, in file order."""

    categories: tuple[Category, ...]
    tags: tuple[Tag, ...]
    source: str = "<memory>"

    @property
    def ids(self) -> list[str]:
        """Tag ids in file order."""
        return [t.id for t in self.tags]

    def tag(self, tag_id: str) -> Tag:
        """The tag ``tag_id``.

        Raises
        ------
        NotFoundError
            Naming the taxonomy and the closest tag id.
        """
        for t in self.tags:
            if t.id == tag_id:
                return t
        raise NotFoundError(f"taxonomy {self.source} has no tag {tag_id!r}{did_you_mean(tag_id, self.ids)}")

    def category(self, category_id: str) -> Category:
        """The category ``category_id`` (raises :class:`NotFoundError` with a hint)."""
        for c in self.categories:
            if c.id == category_id:
                return c
        raise NotFoundError(
            f"taxonomy {self.source} has no category {category_id!r}"
            f"{did_you_mean(category_id, [c.id for c in self.categories])}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The taxonomy as plain data (categories and tags)."""
        return {
            "version": 1,
            "category": [
                {"id": c.id, "name": c.name, "name_zh": c.name_zh, "description": c.description}
                for c in self.categories
            ],
            "tag": [t.to_dict() for t in self.tags],
        }

    @property
    def hash(self) -> str:
        """A short, stable hash of the definitions (stored with every application)."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def table(self) -> pa.Table:
        """One row per tag: ``tag, category, kind, name, name_zh, category_name, category_name_zh, definition``."""
        cats = {c.id: c for c in self.categories}
        rows = [
            {
                "tag": t.id,
                "category": t.category,
                "kind": t.kind,
                "name": t.name,
                "name_zh": t.name_zh,
                "category_name": cats[t.category].name,
                "category_name_zh": cats[t.category].name_zh,
                "definition": t.definition(),
            }
            for t in self.tags
        ]
        schema = pa.schema(
            [
                (c, pa.string())
                for c in (
                    "tag",
                    "category",
                    "kind",
                    "name",
                    "name_zh",
                    "category_name",
                    "category_name_zh",
                    "definition",
                )
            ]
        )
        return pa.Table.from_pylist(rows, schema=schema)


def default_taxonomy_path() -> Path:
    """Path of the shipped default taxonomy (the demo company's tags)."""
    return Path(str(resources.files("custlens.tags") / "defaults" / "tags.toml"))


def load_taxonomy(definitions: str | Path | Mapping[str, Any] | Taxonomy | None = None) -> Taxonomy:
    """Read and check a taxonomy: a TOML file, a parsed mapping, or ``None`` for the shipped default.

    Raises
    ------
    ConfigError
        Naming the file, the tag (or category) and the key at fault, what was received and
        what is expected.
    """
    if isinstance(definitions, Taxonomy):
        return definitions
    if definitions is None or isinstance(definitions, (str, Path)):
        path = default_taxonomy_path() if definitions is None else Path(definitions)
        return taxonomy_from_mapping(read_toml(path, "a tag taxonomy TOML file"), source=str(path))
    if isinstance(definitions, Mapping):
        return taxonomy_from_mapping(definitions)
    raise ConfigError(
        f"'definitions' must be a TOML file, a mapping or None (the shipped taxonomy); got {type(definitions).__name__}"
    )


def taxonomy_from_mapping(doc: Mapping[str, Any], source: str = "<memory>") -> Taxonomy:
    """Check a parsed taxonomy document (format in the module docstring)."""
    known = ("version", "category", "tag", "family")
    for key in doc:
        if key not in known:
            raise ConfigError(f"{source}: unknown top-level key {key!r}{did_you_mean(key, known)} (expected {known})")
    if doc.get("version", 1) != 1:
        raise ConfigError(f"{source}: unsupported taxonomy version {doc.get('version')!r}; expected 1")
    categories = _categories(doc.get("category", []), source)
    cat_ids = [c.id for c in categories]
    tags: list[Tag] = []
    for i, raw in enumerate(_tables(doc.get("tag", []), "tag", source), start=1):
        tags.append(_tag(raw, f"{source}, tag {i}", cat_ids))
    for i, family in enumerate(_tables(doc.get("family", []), "family", source), start=1):
        where = f"{source}, family {i}"
        members = family.get("tags")
        if not isinstance(members, list) or not members:
            raise ConfigError(f"{where}: 'tags' must be a non-empty list of tables (id, name, name_zh, ...)")
        shared = {k: v for k, v in family.items() if k != "tags"}
        if "id" in shared:
            raise ConfigError(f"{where}: a family has no 'id'; give each member of 'tags' its own")
        for j, member in enumerate(members, start=1):
            if not isinstance(member, Mapping):
                raise ConfigError(f"{where}, member {j}: expected a table like {{ id = ..., name = ... }}")
            tags.append(_tag({**shared, **member}, f"{where}, member {j}", cat_ids))
    if not tags:
        raise ConfigError(f"{source}: the taxonomy defines no tags ([[tag]] or [[family]] tables)")
    seen: dict[str, int] = {}
    for t in tags:
        if t.id in seen:
            raise ConfigError(f"{source}: tag id {t.id!r} is defined twice")
        seen[t.id] = 1
    # display order: by category as declared, then single tags, then family members, in file order
    tags.sort(key=lambda t: cat_ids.index(t.category))
    return Taxonomy(tuple(categories), tuple(tags), source)


def _tables(value: Any, key: str, source: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(f"{source}: {key!r} must be a list of tables ([[{key}]])")
    return value


def _text(raw: Mapping[str, Any], key: str, where: str, *, required: bool = True, default: str = "") -> str:
    value = raw.get(key, None)
    if value is None:
        if required:
            raise ConfigError(f"{where}: missing {key!r}")
        return default
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key!r} must be non-empty text; got {value!r}")
    return value.strip()


def _identifier(raw: Mapping[str, Any], where: str) -> str:
    ident = _text(raw, "id", where)
    if not _ID.match(ident):
        raise ConfigError(
            f"{where}: 'id' must be lower-case letters, digits and '_' starting with a letter; got {ident!r}"
        )
    return ident


def _categories(value: Any, source: str) -> list[Category]:
    out: list[Category] = []
    for i, raw in enumerate(_tables(value, "category", source), start=1):
        where = f"{source}, category {i}"
        for key in raw:
            if key not in ("id", "name", "name_zh", "description"):
                raise ConfigError(
                    f"{where}: unknown key {key!r}{did_you_mean(key, ('id', 'name', 'name_zh', 'description'))}"
                )
        ident = _identifier(raw, where)
        name = _text(raw, "name", f"{where} ({ident!r})")
        out.append(
            Category(
                ident,
                name,
                _text(raw, "name_zh", where, required=False, default=name),
                _text(raw, "description", where, required=False),
            )
        )
    ids = [c.id for c in out]
    dupes = sorted({c for c in ids if ids.count(c) > 1})
    if dupes:
        raise ConfigError(f"{source}: category id {dupes[0]!r} is defined twice")
    if not out:
        raise ConfigError(f"{source}: the taxonomy defines no categories ([[category]] tables with id and name)")
    return out


def _tag(raw: Mapping[str, Any], where: str, categories: Sequence[str]) -> Tag:
    ident = _identifier(raw, where)
    if ident in _RESERVED:
        raise ConfigError(f"{where}: {ident!r} is reserved (a column of the tag tables); choose another tag id")
    where = f"{where} ({ident!r})"
    kind = _text(raw, "kind", where)
    if kind not in KINDS:
        raise ConfigError(f"{where}: 'kind' must be one of {', '.join(KINDS)}; got {kind!r}{did_you_mean(kind, KINDS)}")
    allowed = (*_COMMON, *_KEYS[kind])
    for key in raw:
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            other = [k for k, keys in _KEYS.items() if key in keys]
            also = f" ({key!r} belongs to kind {' or '.join(other)})" if other and not hint else ""
            raise ConfigError(
                f"{where}: unknown key {key!r} for kind {kind!r}{hint}{also}; allowed: {', '.join(allowed)}"
            )
    category = _text(raw, "category", where)
    if category not in categories:
        raise ConfigError(
            f"{where}: 'category' {category!r} is not a category of the taxonomy{did_you_mean(category, categories)} "
            f"(categories: {', '.join(categories)})"
        )
    name = _text(raw, "name", where)
    spec = {k: raw[k] for k in _KEYS[kind] if k in raw}
    _check_spec(kind, spec, where)
    return Tag(
        ident,
        category,
        kind,
        name,
        _text(raw, "name_zh", where, required=False, default=name),
        spec,
        _text(raw, "description", where, required=False),
    )


def _number(spec: Mapping[str, Any], key: str, where: str) -> float:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ConfigError(f"{where}: {key!r} must be a finite number; got {value!r}")
    return float(value)


def _scalar(value: Any, key: str, where: str) -> None:
    if not isinstance(value, (str, int, float, bool)):
        raise ConfigError(f"{where}: {key!r} must be text, a number or true/false; got {value!r}")


def _check_spec(kind: str, spec: Mapping[str, Any], where: str) -> None:
    if kind == "rule":
        if "when" not in spec:
            raise ConfigError(f"{where}: a rule tag needs 'when' (a condition in the rule language)")
        _text(spec, "when", where)
        return
    if kind == "window":
        _check_window(spec, where)
        return
    if kind == "model":
        if ("column" in spec) == ("method" in spec):
            raise ConfigError(
                f"{where}: a model tag needs exactly one of 'column' (a stored analysis column such as clv, "
                "p_alive, risk_band) or 'method' (a segmentation such as lifecycle, rfm)"
            )
    elif "column" not in spec:
        raise ConfigError(f"{where}: a {kind} tag needs 'column'")
    for key in ("column", "method", "among"):
        if key in spec:
            _text(spec, key, where)
    given = [k for k in _CONDITION if k in spec]
    forms = {"value": "value", "values": "values", "min": "range", "max": "range", "from": "band", "to": "band"}
    used = {forms[k] for k in given}
    if kind == "statistic" and used != {"band"}:
        raise ConfigError(f"{where}: a statistic tag needs a quantile band: 'from' and/or 'to' (probabilities 0..1)")
    if len(used) != 1:
        raise ConfigError(
            f"{where}: give exactly one condition: 'value', 'values', 'min'/'max' or a quantile band 'from'/'to'; "
            f"got {', '.join(given) if given else 'none'}"
        )
    if "method" in spec and used != {"value"} and used != {"values"}:
        raise ConfigError(f"{where}: a segment tag ('method') takes 'value' or 'values' (segment names)")
    if "among" in spec and used != {"band"}:
        raise ConfigError(f"{where}: 'among' (the population of a quantile band) needs 'from'/'to'")
    if "value" in spec:
        _scalar(spec["value"], "value", where)
    if "values" in spec:
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: 'values' must be a non-empty list; got {values!r}")
        for v in values:
            _scalar(v, "values", where)
    if used == {"range"}:
        low = _number(spec, "min", where) if "min" in spec else -math.inf
        high = _number(spec, "max", where) if "max" in spec else math.inf
        if not low < high:
            raise ConfigError(f"{where}: 'min' must be below 'max'; got min={spec.get('min')}, max={spec.get('max')}")
    if used == {"band"}:
        low = _number(spec, "from", where) if "from" in spec else 0.0
        high = _number(spec, "to", where) if "to" in spec else 1.0
        if not 0.0 <= low < high <= 1.0:
            raise ConfigError(f"{where}: a quantile band needs 0 <= 'from' < 'to' <= 1; got from={low:g}, to={high:g}")


def _check_window(spec: Mapping[str, Any], where: str) -> None:
    days = spec.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ConfigError(f"{where}: a window tag needs 'days', a whole number >= 1; got {days!r}")
    orders = spec.get("min_orders", 1)
    if isinstance(orders, bool) or not isinstance(orders, int) or orders < 1:
        raise ConfigError(f"{where}: 'min_orders' must be a whole number >= 1; got {orders!r}")
    if "min_amount" in spec:
        _number(spec, "min_amount", where)
    for key in ("product_category", "channel"):
        if key in spec:
            values = _as_list(spec[key])
            if not values or not all(isinstance(v, str) and v for v in values):
                raise ConfigError(f"{where}: {key!r} must be text or a list of text; got {spec[key]!r}")
