"""CLI commands: serve (the REST API and dashboard) and user (accounts and API tokens)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from custlens.cli._common import FormatOption, OutputFormat, OutputOption, emit, err_console, guarded

if TYPE_CHECKING:
    from custlens.access import AccessStore
    from custlens.warehouse import Workspace

__all__ = ["register", "serve_command", "user_app"]

WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder (see `custlens init`).")]

user_app = typer.Typer(
    name="user",
    help="Users of the service: add, list, change role or password, disable, issue and revoke API tokens.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@guarded
def serve_command(
    workspace: WorkspaceOpt,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            "--forwarded-allow-ips",
            help="Proxies whose X-Forwarded-Proto/For are trusted (comma-separated; '*' for any). Behind a TLS "
            "proxy the session cookie is then marked Secure.",
        ),
    ] = "127.0.0.1",
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="Key file of the workspace's personal data (default: $CUSTLENS_KEY_FILE, else the one "
            "recorded in workspace.toml).",
        ),
    ] = None,
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the dashboard for a workspace.

    The server holds the workspace for writing while it runs: other custlens commands
    (imports, analyze, user) cannot open it and say so in one line; import and analyse
    through the API meanwhile (POST /api/v1/imports, /api/v1/analyses). Create users first
    with `custlens user add`.

    Example: custlens serve --workspace custlens-demo/workspace --port 8000
    """
    import time

    import uvicorn

    from custlens.api import create_app

    started = time.perf_counter()
    app = create_app(workspace, key_file=key_file)
    latest = app.state.service.warm()
    ready = f"analysis {latest} indexed" if latest else "no stored analysis yet"
    err_console.print(
        f"serving {workspace} on http://{host}:{port} (API docs at /docs; {ready} in "
        f"{time.perf_counter() - started:.1f} s); Ctrl-C stops"
    )
    # the request threads hand the GIL to the event loop often; the default 5 ms switch
    # interval makes a 1 ms request wait several intervals under load
    sys.setswitchinterval(0.0005)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=30,
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
        )
    finally:
        app.state.service.close()


def _password(stdin: bool) -> str:
    from custlens.errors import InputError

    if stdin:
        text = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        text = getpass.getpass("password: ")
        if getpass.getpass("again: ") != text:
            raise InputError("the two passwords differ")
    if not text:
        raise InputError("no password given (pipe it on standard input with --password-stdin)")
    return text


def _store(workspace: Path) -> tuple[Workspace, AccessStore]:
    from custlens.access import AccessStore
    from custlens.warehouse import Workspace

    ws = Workspace.open(workspace)
    return ws, AccessStore(ws.raw)


def _audit(ws: Workspace, action: str, details: dict[str, str]) -> None:
    """Record a user change made from the command line (actor ``cli:<os user>``)."""
    from custlens.privacy import audit

    audit.record(ws, action, details=details)


@user_app.command("add")
@guarded
def user_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ - @).")],
    role: Annotated[str, typer.Option("--role", "-r", help="admin, analyst, marketing, sales or service.")],
    workspace: WorkspaceOpt,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts).")
    ] = False,
) -> None:
    """Add a user with a role; the password is asked for (or read from standard input).

    Example: echo 'a long password' | custlens user add ann --role analyst -w shop --password-stdin
    """
    from custlens.access import check_role

    check_role(role)  # before asking for a password
    ws, store = _store(workspace)
    try:
        user = store.add_user(name, _password(password_stdin), role)
        _audit(ws, "user.change", {"user": name, "change": "added", "role": role})
    finally:
        ws.close()
    err_console.print(f"added {user.username} ({user.role})")


@user_app.command("list")
@guarded
def user_list(workspace: WorkspaceOpt, fmt: FormatOption = OutputFormat.table, output: OutputOption = None) -> None:
    """List the users: name, role, created, disabled, locked until."""
    ws, store = _store(workspace)
    try:
        rows = store.list_users()
    finally:
        ws.close()
    import pyarrow as pa

    emit(pa.Table.from_pylist(rows) if rows else {"users": 0}, fmt, output, title="users")


@user_app.command("set-role")
@guarded
def user_set_role(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option("--role", "-r", help="admin, analyst, marketing, sales or service.")],
    workspace: WorkspaceOpt,
) -> None:
    """Change a user's role."""
    ws, store = _store(workspace)
    try:
        store.set_role(name, role)
        _audit(ws, "role.change", {"user": name, "to": role})
    finally:
        ws.close()
    err_console.print(f"{name} is now {role}")


@user_app.command("password")
@guarded
def user_password(
    name: Annotated[str, typer.Argument(help="User name.")],
    workspace: WorkspaceOpt,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a user's password (unlocks the account and ends its sessions)."""
    ws, store = _store(workspace)
    try:
        store.set_password(name, _password(password_stdin))
        _audit(ws, "user.change", {"user": name, "change": "password"})
    finally:
        ws.close()
    err_console.print(f"password of {name} changed")


@user_app.command("disable")
@guarded
def user_disable(
    name: Annotated[str, typer.Argument(help="User name.")],
    workspace: WorkspaceOpt,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the user again instead.")] = False,
) -> None:
    """Disable a user (ends its sessions, revokes its tokens), or enable it again."""
    ws, store = _store(workspace)
    try:
        store.set_disabled(name, not enable)
        _audit(ws, "user.change", {"user": name, "change": "enabled" if enable else "disabled"})
    finally:
        ws.close()
    err_console.print(f"{name} {'enabled' if enable else 'disabled'}")


@user_app.command("token")
@guarded
def user_token(
    name: Annotated[str, typer.Argument(help="User name.")],
    workspace: WorkspaceOpt,
    days: Annotated[int, typer.Option("--days", help="Days until the token expires.")] = 90,
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
    revoke: Annotated[str | None, typer.Option("--revoke", help="Revoke the token with this id instead.")] = None,
) -> None:
    """Issue an API token for a user (printed once), or revoke one by its id."""
    ws, store = _store(workspace)
    try:
        if revoke is not None:
            store.revoke_token_id(revoke)
            _audit(ws, "user.change", {"change": "token revoked", "token": revoke})
            err_console.print(f"revoked {revoke}")
            return
        token = store.issue_token(name, name=label, days=days)
        _audit(ws, "user.change", {"user": name, "change": "token issued"})
    finally:
        ws.close()
    typer.echo(token)


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``user`` group to ``app``."""
    app.command("serve")(serve_command)
    app.add_typer(user_app, name="user")
