"""Every option of the clv-formula and churn commands is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custlens.cli import load_all

DOCS = Path(__file__).resolve().parents[3] / "docs"


def _commands() -> list[tuple[str, Any]]:
    root = load_all()
    group = root.commands["clv-formula"]
    return [(f"clv-formula {name}", cmd) for name, cmd in group.commands.items()] + [("churn", root.commands["churn"])]


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_every_option_is_documented(name: str, command: Any) -> None:
    text = (DOCS / "clv-formulas.md").read_text(encoding="utf-8") + (DOCS / "churn.md").read_text(encoding="utf-8")
    assert f"custlens {name}" in text
    missing = [
        opt
        for param in command.params
        if getattr(param, "param_type_name", "") == "option"
        for opt in param.opts
        if opt.startswith("--") and opt not in ("--format", "--output") and opt not in text
    ]
    assert not missing, f"{name}: options missing from docs: {missing}"
