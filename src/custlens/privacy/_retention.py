"""Storage periods: rows older than their table's period are deleted or anonymised.

Periods are set in ``workspace.toml``::

    [retention]
    transactions = "7y"                                   # delete order lines older than 7 years
    interactions = { older_than = "3y", action = "anonymise" }
    identity = "3y"          # personal data of customers inactive for 3 years
    quarantine = "90d"       # quarantine files

A period is a whole number and a unit: ``d`` days, ``m`` months (30.4375 days), ``y``
years (365.25 days). ``action = "anonymise"`` keeps the rows for totals but replaces the
customer id with ``anonymous``. For ``identity`` the age is the time since the customer's
latest order or interaction (their identity row and correction history are deleted; no
block list: they may come back). The database file is rewritten afterwards so deleted
values leave no trace (:func:`custlens.warehouse._compact.compact_database`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from custlens.errors import ConfigError
from custlens.privacy import audit
from custlens.warehouse._ddl import quote
from custlens.warehouse._migrations import HISTORY_TABLES, IDENTITY_HISTORY_TABLE

if TYPE_CHECKING:
    from custlens.warehouse import Workspace

__all__ = ["DATE_COLUMNS", "RetentionRule", "RetentionReport", "retention_periods", "apply_retention"]

DATE_COLUMNS: dict[str, str] = {
    "transactions": "ordered_at",
    "interactions": "occurred_at",
    "receivables": "issued_on",
    "leads": "created_at",
    "survey_answers": "answered_at",
}
"""The date that measures a row's age, per table."""

_PERIOD = re.compile(r"\s*(\d{1,5})\s*([dmy])\s*", re.IGNORECASE)
_DAYS = {"d": 1.0, "m": 365.25 / 12, "y": 365.25}
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class RetentionRule:
    """One table's storage period and what happens to older rows."""

    table: str
    period: str
    days: float
    action: str = "delete"


@dataclass(frozen=True)
class RetentionReport:
    """What :func:`apply_retention` did (or would do, with ``dry_run``)."""

    today: date
    dry_run: bool
    rows: dict[str, int] = field(default_factory=dict)
    cutoffs: dict[str, str] = field(default_factory=dict)
    quarantine_files: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain form."""
        out = asdict(self)
        out["today"] = self.today.isoformat()
        return out


def retention_periods(workspace: Workspace) -> list[RetentionRule]:
    """The rules of ``[retention]`` in ``workspace.toml``.

    Raises
    ------
    ConfigError
        An unknown table, a period that is not ``<number><d|m|y>``, an unknown action.
    """
    section = workspace.settings.extra.get("retention", {})
    where = f"{workspace.path / 'workspace.toml'}: [retention]"
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a table of table = period")
    known = (*DATE_COLUMNS, "identity", "quarantine")
    rules = []
    for table, spec in section.items():
        if table not in known:
            raise ConfigError(f"{where}: unknown table {table!r}; expected some of: {', '.join(known)}")
        action = "delete"
        if isinstance(spec, dict):
            unknown = set(spec) - {"older_than", "action"}
            if unknown or "older_than" not in spec:
                raise ConfigError(f'{where}.{table}: expected {{ older_than = "7y", action = "delete" }}')
            action, spec = str(spec.get("action", "delete")), spec["older_than"]
        match = _PERIOD.fullmatch(spec) if isinstance(spec, str) else None
        if match is None or int(match.group(1)) == 0:
            raise ConfigError(f'{where}.{table}: a period such as "90d", "18m" or "7y"; got {spec!r}')
        if action not in ("delete", "anonymise") or (action == "anonymise" and table not in DATE_COLUMNS):
            raise ConfigError(
                f"{where}.{table}: action must be 'delete' or (for a data table) 'anonymise'; got {action!r}"
            )
        days = int(match.group(1)) * _DAYS[match.group(2).lower()]
        rules.append(RetentionRule(table, spec.strip(), days, action))
    return rules


def apply_retention(
    workspace: Workspace,
    *,
    today: date | None = None,
    dry_run: bool = False,
    actor: str | None = None,
    purpose: str | None = None,
) -> RetentionReport:
    """Delete or anonymise everything older than its storage period; return the counts.

    Everything in the warehouse changes in one transaction. ``dry_run`` counts only.
    """
    rules = retention_periods(workspace)
    today = today or datetime.now(UTC).date()
    raw = workspace.raw
    rows: dict[str, int] = {}
    cutoffs: dict[str, str] = {}
    files = 0
    raw.execute("BEGIN TRANSACTION")
    try:
        for rule in rules:
            cutoff = today - timedelta(days=rule.days)
            cutoffs[rule.table] = cutoff.isoformat()
            if rule.table in DATE_COLUMNS:
                col = quote(DATE_COLUMNS[rule.table])
                where = f"{col} IS NOT NULL AND CAST({col} AS DATE) < ?"
                n = raw.execute(f"SELECT count(*) FROM {quote(rule.table)} WHERE {where}", [cutoff]).fetchall()[0][0]
                if n and not dry_run:
                    # the table's earlier versions (receivables_history) age with it
                    for name in (rule.table, *([HISTORY_TABLES[rule.table]] if rule.table in HISTORY_TABLES else [])):
                        if rule.action == "delete":
                            raw.execute(f"DELETE FROM {quote(name)} WHERE {where}", [cutoff])
                        else:
                            raw.execute(f"UPDATE {quote(name)} SET customer_id = ? WHERE {where}", [ANONYMOUS, cutoff])
                rows[rule.table] = int(n)
            elif rule.table == "identity":
                inactive = """customer_id NOT IN (
                    SELECT customer_id FROM transactions WHERE CAST(ordered_at AS DATE) >= ?
                    UNION SELECT customer_id FROM interactions WHERE CAST(occurred_at AS DATE) >= ?)"""
                n = raw.execute(f"SELECT count(*) FROM identity WHERE {inactive}", [cutoff, cutoff]).fetchall()[0][0]
                if n and not dry_run:
                    raw.execute(
                        f"DELETE FROM {IDENTITY_HISTORY_TABLE} WHERE customer_id IN "
                        f"(SELECT customer_id FROM identity WHERE {inactive})",
                        [cutoff, cutoff],
                    )
                    raw.execute(f"DELETE FROM identity WHERE {inactive}", [cutoff, cutoff])
                rows["identity"] = int(n)
        raw.execute("ROLLBACK" if dry_run else "COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    for rule in rules:
        if rule.table == "quarantine":
            limit = datetime.combine(today - timedelta(days=rule.days), datetime.min.time(), UTC).timestamp()
            for path in workspace.quarantine_dir.glob("*.csv"):
                if path.stat().st_mtime < limit:
                    files += 1
                    if not dry_run:
                        path.unlink()
    report = RetentionReport(today=today, dry_run=dry_run, rows=rows, cutoffs=cutoffs, quarantine_files=files)
    if not dry_run:
        if any(rows.values()):
            from custlens.warehouse._compact import compact_database

            compact_database(workspace)
        audit.record(workspace, "retention", actor=actor, purpose=purpose, details=report.to_dict())
    return report
