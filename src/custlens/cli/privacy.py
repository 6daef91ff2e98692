"""CLI commands: privacy (erase, export, correct, retention, find), keys (create, rotate), audit (verify, show)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custlens.cli._common import OutputFormat, OutputOption, dumps_json, emit, err_console, guarded, write_output

__all__ = ["register", "privacy_app", "keys_app", "audit_app"]

WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder (see `custlens init`).")]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        "-k",
        help="The workspace key file (default: $CUSTLENS_KEY_FILE, else the file workspace.toml names).",
        show_default=False,
    ),
]
PurposeOpt = Annotated[
    str | None, typer.Option("--purpose", help="Why: recorded in the audit log (e.g. a ticket number).")
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing output file.")]

privacy_app = typer.Typer(
    name="privacy",
    help="The rights of the people in the warehouse: erase a person, export everything held about them, correct their data, apply storage periods.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(
    name="keys",
    help="The key that encrypts personal data: create it, rotate it (re-encrypt everything, all or nothing).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(
    name="audit",
    help="The hash-chained audit log: verify that no entry was edited or removed, and show entries.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _say(text: str) -> None:
    """One line on standard error, never wrapped."""
    err_console.print(text, highlight=False, soft_wrap=True)


def _open(workspace: Path, key_file: Path | None, read_only: bool = False) -> object:
    from custlens.warehouse import Workspace

    return Workspace.open(workspace, read_only=read_only, key_file=key_file)


@privacy_app.command("erase")
@guarded
def erase_command(
    customer_id: Annotated[str, typer.Argument(help="The customer id of the person to erase.")],
    workspace: WorkspaceOpt = Path("."),
    key_file: KeyFileOpt = None,
    purpose: PurposeOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Report format.")] = OutputFormat.table,
) -> None:
    """Erase a person: delete their identity, pseudonymise their id everywhere, block a re-import.

    Every table, stored analysis, segment snapshot, export record and quarantine file that
    holds the id gets the pseudonym instead; keyed digests of the id, phone and e-mail go to
    the block list, so a later import of the person is refused (identity) or pseudonymised.
    The report names what was touched and the earlier exports that held the person.

    Example: custlens privacy erase C000123 -w shop --purpose "request 2026-11-02"
    """
    from custlens.privacy import erase

    with _open(workspace, key_file) as ws:  # type: ignore[attr-defined]
        report = erase(ws, customer_id, purpose=purpose)
    out = report.to_dict()
    if fmt is OutputFormat.json:
        emit(out, OutputFormat.json)
        return
    rows = {
        "customer_id": out["customer_id"],
        "pseudonym": out["pseudonym"],
        "identity_rows": out["identity_rows"],
        "history_rows": out["history_rows"],
        **{f"rows {k}": v for k, v in out["rows"].items()},
        "stored_results": out["stored_results"],
        "quarantine_files": out["quarantine_files"],
        "blocklist_entries": out["blocklist_entries"],
        "earlier exports": ", ".join(str(e["path"]) for e in out["exports"]) or "none",
    }
    emit(rows, OutputFormat.table, title=f"erased {customer_id}")


@privacy_app.command("export")
@guarded
def export_command(
    customer_id: Annotated[str, typer.Argument(help="The customer id of the person.")],
    workspace: WorkspaceOpt = Path("."),
    key_file: KeyFileOpt = None,
    output: OutputOption = None,
    force: ForceOpt = False,
    purpose: PurposeOpt = None,
) -> None:
    """Write everything held about one person as JSON (the right of access).

    Identity (decrypted), the history of corrections, every row of every table holding the
    id (orders, interactions, invoices, survey answers, stored analyses, segments) and the
    exports that held the person.

    Example: custlens privacy export C000123 -w shop -o C000123.json
    """
    from custlens.privacy import export_person

    with _open(workspace, key_file) as ws:  # type: ignore[attr-defined]
        data = export_person(ws, customer_id, purpose=purpose)
        write_output(dumps_json(data).encode("utf-8") + b"\n", output, force=force)


@privacy_app.command("correct")
@guarded
def correct_command(
    customer_id: Annotated[str, typer.Argument(help="The customer id of the person.")],
    set_: Annotated[
        list[str],
        typer.Option("--set", help="FIELD=VALUE to change (repeatable); FIELD= clears the field."),
    ],
    workspace: WorkspaceOpt = Path("."),
    key_file: KeyFileOpt = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: kept with the history and in the audit log.")
    ] = None,
) -> None:
    """Correct identity fields of one person; the old values are kept (encrypted) as history.

    Example: custlens privacy correct C000123 --set phone=13800000000 --set email= -w shop --reason "call 2026-11-02"
    """
    from custlens.errors import InputError
    from custlens.privacy import correct

    changes: dict[str, str | None] = {}
    for item in set_:
        if "=" not in item:
            raise InputError(f"--set expects FIELD=VALUE; got {item!r}")
        name, value = item.split("=", 1)
        changes[name.strip()] = value if value != "" else None
    with _open(workspace, key_file) as ws:  # type: ignore[attr-defined]
        result = correct(ws, customer_id, changes, reason=reason)
    _say(f"corrected {customer_id}: {', '.join(result['changed']) or 'nothing changed'}")


@privacy_app.command("retention")
@guarded
def retention_command(
    workspace: WorkspaceOpt = Path("."),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go, change nothing.")] = False,
    purpose: PurposeOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Report format.")] = OutputFormat.table,
) -> None:
    """Delete or anonymise what is older than its storage period ([retention] in workspace.toml); report counts.

    Example: custlens privacy retention -w shop --dry-run
    """
    from custlens.privacy import apply_retention

    with _open(workspace, None) as ws:  # type: ignore[attr-defined]
        report = apply_retention(ws, dry_run=dry_run, purpose=purpose)
    out = report.to_dict()
    if fmt is OutputFormat.json:
        emit(out, OutputFormat.json)
        return
    rows = {
        "today": out["today"],
        "dry_run": out["dry_run"],
        **{f"{k} (before {out['cutoffs'][k]})": v for k, v in out["rows"].items()},
        "quarantine files": out["quarantine_files"],
    }
    emit(rows, OutputFormat.table, title="retention")


@privacy_app.command("find")
@guarded
def find_command(
    workspace: WorkspaceOpt = Path("."),
    key_file: KeyFileOpt = None,
    phone: Annotated[str | None, typer.Option("--phone", help="Phone number (any spacing or punctuation).")] = None,
    email: Annotated[str | None, typer.Option("--email", help="E-mail address (any case).")] = None,
    purpose: PurposeOpt = None,
) -> None:
    """Find customer ids by exact phone or e-mail through the blind index (nothing is decrypted).

    Example: custlens privacy find --phone "+86 138 0000 0001" -w shop
    """
    from custlens.privacy import find_customers

    with _open(workspace, key_file) as ws:  # type: ignore[attr-defined]
        ids = find_customers(ws, phone=phone, email=email, purpose=purpose)
    emit({"customer_id": ids}, OutputFormat.table)


@keys_app.command("create")
@guarded
def keys_create_command(
    workspace: WorkspaceOpt = Path("."),
    key_file: KeyFileOpt = None,
) -> None:
    """Create the key of a workspace made without one (mode 0600, never inside the workspace).

    Example: custlens keys create -w shop --key-file ~/.config/custlens/shop.key
    """
    from custlens.privacy import create_key

    with _open(workspace, None) as ws:  # type: ignore[attr-defined]
        key, path = create_key(ws, key_file)
    _say(f"created key {key.key_id} in {path} (keep it safe: without it personal data cannot be read)")


@keys_app.command("rotate")
@guarded
def keys_rotate_command(
    workspace: WorkspaceOpt = Path("."),
    key_file: KeyFileOpt = None,
    purpose: PurposeOpt = None,
) -> None:
    """Re-encrypt all personal data under a new key, all or nothing, and replace the key file.

    Example: custlens keys rotate -w shop
    """
    from custlens.privacy import rotate_key

    with _open(workspace, key_file) as ws:  # type: ignore[attr-defined]
        result = rotate_key(ws, purpose=purpose)
    _say(
        f"rotated key {result['old_key_id']} -> {result['new_key_id']} ({result['identity_rows']:,} identity rows) "
        f"in {result['key_file']}"
    )


@audit_app.command("verify")
@guarded
def audit_verify_command(workspace: WorkspaceOpt = Path(".")) -> None:
    """Check the chain of the audit log: exit 0 when intact, 1 naming the first edited or missing entry.

    Example: custlens audit verify -w shop
    """
    from custlens.privacy import audit

    result = audit.verify(workspace)
    if not result.ok:
        _say(f"[bold red]error:[/] audit log of {workspace} is broken: {result.problem}")
        raise typer.Exit(1)
    _say(f"audit log of {workspace}: {result.entries:,} entries, chain intact")


@audit_app.command("show")
@guarded
def audit_show_command(
    workspace: WorkspaceOpt = Path("."),
    action: Annotated[
        str | None,
        typer.Option("--action", help="An action or its group: erase, export, key, identity.read, login, ..."),
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who acted, e.g. cli:alice or api:bob.")] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Entries about this customer id (needs the key).")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this date or time (ISO, UTC).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this date (inclusive) or time.")] = None,
    key_file: KeyFileOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Show audit entries, filtered by action, actor, customer and time.

    Example: custlens audit show -w shop --action erase --since 2026-11-01
    """
    from custlens.privacy import audit

    subject = None
    if customer is not None:
        from custlens.privacy import workspace_key

        with _open(workspace, key_file, read_only=True) as ws:  # type: ignore[attr-defined]
            subject = audit.subject_ref(workspace_key(ws), customer)
    entries = audit.show(workspace, action=action, actor=actor, subject=subject, since=since, until=until)
    if fmt is OutputFormat.json:
        emit({"entries": entries}, OutputFormat.json, output)
        return
    table = {
        "seq": [e["seq"] for e in entries],
        "at": [e["at"] for e in entries],
        "actor": [e["actor"] for e in entries],
        "action": [e["action"] for e in entries],
        "purpose": [e.get("purpose") or "" for e in entries],
        "subject": [e.get("subject") or "" for e in entries],
        "details": [dumps_json(e.get("details") or {}).replace("\n", " ") for e in entries],
    }
    emit(table, fmt, output, title=f"audit log of {workspace}")


def register(app: typer.Typer) -> None:
    """Add the ``privacy``, ``keys`` and ``audit`` groups to ``app``."""
    app.add_typer(privacy_app, name="privacy")
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
