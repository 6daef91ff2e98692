"""Reading the user's TOML files (configuration, playbooks, model specs) with clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from custlens.errors import ConfigError

__all__ = ["read_toml"]


def read_toml(path: str | Path, what: str = "a TOML file", *, encoding: str = "utf-8-sig") -> dict[str, Any]:
    """Parse a TOML file the user named.

    Parameters
    ----------
    path
        The file.
    what
        What the file should be, for messages, e.g. ``"a playbook TOML file"``.
    encoding
        Text encoding; the default accepts UTF-8 with or without a byte-order mark.

    Raises
    ------
    ConfigError
        When the file is missing, is a folder, cannot be read, is not UTF-8 or is not valid
        TOML; the message names the file, the problem (with TOML's line and column) and
        what was expected.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such file; expected {what}")
    if p.is_dir():
        raise ConfigError(f"{p}: is a folder; expected {what}")
    try:
        return tomllib.loads(p.read_text(encoding=encoding))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot be read ({exc.strerror}); expected {what}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (invalid byte at offset {exc.start}); expected {what}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc}); expected {what}") from None
    except RecursionError:  # arrays or tables nested thousands deep
        raise ConfigError(f"{p}: not valid TOML (nested too deeply); expected {what}") from None
