"""The ``custlens`` command: a thin edge over the library.

Each command group lives in its own module and adds its commands with ``register(app)``.
The modules are imported only when one of their commands runs (or its ``--help`` is
asked for): ``custlens --help`` and ``custlens version`` import none of them, so they start
without loading NumPy, Arrow, Ibis or SciPy. :data:`COMMANDS` lists every top-level
command with the modules that define it and its one-line help; a test checks that each
line equals the command's own.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

from custlens.cli._coercion import lighten, lighten_parameter

__all__ = ["app", "main", "COMMANDS", "load_all"]

COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "audit": (
        ("custlens.cli.privacy",),
        "The hash-chained audit log: verify that no entry was edited or removed, and show entries.",
    ),
    "analyze": (
        ("custlens.cli.analyze",),
        "Run the standard analysis for an as-of date and store it in the workspace.",
    ),
    "churn": (("custlens.cli.clv_formula",), "At-risk customers ranked by value at stake = value x (1 - P(alive))."),
    "clv": (("custlens.cli.clv",), "Value every customer: P(alive), expected purchases and spend, discounted CLV."),
    "clv-formula": (
        ("custlens.cli.clv_formula",),
        "Lifetime value by the formula models of CRM practice (retention, migration/Markov).",
    ),
    "cube": (
        ("custlens.cli.cube",),
        "Multi-dimensional analysis: measures by dimensions with roll-up subtotals, slices and drill-down.",
    ),
    "demo": (("custlens.cli.demo",), "Run the main job on the synthetic demo company and print an overview."),
    "fit": (("custlens.cli.clv",), "Fit a customer-base model by maximum likelihood and print its estimates."),
    "generate": (("custlens.cli.generate",), "Generate the synthetic demo company into OUT_DIR."),
    "import": (("custlens.cli.data",), "Import FILE into a canonical table of the workspace, all or nothing."),
    "init": (
        ("custlens.cli.data",),
        "Create a workspace: a folder with the warehouse (warehouse.duckdb), its settings (workspace.toml) and a quarantine/ folder for rejected rows.",
    ),
    "keys": (
        ("custlens.cli.privacy",),
        "The key that encrypts personal data: create it, rotate it (re-encrypt everything, all or nothing).",
    ),
    "kano": (
        ("custlens.cli.satisfaction",),
        "Kano analysis: category, strength, Fong test and Better/Worse per attribute.",
    ),
    "lost": (
        ("custlens.cli.value",),
        "Lost customers from the stored analysis: permanent or temporary loss, reasons, complaint resolution, "
        "conversion between relationship states, win-back campaigns.",
    ),
    "playbook": (
        ("custlens.cli.scoring",),
        "Show the playbook, or attach each customer's suggested action (service, channel, priority, offer).",
    ),
    "pls": (
        ("custlens.cli.satisfaction",),
        "Fit a PLS path model (ACSI, ECSI, SCSB or your own) and report paths, weights, loadings, R², quality and the 0-100 index.",
    ),
    "privacy": (
        ("custlens.cli.privacy",),
        "The rights of the people in the warehouse: erase a person, export everything held about them, correct their data, apply storage periods.",
    ),
    "refresh": (
        ("custlens.cli.data",),
        "Re-import the sources listed in workspace.toml [refresh], then recompute and store the analysis and the tags.",
    ),
    "report": (("custlens.cli.report",), "Write the self-contained HTML report from the stored analysis."),
    "segment": (
        ("custlens.cli.segment", "custlens.cli.scoring"),
        "Customer identification and segmentation: relationship state, lifecycle, RFM, ABC/pyramid, value matrices, rule segments, clustering, snapshots and migration.",
    ),
    "serve": (
        ("custlens.cli.service",),
        "Serve the REST API (/api/v1, docs at /docs) and the dashboard for a workspace.",
    ),
    "summary": (("custlens.cli.summary",), "Per-customer purchase history: frequency, recency, T, monetary_value."),
    "tags": (
        ("custlens.cli.tags",),
        "Customer tags and profiles: apply a tag taxonomy with history, list, show, evaluate, personas, audiences.",
    ),
    "user": (
        ("custlens.cli.service",),
        "Users of the service: add, list, change role or password, disable, issue and revoke API tokens.",
    ),
    "value": (
        ("custlens.cli.value",),
        "The whole value story from the stored analysis: CLV components (historical, current, potential), "
        "sensitivity to each factor (tornado), share of wallet.",
    ),
}
"""Top-level commands: the modules that define each (in registration order) and its help line."""

_loaded_modules: set[str] = set()
_registry = typer.Typer()  # every command module registers here once, when first needed


def _load(name: str) -> Any:
    """The click command ``name``, importing and registering its modules on first use."""
    modules, _ = COMMANDS[name]
    for module_name in modules:
        if module_name not in _loaded_modules:
            importlib.import_module(module_name).register(_registry)
            _loaded_modules.add(module_name)
    return typer.main.get_group(_registry).commands[name]


class _LazyGroup(TyperGroup):
    """The root group: lists every command, builds a command's parser only when it runs."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        # a listing (``custlens --help``) needs only the name and the help line
        line = COMMANDS[cmd_name][1]
        return typer.core.TyperCommand(cmd_name, help=line, short_help=line)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in COMMANDS and args[0] not in self.commands:
            self.add_command(_load(args[0]), args[0])
        name, command, rest = super().resolve_command(ctx, args)
        return name, (lighten(command, ctx) if command is not None else None), rest

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            lighten_parameter(option)
        return option


app = typer.Typer(
    name="custlens",
    cls=_LazyGroup,
    help="custlens: analytical CRM. Who your customers are, what each is worth, which "
    "matter most, how satisfied they are, and what to do for each group.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """custlens: analytical CRM on a DuckDB warehouse (Spark through Ibis for scale)."""


@app.command("version")
def version() -> None:
    """Print the custlens version."""
    from custlens import __version__

    typer.echo(__version__)


def load_all() -> TyperGroup:
    """The root click group with every command loaded (for the reference generator and tests)."""
    root = typer.main.get_group(app)
    for name in COMMANDS:
        if name not in root.commands:
            root.add_command(_load(name), name)
    return root


def main() -> None:
    """Entry point of the ``custlens`` console script.

    Files the command creates are private to the user (umask 077): workspace files,
    exports and reports may hold customer data.
    """
    import os

    os.umask(0o077)
    try:
        app()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    _exit(code)


def _exit(code: object) -> None:
    """End the process with ``code`` once Python's own exit work is done, skipping C++ teardown.

    Arrow's thread pool can abort the process while its static objects are destroyed
    after a command has finished (``terminate called without an active exception``,
    exit -6; apache/arrow#34314, #39862), which turns a finished command or a reported
    error into a crash. Here the exit functions run, open objects are collected (DuckDB
    connections close), the streams are flushed, and the process ends without the
    static destructors.
    """
    import atexit
    import gc
    import os
    import sys

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # SystemExit("message"): Python prints the message and exits with 1
        sys.stderr.write(f"{code}\n")
        status = 1
    atexit._run_exitfuncs()
    gc.collect()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (custlens ... | head): nothing left to say
            pass
    os._exit(status)
