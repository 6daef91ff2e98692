"""Typer's conversion of option values, without building a pydantic adapter per option.

Typer (0.2x) converts every parameter's value, its default included, through a pydantic
``TypeAdapter`` that it builds on first use: importing pydantic and building the 22
adapters of ``custlens fit`` took about 0.15 s of a 0.8 s command. The values of our
options are mostly strings, paths and choices that Typer's own helpers convert without
pydantic, so :func:`lighten` gives each parameter a :class:`LeanCoercion` that

* returns a value that is already of the declared type as it is (a ``str`` for a ``str``
  option, a ``float`` for a ``float`` option, an enum member for an enum option), as the
  adapter does;
* converts a string for a choice with Typer's ``coerce_cli_choice`` and for a path with
  ``pathlib.Path`` and Typer's ``coerce_cli_path``, the functions the adapters call;
* and hands everything else to Typer's own conversion, built then: numbers typed on the
  command line, lists, bounded numbers, custom parsers, and any value the fast path
  rejects, so that every error message is Typer's own.

``tests/test_cli_coercion.py`` compares the two conversions on every parameter of every
command (defaults, typed values, bad values and their messages). With a Typer that has no
such per-parameter conversion (``_TyperParameter``), :func:`lighten` changes nothing.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

__all__ = ["LeanCoercion", "lighten", "lighten_parameter"]

_MISSING = object()


class LeanCoercion:
    """The runtime conversion of one Typer parameter: fast for plain values, Typer's otherwise.

    Parameters
    ----------
    param
        The Typer parameter (``typer.core.TyperOption`` or ``TyperArgument``).
    """

    def __init__(self, param: Any) -> None:
        descriptor = param.type_descriptor
        info = descriptor.parameter_info
        self._descriptor = descriptor
        self._full: Any = None
        self._kind = ""
        annotation = descriptor.annotation
        plain = (
            descriptor.file_annotation is None
            and not (param.multiple or param.nargs != 1)
            and getattr(info, "parser", None) is None
            and getattr(info, "click_type", None) is None
        )
        if not plain:
            return
        if annotation in (str, bool):
            self._kind = "exact"
        elif annotation in (int, float) and info.min is None and info.max is None and not info.clamp:
            self._kind = "number"
        elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            self._kind = "choice"
        elif annotation is Path and getattr(info, "path_type", None) in (None, Path):
            self._kind = "path"

    def full(self) -> Any:
        """Typer's own conversion of this parameter (built on first use)."""
        if self._full is None:
            from typer._coercion import build_runtime_param

            self._full = build_runtime_param(self._descriptor)
        return self._full

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        """The converted value, as Typer's ``RuntimeParam.coerce`` gives it."""
        if value is None and not (param.multiple or param.nargs == -1):
            return None
        fast = self._fast(value, param, ctx)
        return self.full().coerce(value, param=param, ctx=ctx) if fast is _MISSING else fast

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        return self.full()._coerce_value(value, param=param, ctx=ctx)

    def _fast(self, value: Any, param: Any, ctx: Any) -> Any:
        annotation = self._descriptor.annotation
        kind = self._kind
        if kind in ("exact", "number"):
            return value if type(value) is annotation else _MISSING
        if kind == "choice":
            if isinstance(value, annotation):
                return value
            if type(value) is not str:
                return _MISSING
            from typer._param_types import coerce_cli_choice

            try:
                return coerce_cli_choice(
                    value,
                    choices=list(annotation),
                    case_sensitive=self._descriptor.parameter_info.case_sensitive,
                    ctx=ctx,
                )
            except ValueError:  # Typer's conversion gives the message
                return _MISSING
        if kind == "path":
            if type(value) is str and value:
                value = Path(value)
            if not isinstance(value, Path):
                return _MISSING
            from typer._click.exceptions import BadParameter
            from typer._param_types import coerce_cli_path

            try:
                return coerce_cli_path(value, self._descriptor.parameter_info, path_type=Path, param=param, ctx=ctx)
            except (BadParameter, ValueError):  # Typer's conversion gives the message, with the text as typed
                return _MISSING
        return _MISSING


def lighten(command: Any, ctx: Any = None) -> Any:
    """Give every Typer parameter of ``command`` (and of its subcommands) a :class:`LeanCoercion`.

    With ``ctx`` (the context the command is resolved in) the commands' ``--help`` options,
    which Typer creates on first use, are created and given one too. Returns ``command``.
    Parameters of other kinds, and parameters whose conversion is already built, are left
    as they are.
    """
    params = list(getattr(command, "params", ()))
    if ctx is not None and hasattr(command, "get_help_option"):
        params.append(command.get_help_option(ctx))
    for param in params:
        lighten_parameter(param)
    for sub in getattr(command, "commands", {}).values():
        lighten(sub, ctx)
    return command


def lighten_parameter(param: Any) -> None:
    """Give one Typer parameter a :class:`LeanCoercion` (others, or one already converting, are left)."""
    if hasattr(param, "type_descriptor") and getattr(param, "_runtime_param", _MISSING) is None:
        param._runtime_param = LeanCoercion(param)
