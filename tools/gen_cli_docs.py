"""Write docs/cli.md, the CLI reference, from the commands' own help texts and options.

Usage: python tools/gen_cli_docs.py [--check]

With --check nothing is written; the exit code is 1 when docs/cli.md is out of date
(tests/test_cli_docs.py runs the same comparison).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from custlens.cli import load_all

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

INTRO = """# CLI reference

Generated from the commands themselves by `python tools/gen_cli_docs.py`; a test fails when
this page and the commands disagree. Every command takes `--help`.

Exit codes: 0 success; 1 other errors (e.g. a model used before fitting); 2 bad input or
configuration (the message names the file, row, column or parameter); 3 an estimator did
not converge; 4 an import rejected more rows than allowed (nothing was committed);
5 the table backend failed.

Reporting commands take `--format table|csv|json|parquet` (`table` is for reading; scripts
use `csv`, `json` or `parquet`) and `--output FILE`.
"""


def _walk(cmd: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    if hasattr(cmd, "commands"):
        found = []
        for name in sorted(cmd.commands):
            found.extend(_walk(cmd.commands[name], path + (name,)))
        return found
    return [(path, cmd)]


def _usage(path: tuple[str, ...], cmd: Any) -> str:
    parts = ["custlens", *path]
    for param in cmd.params:
        if param.param_type_name == "argument":
            parts.append((param.name or "").upper())
    if any(p.param_type_name == "option" for p in cmd.params):
        parts.append("[OPTIONS]")
    return " ".join(parts)


def _option_row(param: Any) -> str:
    names = ", ".join(f"`{o}`" for o in (*param.opts, *param.secondary_opts))
    help_text = " ".join((param.help or "").split())
    if param.required:
        default = "required"
    elif param.default is None or param.default == () or getattr(param, "is_flag", False) and param.default is False:
        default = ""
    else:
        default = f"`{getattr(param.default, 'value', param.default)}`"
    choices = ""
    options = getattr(getattr(param, "type_descriptor", None), "choices", None)
    if options:
        choices = " One of: " + ", ".join(f"`{getattr(c, 'value', c)}`" for c in options) + "."
    return f"| {names} | {help_text}{choices} | {default} |"


def render() -> str:
    root = load_all()
    out = [INTRO]
    for path, cmd in _walk(root, ()):
        title = "custlens " + " ".join(path)
        out.append(f"## {title}\n")
        out.append(f"```\n{_usage(path, cmd)}\n```\n")
        text = (cmd.help or "").strip()
        if text:
            out.append(text + "\n")
        args = [p for p in cmd.params if p.param_type_name == "argument"]
        opts = [p for p in cmd.params if p.param_type_name == "option" and p.name != "help"]
        if args:
            out.append("Arguments: " + ", ".join("`" + (a.name or "").upper() + "`" for a in args) + "\n")
        if opts:
            out.append("| option | meaning | default |\n|---|---|---|")
            out.extend(_option_row(o) for o in opts)
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            sys.stderr.write("docs/cli.md is out of date: run python tools/gen_cli_docs.py\n")
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
