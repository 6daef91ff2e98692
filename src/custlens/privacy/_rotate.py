"""Creating a workspace with its key, and rotating the key all or nothing.

Rotation:

1. the new key is written beside the old file as ``<key file>.new`` (mode 0600);
2. in one DuckDB transaction every identity field and every kept old value of the
   correction history is decrypted with the old key and encrypted with the new one, the
   row digests and the blind index are recomputed, and the new key's check value is
   recorded; any failure rolls all of it back and removes ``.new``;
3. after the commit ``.new`` replaces the old key file. If the process dies between the
   commit and this rename, the next use of the key finishes it
   (:func:`custlens.privacy._keys.workspace_key`).

The ``erasure`` secret is kept (block-list entries cannot be hashed again).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.errors import InputError
from custlens.privacy import audit
from custlens.privacy._crypto import decrypt_values, digest_values, encrypt_values
from custlens.privacy._identity import INDEXED_FIELDS, PERSONAL_FIELDS, row_digests
from custlens.privacy._keys import (
    KeyRing,
    create_key_file,
    key_file_of,
    note_key_file,
    pending_file,
    record_key,
    stored_key,
    workspace_key,
    write_key_file,
)
from custlens.warehouse import Workspace, WorkspaceSettings
from custlens.warehouse._migrations import IDENTITY_HISTORY_TABLE, IDENTITY_INTERNAL_COLUMNS

if TYPE_CHECKING:
    pass

__all__ = ["create_key", "init_workspace", "rotate_key", "default_key_file"]

log = logging.getLogger(__name__)


def default_key_file(workspace_path: str | Path) -> Path:
    """Where ``custlens init`` puts the key without ``--key-file``: ``<workspace>.key``
    beside the workspace folder (outside it)."""
    path = Path(workspace_path).resolve()
    return path.with_name(path.name + ".key")


def create_key(
    workspace: Workspace, key_file: str | Path | None = None, *, actor: str | None = None
) -> tuple[KeyRing, Path]:
    """Create the key of a workspace that has none; return it and its file.

    ``key_file`` defaults to ``$CUSTLENS_KEY_FILE``, else ``<workspace>.key`` beside the
    workspace folder. An existing key file is used as it is (several workspaces may share
    one key); a new one is created with mode 0600.

    Raises
    ------
    InputError
        When the workspace already has a key, or ``key_file`` lies inside the workspace.
    """
    from custlens.privacy._keys import read_key_file

    if stored_key(workspace) is not None:
        raise InputError(f"{workspace.path}: the workspace already has a key; rotate it with `custlens keys rotate`")
    path = key_file_of(workspace, key_file) or default_key_file(workspace.path)
    if path.exists():
        key = read_key_file(path)
        if workspace.raw.execute("SELECT count(*) FROM identity").fetchall()[0][0]:
            raise InputError(f"{workspace.path}: the identity table holds rows but the workspace has no key")
    else:
        key = create_key_file(path, workspace.path)
    record_key(workspace, key)
    note_key_file(workspace, key, path)
    audit.record(workspace, "key.create", actor=actor, details={"key_id": key.key_id, "key_file": str(path)})
    return key, path


def init_workspace(
    path: str | Path, *, settings: WorkspaceSettings | None = None, key_file: str | Path | None = None
) -> Workspace:
    """Create a workspace and its key (``custlens init``); return it open.

    The key file is created outside the workspace (see :func:`create_key`); the workspace
    refuses a key file inside it.
    """
    target = Path(path)
    if key_file is not None:
        from custlens.privacy._keys import _inside

        if _inside(Path(key_file), target):
            raise InputError(
                f"{key_file}: the key file must not be inside the workspace {target}; choose a path outside it"
            )
    ws = Workspace.init(target, settings=settings)
    try:
        create_key(ws, key_file)
    except BaseException:
        ws.close()
        raise
    return ws


def _rekey_identity(ws: Workspace, old: KeyRing, new: KeyRing) -> int:
    cols = ", ".join(f'"{c}"' for c in ("customer_id", *PERSONAL_FIELDS))
    table = ws.raw.sql(f"SELECT {cols} FROM identity").to_arrow_table()
    ids = [str(v) for v in table.column("customer_id").to_pylist()]
    plain = {f: decrypt_values(old, f, table.column(f).to_pylist(), ids) for f in PERSONAL_FIELDS}
    out: dict[str, Any] = {"customer_id": ids}
    for f in PERSONAL_FIELDS:
        out[f] = encrypt_values(new, f, plain[f], ids)
    out["_row_digest"] = row_digests(new, ids, plain)
    for f in INDEXED_FIELDS:
        out[f"_{f}_index"] = digest_values(new.index, f, plain[f])
    rekeyed = pa.table({k: pa.array(v, pa.string()) for k, v in out.items()})
    ws.raw.register("_custlens_rekey", rekeyed)
    try:
        ws.raw.execute("DELETE FROM identity")
        names = ", ".join(f'"{c}"' for c in ("customer_id", *PERSONAL_FIELDS, *IDENTITY_INTERNAL_COLUMNS))
        ws.raw.execute(f"INSERT INTO identity ({names}) SELECT {names} FROM _custlens_rekey")
    finally:
        ws.raw.unregister("_custlens_rekey")
    return len(ids)


def _rekey_history(ws: Workspace, old: KeyRing, new: KeyRing) -> int:
    rows = ws.raw.execute(f"SELECT rowid, customer_id, field, old_value FROM {IDENTITY_HISTORY_TABLE}").fetchall()
    for rowid, cid, field, token in rows:
        value = decrypt_values(old, f"history:{field}", [token], [cid])[0]
        fresh = encrypt_values(new, f"history:{field}", [value], [cid])[0]
        ws.raw.execute(f"UPDATE {IDENTITY_HISTORY_TABLE} SET old_value = ? WHERE rowid = ?", [fresh, rowid])
    return len(rows)


def rotate_key(
    workspace: Workspace,
    *,
    key_file: str | Path | None = None,
    actor: str | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """Re-encrypt every personal field under a new key, all or nothing; replace the key file.

    Returns
    -------
    dict
        ``old_key_id``, ``new_key_id``, ``key_file``, ``identity_rows``, ``history_rows``.

    Raises
    ------
    ConfigError
        No usable key (nothing changes).
    BackendError
        The warehouse failed (nothing changes).
    """
    old = workspace_key(workspace, key_file)
    path = key_file_of(workspace, key_file)
    assert path is not None  # workspace_key found it
    new = KeyRing.generate(erasure=old.erasure)
    pending = pending_file(path)
    write_key_file(pending, new, replace=True)
    raw = workspace.raw
    try:
        raw.execute("BEGIN TRANSACTION")
        try:
            n_identity = _rekey_identity(workspace, old, new)
            n_history = _rekey_history(workspace, old, new)
            record_key(workspace, new)
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    pending.replace(path)
    note_key_file(workspace, new, path)
    result = {
        "old_key_id": old.key_id,
        "new_key_id": new.key_id,
        "key_file": str(path),
        "identity_rows": n_identity,
        "history_rows": n_history,
    }
    audit.record(workspace, "key.rotate", actor=actor, purpose=purpose, details=result)
    log.info("rotated the key of %s: %s -> %s", workspace.path, old.key_id, new.key_id)
    return result
