"""CLI commands: fit, clv (probabilistic lifetime-value models)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
