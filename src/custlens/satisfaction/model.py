"""Model specifications: measurement blocks, modes and structural paths.

A :class:`ModelSpec` names each construct's items (or item patterns such as ``IMAG*``),
its measurement mode (``A`` reflective, ``B`` formative) and the structural paths. The
built-in national-index models are :data:`ACSI`, :data:`ECSI` and :data:`SCSB`; user
models come from a small TOML file (:func:`load_spec`). :meth:`ModelSpec.resolve`
matches the patterns against the columns of a data set and checks the specification.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custlens._toml import read_toml
from custlens.errors import ConfigError

__all__ = ["Block", "ModelSpec", "ACSI", "ECSI", "SCSB", "BUILTIN_MODELS", "load_spec", "parse_spec", "get_model"]


@dataclass(frozen=True)
class Block:
    """One construct: its name, item names or patterns, and measurement mode."""

    name: str
    items: tuple[str, ...]
    mode: str = "A"


@dataclass(frozen=True)
class ModelSpec:
    """A PLS path model: blocks in order and paths ``(from, to)``.

    ``items`` of a block are exact column names or shell-style patterns (``IMAG*``,
    ``CUSL?``); patterns are matched case-insensitively when the model is resolved
    against a data set.
    """

    name: str
    blocks: tuple[Block, ...]
    paths: tuple[tuple[str, str], ...]
    description: str = ""
    source: str = field(default="", compare=False)

    @property
    def constructs(self) -> list[str]:
        """Construct names in block order."""
        return [b.name for b in self.blocks]

    def resolve(self, columns: Sequence[str]) -> ModelSpec:
        """Return the model with every pattern replaced by the matching columns.

        Raises
        ------
        ConfigError
            For an unknown item, a block without items, an item in two blocks, a path
            naming an unknown construct, a self-loop or a cycle.
        """
        self.check()
        resolved: list[Block] = []
        owner: dict[str, str] = {}
        available = list(columns)
        for block in self.blocks:
            items: list[str] = []
            for pattern in block.items:
                found = _match(pattern, available)
                if not found:
                    raise ConfigError(
                        f"model {self.name!r}: block {block.name!r} names item {pattern!r}, which is not a "
                        f"column of the data (columns: {', '.join(available[:30])})"
                    )
                for item in found:
                    if item in owner and owner[item] != block.name:
                        raise ConfigError(
                            f"model {self.name!r}: item {item!r} is in blocks {owner[item]!r} and "
                            f"{block.name!r}; each item may measure one construct only"
                        )
                    if item not in items:
                        items.append(item)
                    owner[item] = block.name
            resolved.append(Block(block.name, tuple(items), block.mode))
        return ModelSpec(self.name, tuple(resolved), self.paths, self.description, self.source)

    def check(self) -> None:
        """Check the structure (names, modes, paths, acyclicity) without data."""
        names = self.constructs
        if not names:
            raise ConfigError(f"model {self.name!r} has no blocks")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"model {self.name!r}: construct names repeat: {', '.join(dup)}")
        for block in self.blocks:
            if not block.items:
                raise ConfigError(f"model {self.name!r}: block {block.name!r} has no items")
            if block.mode not in ("A", "B"):
                raise ConfigError(
                    f"model {self.name!r}: block {block.name!r} has mode {block.mode!r}; expected 'A' "
                    "(reflective) or 'B' (formative)"
                )
        if not self.paths:
            raise ConfigError(f"model {self.name!r} has no structural paths")
        for a, b in self.paths:
            for end in (a, b):
                if end not in names:
                    raise ConfigError(
                        f"model {self.name!r}: path {a} -> {b} names construct {end!r}, which has no "
                        f"block (constructs: {', '.join(names)})"
                    )
            if a == b:
                raise ConfigError(f"model {self.name!r}: path {a} -> {b} points to itself")
        cycle = _find_cycle(names, self.paths)
        if cycle:
            raise ConfigError(f"model {self.name!r}: the paths form a cycle: {' -> '.join(cycle)}")
        linked = {n for p in self.paths for n in p}
        lonely = [n for n in names if n not in linked]
        if lonely:
            raise ConfigError(
                f"model {self.name!r}: construct(s) {', '.join(lonely)} take part in no path; "
                "every construct needs at least one path"
            )


def _match(pattern: str, columns: Sequence[str]) -> list[str]:
    if any(ch in pattern for ch in "*?["):
        rx = re.compile(fnmatch.translate(pattern), re.IGNORECASE)
        return [c for c in columns if rx.match(c)]
    exact = [c for c in columns if c == pattern]
    return exact or [c for c in columns if c.lower() == pattern.lower()]


def _find_cycle(names: Sequence[str], paths: Iterable[tuple[str, str]]) -> list[str] | None:
    succ: dict[str, list[str]] = {n: [] for n in names}
    for a, b in paths:
        succ[a].append(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in succ[n]:
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in names:
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def _paths(*pairs: tuple[str, str | Sequence[str]]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for a, targets in pairs:
        for b in [targets] if isinstance(targets, str) else targets:
            out.append((a, b))
    return tuple(out)


ECSI = ModelSpec(
    name="ecsi",
    description="European Customer Satisfaction Index (ECSI Technical Committee 1998; the mobile-phone "
    "model of Tenenhaus et al. 2005, Computational Statistics & Data Analysis 48, fig. 8)",
    blocks=(
        Block("Image", ("IMAG*",)),
        Block("Expectation", ("CUEX*",)),
        Block("Quality", ("PERQ*",)),
        Block("Value", ("PERV*",)),
        Block("Satisfaction", ("CUSA*",)),
        Block("Complaints", ("CUSCO*",)),
        Block("Loyalty", ("CUSL*",)),
    ),
    paths=_paths(
        ("Image", ("Expectation", "Satisfaction", "Loyalty")),
        ("Expectation", ("Quality", "Value", "Satisfaction")),
        ("Quality", ("Value", "Satisfaction")),
        ("Value", "Satisfaction"),
        ("Satisfaction", ("Complaints", "Loyalty")),
        ("Complaints", "Loyalty"),
    ),
)

ACSI = ModelSpec(
    name="acsi",
    description="American Customer Satisfaction Index (Fornell, Johnson, Anderson, Cha & Bryant 1996, "
    "Journal of Marketing 60(4), 7-18, fig. 1)",
    blocks=(
        Block("Expectation", ("CUEX*",)),
        Block("Quality", ("PERQ*",)),
        Block("Value", ("PERV*",)),
        Block("Satisfaction", ("CUSA*",)),
        Block("Complaints", ("CUSCO*",)),
        Block("Loyalty", ("CUSL*",)),
    ),
    paths=_paths(
        ("Expectation", ("Quality", "Value", "Satisfaction")),
        ("Quality", ("Value", "Satisfaction")),
        ("Value", "Satisfaction"),
        ("Satisfaction", ("Complaints", "Loyalty")),
        ("Complaints", "Loyalty"),
    ),
)

SCSB = ModelSpec(
    name="scsb",
    description="Swedish Customer Satisfaction Barometer (Fornell 1992, Journal of Marketing 56(1), 6-21, "
    "fig. 1) with the constructs the course text lists for it (瑞典顾客满意度指数模型): 感知质量 perceived "
    "quality and 顾客预期 expectations -> 顾客满意度 satisfaction -> 顾客抱怨 complaints (voice), 顾客忠诚 loyalty",
    blocks=(
        Block("Expectation", ("CUEX*",)),
        Block("Quality", ("PERQ*",)),
        Block("Satisfaction", ("CUSA*",)),
        Block("Complaints", ("CUSCO*",)),
        Block("Loyalty", ("CUSL*",)),
    ),
    paths=_paths(
        ("Expectation", ("Quality", "Satisfaction")),
        ("Quality", "Satisfaction"),
        ("Satisfaction", ("Complaints", "Loyalty")),
        ("Complaints", "Loyalty"),
    ),
)

BUILTIN_MODELS: dict[str, ModelSpec] = {m.name: m for m in (ACSI, ECSI, SCSB)}
"""The built-in models by name."""


def parse_spec(spec: Mapping[str, Any], name: str = "model") -> ModelSpec:
    """Build a :class:`ModelSpec` from a parsed TOML document (see docs/satisfaction.md).

    The document has a ``[blocks.<Construct>]`` table per construct with ``items`` (a list
    of names/patterns, or one pattern string) and optional ``mode`` (``"A"``/``"B"``), and
    ``[[paths]]`` entries with ``from`` and ``to`` (a name or a list of names).
    """
    name = str(spec.get("name", name))
    raw_blocks = spec.get("blocks")
    if not isinstance(raw_blocks, Mapping) or not raw_blocks:
        raise ConfigError(f"model {name!r}: expected a [blocks.<Construct>] table per construct")
    blocks: list[Block] = []
    for cname, body in raw_blocks.items():
        if not isinstance(body, Mapping) or "items" not in body:
            raise ConfigError(f"model {name!r}: block {cname!r} needs an 'items' list")
        items = body["items"]
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"model {name!r}: block {cname!r}: 'items' must be a list of strings; got {items!r}")
        unknown = set(body) - {"items", "mode"}
        if unknown:
            raise ConfigError(
                f"model {name!r}: block {cname!r} has unknown key(s) {sorted(unknown)}; expected 'items' and 'mode'"
            )
        mode = str(body.get("mode", "A")).upper()
        blocks.append(Block(str(cname), tuple(items), mode))
    raw_paths = spec.get("paths", [])
    if not isinstance(raw_paths, list):
        raise ConfigError(f"model {name!r}: 'paths' must be an array of tables ([[paths]])")
    pairs: list[tuple[str, str | Sequence[str]]] = []
    for k, entry in enumerate(raw_paths, start=1):
        if not isinstance(entry, Mapping) or "from" not in entry or "to" not in entry:
            raise ConfigError(f"model {name!r}: path entry {k} needs 'from' and 'to'; got {entry!r}")
        sources = entry["from"] if isinstance(entry["from"], list) else [entry["from"]]
        for src in sources:
            pairs.append((str(src), entry["to"] if isinstance(entry["to"], list) else str(entry["to"])))
    model = ModelSpec(name, tuple(blocks), _paths(*pairs), str(spec.get("description", "")))
    model.check()
    return model


def load_spec(path: str | Path) -> ModelSpec:
    """Read a model specification from a TOML file."""
    path = Path(path)
    doc = read_toml(path, "a model specification TOML file")
    model = parse_spec(doc, name=path.stem)
    return ModelSpec(model.name, model.blocks, model.paths, model.description, str(path))


def get_model(model: str | Path | ModelSpec) -> ModelSpec:
    """A built-in model by name (``acsi``, ``ecsi``, ``scsb``), a TOML file, or a spec."""
    if isinstance(model, ModelSpec):
        return model
    key = str(model).lower()
    if key in BUILTIN_MODELS:
        return BUILTIN_MODELS[key]
    path = Path(model)
    if path.suffix.lower() == ".toml" or path.exists():
        return load_spec(path)
    raise ConfigError(
        f"unknown model {str(model)!r}; expected one of {', '.join(BUILTIN_MODELS)} or a .toml specification file"
    )
