"""The ``custlens`` command: a thin edge over the library.

Each command group lives in its own module and adds its commands with ``register(app)``.
"""

from __future__ import annotations

import typer

from custlens.cli import clv as _clv
from custlens.cli import data as _data
from custlens.cli import satisfaction as _satisfaction
from custlens.cli import segment as _segment

__all__ = ["app", "main"]

app = typer.Typer(
    name="custlens",
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


for _module in (_data, _segment, _clv, _satisfaction):
    _module.register(app)


def main() -> None:
    """Entry point of the ``custlens`` console script."""
    app()
