"""The workspace key: a file outside the workspace holding three 256-bit secrets.

* ``data``: AES-256-GCM key of the identity table's personal fields;
* ``index``: HMAC-SHA-256 key of the blind index (exact look-up of phone and e-mail) and of
  the row digests the importer compares duplicates with;
* ``erasure``: HMAC-SHA-256 key of the block list of erased persons and of their
  pseudonyms. It is kept when the key is rotated: an erased person's identifiers are gone,
  so their block-list entries cannot be hashed again under a new key.

The file is JSON, mode 0600, and never inside the workspace. The warehouse records the
key's id and a check value (``_privacy_key``), so a wrong key file is refused before
anything is decrypted; ``workspace.toml`` names the key and where its file is. Where the key file is found, in order: the
``key_file`` given to the call (``--key-file``), the ``CUSTLENS_KEY_FILE`` environment
variable, ``[privacy] key_file`` of ``workspace.toml``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from custlens.errors import ConfigError, InputError
from custlens.warehouse import Workspace, write_settings
from custlens.warehouse._migrations import KEYS_TABLE

__all__ = [
    "KeyRing",
    "ENV_KEY_FILE",
    "create_key_file",
    "write_key_file",
    "read_key_file",
    "key_file_of",
    "workspace_key",
    "stored_key",
    "record_key",
    "note_key_file",
    "pending_file",
]

ENV_KEY_FILE = "CUSTLENS_KEY_FILE"
"""Environment variable naming the key file."""

_FORMAT = "custlens-key-1"


@dataclass(frozen=True, repr=False)
class KeyRing:
    """The three secrets of a workspace key (never printed: ``repr`` shows the id only)."""

    key_id: str
    data: bytes
    index: bytes
    erasure: bytes

    @classmethod
    def generate(cls, erasure: bytes | None = None) -> KeyRing:
        """A new random key (``erasure`` kept when given, as rotation does)."""
        return cls(
            key_id=secrets.token_hex(8),
            data=secrets.token_bytes(32),
            index=secrets.token_bytes(32),
            erasure=erasure if erasure is not None else secrets.token_bytes(32),
        )

    @property
    def check(self) -> str:
        """A value that identifies the key without revealing it (stored in the workspace)."""
        return hmac.new(self.index, b"custlens key check|" + self.key_id.encode(), hashlib.sha256).hexdigest()[:32]

    def to_json(self) -> str:
        """The key file's text."""
        doc = {
            "format": _FORMAT,
            "key_id": self.key_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": base64.b64encode(self.data).decode(),
            "index": base64.b64encode(self.index).decode(),
            "erasure": base64.b64encode(self.erasure).decode(),
        }
        return json.dumps(doc, indent=2) + "\n"

    def __repr__(self) -> str:
        return f"KeyRing(key_id={self.key_id!r})"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def write_key_file(path: Path, key: KeyRing, *, replace: bool = False) -> Path:
    """Write ``key`` to ``path`` with mode 0600 (atomically when replacing)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist; create it or choose another key file")
    if path.exists() and not replace:
        raise InputError(f"{path}: already exists; a key file is never overwritten (choose another path)")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            tmp.replace(path)
        else:
            os.link(tmp, path)  # fails if someone created it meanwhile
            tmp.unlink()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def create_key_file(path: str | Path, workspace_path: str | Path | None = None) -> KeyRing:
    """Create a new key file at ``path`` (mode 0600); refuse a path inside the workspace.

    Raises
    ------
    InputError
        When ``path`` lies inside ``workspace_path``, already exists or its folder is missing.
    """
    path = Path(path)
    if workspace_path is not None and _inside(path, Path(workspace_path)):
        raise InputError(
            f"{path}: the key file must not be inside the workspace {workspace_path} (whoever copies the "
            "workspace would copy the key with it); choose a path outside it"
        )
    key = KeyRing.generate()
    write_key_file(path, key)
    return key


def read_key_file(path: str | Path) -> KeyRing:
    """Read a key file.

    Raises
    ------
    ConfigError
        When the file is missing, readable by others than its owner, or not a custlens key.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such key file (give --key-file or set {ENV_KEY_FILE})")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path}: the key file is readable by other users (mode {mode:04o}); expected 0600: chmod 600 {path}"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != _FORMAT:
            raise ValueError("format")
        parts = {name: base64.b64decode(doc[name], validate=True) for name in ("data", "index", "erasure")}
        if any(len(v) != 32 for v in parts.values()):
            raise ValueError("length")
        return KeyRing(key_id=str(doc["key_id"]), **parts)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise ConfigError(f"{path}: not a custlens key file (expected the JSON written by `custlens init`)") from None


