"""Mapping files: how the columns of one source become the columns of a canonical table.

A mapping is a TOML file (format in ``docs/import.md``)::

    table = "transactions"

    [source]
    date_format = "%Y/%m/%d %H:%M"
    timezone = "Asia/Shanghai"
    decimal = "."
    thousands = ","

    [columns]
    order_id = "订单号"
    ordered_at = { source = "下单时间", date_format = "%Y年%m月%d日 %H:%M" }
    channel = { source = "渠道", values = { "门店" = "store", "网店" = "web" } }

    [constants]
    line = 1

Keys of ``[columns]`` are canonical column names; values name the source column (or
give a table with ``source``, ``constant``, ``date_format``, ``timezone``, ``values``).
"""

from __future__ import annotations

import hashlib
import tomllib
import zoneinfo
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from custlens.errors import ConfigError, InputError
from custlens.schema import Table

__all__ = [
    "ColumnRule",
    "ImportMapping",
    "load_mapping",
    "parse_mapping",
    "DEFAULT_CURRENCY_SYMBOLS",
    "DEFAULT_NULL_VALUES",
    "DEFAULT_TRUE_VALUES",
    "DEFAULT_FALSE_VALUES",
]

DEFAULT_CURRENCY_SYMBOLS = ("¥", "￥", "$", "€", "£", "元", "RMB", "CNY", "USD", "EUR", "GBP", "HKD")
"""Currency marks removed from amounts unless the mapping lists its own."""
DEFAULT_NULL_VALUES = ("", "NA", "N/A", "n/a", "NULL", "null", "None", "NaN", "nan", "#N/A")
"""Cell texts read as empty."""
DEFAULT_TRUE_VALUES = ("true", "t", "yes", "y", "1", "是", "有", "真")
"""Texts read as true in boolean columns (compared in lower case)."""
DEFAULT_FALSE_VALUES = ("false", "f", "no", "n", "0", "否", "无", "假")
"""Texts read as false in boolean columns (compared in lower case)."""

_SOURCE_KEYS = {
    "encoding",
    "delimiter",
    "sheet",
    "skip_rows",
    "date_format",
    "timezone",
    "decimal",
    "thousands",
    "currency_symbols",
    "null_values",
    "true_values",
    "false_values",
}
_COLUMN_KEYS = {"source", "constant", "date_format", "timezone", "values"}
_TOP_KEYS = {"table", "source", "columns", "constants", "values"}


