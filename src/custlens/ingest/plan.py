"""Resolving a mapping against a source's header: which source column fills which
canonical column, which are constants, and which are derived.

Derived columns (used when the source does not provide them):

- ``transactions.line``: 1 (the schema's rule for sources without order lines);
- ``transactions.return_flag``: true when the amount is negative (also OR-ed onto a
  mapped flag);
- ``transactions.margin``: ``amount - cost`` when the source has a cost;
- ``<x>_tz`` beside a ``<x>_at`` timestamp: the time zone the timestamp was read in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from custlens.errors import InputError
from custlens.ingest.mapping import ImportMapping
from custlens.schema import Column, Table

if TYPE_CHECKING:
    from custlens.warehouse import WorkspaceSettings

__all__ = ["TargetPlan", "ImportPlan", "ImportLimits", "build_plan", "limits_of", "tz_partner"]


@dataclass(frozen=True)
class ImportLimits:
    """Plausibility bounds of imported values (from the workspace settings).

    Parameters
    ----------
    earliest, latest
        Dates and timestamps outside ``[earliest, latest]`` are rejected.
    max_amount
        Largest absolute value of a money column.
    currency
        The workspace currency code; amounts marked with another currency's symbol are
        rejected (``""``: any of the usual marks is removed, as before).
    """

    earliest: date = date(1900, 1, 1)
    latest: date = date(2100, 12, 31)
    max_amount: float = 1e15
    currency: str = ""


def limits_of(settings: WorkspaceSettings) -> ImportLimits:
    """The import limits a workspace's settings define."""
    return ImportLimits(
        earliest=date.fromisoformat(settings.earliest_date),
        latest=date.fromisoformat(settings.latest_date),
        max_amount=settings.max_amount,
        currency=settings.currency.strip().upper(),
    )


@dataclass(frozen=True)
class TargetPlan:
    """How one canonical column is produced for every batch."""

    column: Column
    source: str | None = None
    constant: Any = None
    date_formats: tuple[str, ...] = ()
    timezone: str = "UTC"
    values: dict[str, str] = field(default_factory=dict)
    derived: str | None = None

    @property
    def label(self) -> str:
        """Name used in quarantine records: the source column, else the canonical one."""
        return self.source if self.source is not None else self.column.name


@dataclass(frozen=True)
class ImportPlan:
    """The resolved plan for one import."""

    table: Table
    targets: tuple[TargetPlan, ...]
    ignored: tuple[str, ...]
    limits: ImportLimits = field(default_factory=ImportLimits)

    def mapped(self) -> dict[str, str]:
        """Canonical column -> what fills it (source column, 'constant' or 'derived')."""
        out = {}
        for t in self.targets:
            if t.source is not None:
                out[t.column.name] = t.source
            elif t.derived is not None:
                out[t.column.name] = f"<derived: {t.derived}>"
            elif t.constant is not None:
                out[t.column.name] = f"<constant: {t.constant!r}>"
        return out


def tz_partner(table: Table, column: Column) -> str | None:
    """Name of the ``*_tz`` column kept beside a timestamp column, if the table has one."""
    if column.dtype != "timestamp('UTC')" or not column.name.endswith("_at"):
        return None
    name = column.name[: -len("_at")] + "_tz"
    return name if name in table.column_names else None


def build_plan(
    table: Table,
    mapping: ImportMapping,
    source_columns: list[str],
    origin: str,
    limits: ImportLimits | None = None,
) -> ImportPlan:
    """Match canonical columns to source columns.

    Explicit mapping rules win; canonical columns the mapping does not name are filled
    from a source column of the same name (case and surrounding spaces ignored).

    Raises
    ------
    InputError
        When a mapped source column is missing from the file, or a required canonical
        column has no source (the message lists the file's columns).
    """
    mapping.check(table, "mapping")
    exact = {name: name for name in source_columns}
    folded = {name.strip().lower(): name for name in source_columns}
    used: set[str] = set()
    targets: list[TargetPlan] = []
    tz_columns = {tz_partner(table, c): c for c in table.columns if tz_partner(table, c)}
    for column in table.columns:
        rule = mapping.columns.get(column.name)
        formats = mapping.date_formats
        zone = mapping.timezone
        values: dict[str, str] = {}
        source: str | None = None
        constant: Any = None
        if rule is not None:
            formats = rule.date_formats or formats
            zone = rule.timezone or zone
            values = rule.values
            if rule.source is not None:
                if rule.source in exact:
                    source = rule.source
                elif rule.source.strip().lower() in folded:
                    source = folded[rule.source.strip().lower()]
                else:
                    raise InputError(
                        f"{origin}: the mapping takes {table.name}.{column.name} from column "
                        f"{rule.source!r}, which the file does not have; its columns are: "
                        f"{', '.join(source_columns)}"
                    )
            else:
                constant = rule.constant
        elif column.name in folded:
            source = folded[column.name]
        if source is not None:
            used.add(source)
            targets.append(TargetPlan(column, source=source, date_formats=formats, timezone=zone, values=values))
            continue
        if constant is not None:
            targets.append(TargetPlan(column, constant=constant, date_formats=formats, timezone=zone, values=values))
            continue
        derived = _derivation(table, column, mapping, source_columns, tz_columns)
        if derived is None and column.required:
            raise InputError(
                f"{origin}: {table.name}.{column.name} is required, but the file has no column "
                f"{column.name!r} and the mapping names none; the file's columns are: "
                f'{", ".join(source_columns)}. Add `{column.name} = "<source column>"` '
                "under [columns] in a mapping file (the 'mapping' of the import)"
            )
        targets.append(TargetPlan(column, derived=derived, timezone=zone))
    ignored = tuple(c for c in source_columns if c not in used)
    return ImportPlan(table=table, targets=tuple(targets), ignored=ignored, limits=limits or ImportLimits())


def _derivation(
    table: Table,
    column: Column,
    mapping: ImportMapping,
    source_columns: list[str],
    tz_columns: dict[str | None, Column],
) -> str | None:
    if table.name == "transactions":
        if column.name == "line":
            return "one"
        if column.name == "return_flag":
            return "negative_amount"
        if column.name == "margin":
            has_cost = "cost" in mapping.columns or "cost" in {c.strip().lower() for c in source_columns}
            return "amount_minus_cost" if has_cost else None
    if column.name in tz_columns:
        return "zone_of:" + tz_columns[column.name].name
    return None