def _privacy(ws: Workspace) -> dict[str, Any]:
    section = ws.settings.extra.get("privacy", {})
    return section if isinstance(section, dict) else {}


def key_file_of(ws: Workspace, key_file: str | Path | None = None) -> Path | None:
    """The key file of ``ws``: ``key_file``, else the one the workspace was opened with,
    else ``$CUSTLENS_KEY_FILE``, else the one ``workspace.toml`` names; ``None`` if none."""
    if key_file is not None:
        return Path(key_file)
    if ws.key_file is not None:
        return Path(ws.key_file)
    env = os.environ.get(ENV_KEY_FILE)
    if env:
        return Path(env)
    named = _privacy(ws).get("key_file")
    return Path(named) if isinstance(named, str) and named else None


def stored_key(ws: Workspace) -> tuple[str, str] | None:
    """``(key_id, check)`` of the key the workspace's personal data is encrypted with."""
    row = ws.raw.execute(f"SELECT key_id, key_check FROM {KEYS_TABLE} ORDER BY since DESC LIMIT 1").fetchall()
    return (str(row[0][0]), str(row[0][1])) if row else None


def pending_file(path: Path) -> Path:
    """Where a rotation keeps the new key until the data is re-encrypted under it."""
    return path.with_name(path.name + ".new")


def workspace_key(ws: Workspace, key_file: str | Path | None = None) -> KeyRing:
    """Load the key of ``ws`` and check that it is the key its data is encrypted with.

    A rotation interrupted after its commit (the data re-encrypted, the key file not yet
    replaced) is completed here: the pending new key file replaces the old one.

    Raises
    ------
    ConfigError
        When the workspace has no key, the key file cannot be found or read, or it holds
        another key.
    """
    expected = stored_key(ws)
    path = key_file_of(ws, key_file)
    if expected is None:
        raise ConfigError(
            f"{ws.path}: the workspace has no encryption key for personal data; create one with "
            f"`custlens keys create --workspace {ws.path} --key-file FILE` (outside the workspace)"
        )
    if path is None:
        raise ConfigError(f"{ws.path}: personal data needs the workspace key; give --key-file or set {ENV_KEY_FILE}")
    if _inside(path, ws.path):
        raise ConfigError(f"{path}: the key file lies inside the workspace; move it out (see docs/privacy.md)")
    pending = pending_file(path)
    if pending.exists():
        new = read_key_file(pending)
        if new.check == expected[1]:  # the rotation committed: finish it
            pending.replace(path)
            return new
    key = read_key_file(path)
    if key.check != expected[1]:
        raise ConfigError(
            f"{path}: holds key {key.key_id!r}, which is not the key of workspace {ws.path} "
            f"(its data is encrypted with key {expected[0]!r})"
        )
    if pending.exists():  # a rotation that failed before its commit
        pending.unlink()
    return key


def record_key(ws: Workspace, key: KeyRing) -> None:
    """Record in the warehouse that personal data is encrypted with ``key`` (inside the
    caller's transaction, if any)."""
    ws.raw.execute(f"INSERT INTO {KEYS_TABLE} VALUES (?, ?, now())", [key.key_id, key.check])


def note_key_file(ws: Workspace, key: KeyRing, key_file: Path | None) -> None:
    """Name the key (its id and where its file is) in ``workspace.toml``, for people and tools."""
    doc = ws.settings.to_toml()
    privacy = dict(_privacy(ws))
    privacy["key_id"] = key.key_id
    if key_file is not None:
        privacy["key_file"] = str(Path(key_file).resolve())
    doc["privacy"] = privacy
    write_settings(ws.path, doc)
    ws.settings.extra["privacy"] = privacy