@dataclass(frozen=True)
class ColumnRule:
    """How one canonical column is filled.

    Parameters
    ----------
    source
        Source column name, or ``None`` when the column comes from ``constant``.
    constant
        Value used for every row (when ``source`` is ``None``).
    date_formats
        strptime formats tried in order for date/timestamp columns (overrides the source's).
    timezone
        IANA zone of naive timestamps in this column (overrides the source's).
    values
        Value map applied to the cell text before parsing (e.g. ``{"门店": "store"}``).
    """

    source: str | None = None
    constant: Any = None
    date_formats: tuple[str, ...] | None = None
    timezone: str | None = None
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportMapping:
    """Everything the importer needs to know about one source.

    Defaults: encoding detected (strict UTF-8, then GB18030), delimiter sniffed,
    ISO 8601 dates, naive timestamps in UTC, ``.`` decimal and ``,`` thousands
    separators, the currency marks in :data:`DEFAULT_CURRENCY_SYMBOLS` removed.
    """

    table: str | None = None
    columns: dict[str, ColumnRule] = field(default_factory=dict)
    encoding: str = "auto"
    delimiter: str | None = None
    sheet: str | int | None = None
    skip_rows: int = 0
    date_formats: tuple[str, ...] = ()
    timezone: str = "UTC"
    decimal: str = "."
    thousands: str = ","
    currency_symbols: tuple[str, ...] = DEFAULT_CURRENCY_SYMBOLS
    null_values: tuple[str, ...] = DEFAULT_NULL_VALUES
    true_values: tuple[str, ...] = DEFAULT_TRUE_VALUES
    false_values: tuple[str, ...] = DEFAULT_FALSE_VALUES
    sha256: str | None = None

    def check(self, table: Table, origin: str = "mapping") -> None:
        """Raise :class:`ConfigError` when the mapping names unknown columns or zones."""
        if self.table is not None and self.table != table.name:
            raise ConfigError(f"{origin}: written for table {self.table!r}, but the import targets {table.name!r}")
        for name in self.columns:
            if name not in table.column_names:
                raise ConfigError(
                    f"{origin}: [columns] names {name!r}, which table {table.name!r} does not "
                    f"have; expected one of: {', '.join(table.column_names)}"
                )
        zones = [self.timezone] + [r.timezone for r in self.columns.values() if r.timezone]
        for zone in zones:
            try:
                zoneinfo.ZoneInfo(zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"{origin}: unknown time zone {zone!r}; expected an IANA name such as 'Asia/Shanghai' or 'UTC'"
                ) from None
        if self.decimal == self.thousands:
            raise ConfigError(f"{origin}: decimal and thousands separators are both {self.decimal!r}")
        if len(self.decimal) != 1 or len(self.thousands) > 1:
            raise ConfigError(
                f"{origin}: decimal must be one character and thousands at most one; "
                f"got {self.decimal!r} and {self.thousands!r}"
            )
        from custlens.ingest.readers import TEXT_ENCODINGS

        if self.encoding not in TEXT_ENCODINGS:
            raise ConfigError(f"{origin}: encoding must be one of {', '.join(TEXT_ENCODINGS)}; got {self.encoding!r}")
        if self.skip_rows < 0:
            raise ConfigError(f"{origin}: skip_rows must be >= 0; got {self.skip_rows}")


