"""The ``custlens`` command: a thin edge over the library.

Each command group lives in its own module and adds its commands with ``register(app)``.
"""

from __future__ import annotations

import typer

from custlens.cli import clv as _clv
from custlens.cli import clv_formula as _clv_formula
from custlens.cli import data as _data
from custlens.cli import demo as _demo
from custlens.cli import generate as _generate
from custlens.cli import satisfaction as _satisfaction
from custlens.cli import scoring as _scoring
from custlens.cli import segment as _segment
from custlens.cli import summary as _summary

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


# Order matters: `scoring` adds `segment score` to the sub-app that `segment` creates.
for _module in (_data, _generate, _summary, _demo, _segment, _scoring, _clv, _clv_formula, _satisfaction):
    _module.register(app)


def main() -> None:
    """Entry point of the ``custlens`` console script."""
    app()