def load_mapping(path: str | Path) -> ImportMapping:
    """Read a mapping file (TOML).

    Raises
    ------
    InputError
        When the file does not exist.
    ConfigError
        When it is not valid TOML or breaks the mapping format (the message names the key).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such mapping file")
    data = path.read_bytes()
    try:
        doc = tomllib.loads(data.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML mapping file ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a valid TOML mapping file (nested too deeply)") from None
    mapping = parse_mapping(doc, origin=str(path))
    return replace(mapping, sha256=hashlib.sha256(data).hexdigest())


def parse_mapping(doc: AbcMapping[str, Any], origin: str = "mapping") -> ImportMapping:
    """Build an :class:`ImportMapping` from a parsed TOML document (or any dict)."""
    _no_unknown(doc, _TOP_KEYS, origin, "top level")
    source = doc.get("source", {})
    if not isinstance(source, AbcMapping):
        raise ConfigError(f"{origin}: [source] must be a table")
    _no_unknown(source, _SOURCE_KEYS, origin, "[source]")
    kwargs: dict[str, Any] = {}
    for key in ("encoding", "timezone", "decimal", "thousands"):
        if key in source:
            kwargs[key] = _text(source[key], origin, f"source.{key}")
    if "encoding" in kwargs:
        from custlens.ingest.readers import check_encoding

        try:
            kwargs["encoding"] = check_encoding(kwargs["encoding"], "source.encoding")
        except InputError as exc:
            raise ConfigError(f"{origin}: {exc}") from None
    if "delimiter" in source:
        kwargs["delimiter"] = _text(source["delimiter"], origin, "source.delimiter")
        if len(kwargs["delimiter"]) != 1:
            raise ConfigError(f"{origin}: source.delimiter must be one character; got {kwargs['delimiter']!r}")
    if "sheet" in source:
        if not isinstance(source["sheet"], (str, int)):
            raise ConfigError(f"{origin}: source.sheet must be a sheet name or index")
        kwargs["sheet"] = source["sheet"]
    if "skip_rows" in source:
        if not isinstance(source["skip_rows"], int):
            raise ConfigError(f"{origin}: source.skip_rows must be an integer")
        kwargs["skip_rows"] = source["skip_rows"]
    if "date_format" in source:
        kwargs["date_formats"] = _formats(source["date_format"], origin, "source.date_format")
    for key in ("currency_symbols", "null_values", "true_values", "false_values"):
        if key in source:
            kwargs[key] = _texts(source[key], origin, f"source.{key}")
    for key in ("true_values", "false_values"):
        if key in kwargs:
            kwargs[key] = tuple(v.lower() for v in kwargs[key])

    rules: dict[str, ColumnRule] = {}
    columns = doc.get("columns", {})
    if not isinstance(columns, AbcMapping):
        raise ConfigError(f"{origin}: [columns] must be a table of canonical = source pairs")
    for target, spec in columns.items():
        rules[target] = _column_rule(target, spec, origin)
    constants = doc.get("constants", {})
    if not isinstance(constants, AbcMapping):
        raise ConfigError(f"{origin}: [constants] must be a table of column = value pairs")
    for target, value in constants.items():
        if target in rules:
            raise ConfigError(f"{origin}: column {target!r} is in both [columns] and [constants]")
        rules[target] = ColumnRule(constant=value)
    values = doc.get("values", {})
    if not isinstance(values, AbcMapping):
        raise ConfigError(f"{origin}: [values] must hold one table per column")
    for target, table in values.items():
        vmap = _value_map(table, origin, f"values.{target}")
        rule = rules.get(target, ColumnRule(source=target))
        rules[target] = replace(rule, values={**rule.values, **vmap})
    table = doc.get("table")
    if table is not None and not isinstance(table, str):
        raise ConfigError(f"{origin}: 'table' must be a table name")
    return ImportMapping(table=table, columns=rules, **kwargs)


def _column_rule(target: str, spec: Any, origin: str) -> ColumnRule:
    where = f"columns.{target}"
    if isinstance(spec, str):
        return ColumnRule(source=spec)
    if not isinstance(spec, AbcMapping):
        raise ConfigError(f"{origin}: {where} must be a source column name or a table")
    _no_unknown(spec, _COLUMN_KEYS, origin, where)
    if ("source" in spec) == ("constant" in spec):
        raise ConfigError(f"{origin}: {where} needs exactly one of 'source' or 'constant'")
    return ColumnRule(
        source=_text(spec["source"], origin, f"{where}.source") if "source" in spec else None,
        constant=spec.get("constant"),
        date_formats=_formats(spec["date_format"], origin, f"{where}.date_format") if "date_format" in spec else None,
        timezone=_text(spec["timezone"], origin, f"{where}.timezone") if "timezone" in spec else None,
        values=_value_map(spec.get("values", {}), origin, f"{where}.values"),
    )


def _value_map(table: Any, origin: str, where: str) -> dict[str, str]:
    if not isinstance(table, AbcMapping):
        raise ConfigError(f"{origin}: {where} must be a table of source = canonical values")
    out: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, (str, int, float)):
            raise ConfigError(f"{origin}: {where}.{key} must be a text or number; got {value!r}")
        out[str(key)] = str(value)
    return out


def _no_unknown(doc: AbcMapping[str, Any], allowed: set[str], origin: str, where: str) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise ConfigError(
            f"{origin}: unknown key(s) {', '.join(map(repr, unknown))} in {where}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _text(value: Any, origin: str, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{origin}: {where} must be a text; got {value!r}")
    return value


def _texts(value: Any, origin: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{origin}: {where} must be a text or a list of texts; got {value!r}")


def _formats(value: Any, origin: str, where: str) -> tuple[str, ...]:
    """strptime formats, each checked (a typo would otherwise reject every value silently)."""
    from custlens.features.coerce import check_date_format

    formats = _texts(value, origin, where)
    for fmt in formats:
        try:
            check_date_format(fmt, "date_format")
        except InputError as exc:
            raise ConfigError(f"{origin}: {where}: {exc}") from None
    return formats
