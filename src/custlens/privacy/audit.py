"""The audit log: append-only, hash-chained, in the workspace's ``audit/`` folder.

Each entry is one JSON line::

    {"seq": 7, "at": "2026-11-23T14:00:00.123456+00:00", "actor": "cli:alice",
     "action": "identity.read", "purpose": "answer a complaint", "subject": "cust:3f2a...",
     "details": {"fields": ["phone"]}, "prev": "<hash of entry 6>", "hash": "<sha256>"}

``hash`` is the SHA-256 of the entry without it (keys sorted), and ``prev`` the hash of the
entry before (64 zeros for the first), so editing, inserting, reordering or deleting an
entry breaks the chain. ``head.json`` holds the count and the last hash: removing entries
from the end is detected too. Entries never hold personal data: a customer is named by a
keyed reference (:func:`subject_ref`), values are never written.

Appends from several processes (the CLI, the service) are serialised by an exclusive lock
on ``audit/.lock``. Within one process, appends made at the same moment by several threads
are group-committed (:class:`_GroupCommit`): the entries waiting when the log becomes free
are chained, written and synced together, with one ``fsync`` for all of them, and each
call returns only once its own entry is on disk. The guarantee is the one of a lone
append (an entry is durable before :func:`record` returns, so before the data it records
leaves the process); only the cost of the sync is shared.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custlens.errors import InputError
from custlens.warehouse import AUDIT_DIR, private_dir

if TYPE_CHECKING:
    from custlens.privacy._keys import KeyRing
    from custlens.warehouse import Workspace

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ACTIONS",
    "LOG_FILE",
    "HEAD_FILE",
    "record",
    "verify",
    "show",
    "subject_ref",
    "Verification",
    "default_actor",
]

LOG_FILE = "audit.jsonl"
HEAD_FILE = "head.json"
GENESIS = "0" * 64

ACTIONS: dict[str, str] = {
    "identity.read": "personal data read (CLI, API, page)",
    "identity.search": "look-up of a customer by phone or e-mail (blind index)",
    "export": "a file of customer data written (campaign, segment, contact list)",
    "person.export": "everything held about one person written out (right of access)",
    "erase": "a person erased (right to erasure)",
    "correct": "identity fields corrected (right to rectification)",
    "retention": "rows past their storage period deleted or anonymised",
    "key.create": "the encryption key of the workspace created",
    "key.rotate": "personal data re-encrypted under a new key",
    "login": "a user signed in",
    "login.failed": "a sign-in failed",
    "logout": "a user signed out",
    "user.change": "a user added, disabled, or their password or token changed",
    "role.change": "a user's role changed",
    "import": "a file imported into the identity table",
}
"""The actions the log records, with what each means."""


def _folder(workspace: Workspace | str | Path) -> Path:
    base = Path(workspace) if isinstance(workspace, (str, Path)) else workspace.path
    return base / AUDIT_DIR


def default_actor() -> str:
    """``cli:<operating-system user>``: the actor of entries made without one."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"


def subject_ref(key: KeyRing, customer_id: str) -> str:
    """The keyed reference that names a customer in the log (never the id itself).

    It survives the customer's erasure without identifying them; :func:`show` finds a
    customer's entries by computing it from the id and the key.
    """
    from custlens.privacy._crypto import digest_values

    return "cust:" + (digest_values(key.erasure, "customer_id", [customer_id])[0] or "")[:20]


def _hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    private_dir(folder)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_head(folder: Path) -> dict[str, Any]:
    path = folder / HEAD_FILE
    if not path.exists():
        return {"count": 0, "hash": GENESIS}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _last_entry(folder: Path) -> tuple[int, str]:
    """Number and hash of the log's last entry, read from its end (``(0, GENESIS)`` when empty).

    A damaged last line counts as no entry; :func:`verify` reports it.
    """
    path = folder / LOG_FILE
    if not path.exists():
        return 0, GENESIS
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        chunk = 1 << 12  # an entry is a few hundred bytes; a longer one widens the read below
        while True:
            start = max(0, size - chunk)
            fh.seek(start)
            lines = fh.read().splitlines()
            if start == 0 or len(lines) > 1:
                break
            chunk *= 4
    for raw in reversed(lines if start == 0 else lines[1:]):
        if raw.strip():
            try:
                entry = json.loads(raw)
                return int(entry["seq"]), str(entry["hash"])
            except (ValueError, KeyError, TypeError):
                return 0, GENESIS
    return 0, GENESIS


def _write_private(path: Path, text: str, append: bool = False) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "a" if append else "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        _sync(fh.fileno())


def _sync(fd: int) -> None:
    """Put the file's data on disk: ``fdatasync`` where there is one (it syncs the size an
    append changes, not the times), else ``fsync``."""
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # pragma: no cover - macOS, Windows
        os.fsync(fd)


def record(
    workspace: Workspace | str | Path,
    action: str,
    *,
    actor: str | None = None,
    purpose: str | None = None,
    subject: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one entry to the workspace's audit log and return it.

    Parameters
    ----------
    workspace
        The workspace (or its folder).
    action
        One of :data:`ACTIONS`.
    actor
        Who acted: ``"api:<user>"``, ``"page:<user>"``, ``"cli:<os user>"`` (default).
    purpose
        Why (free text the actor gives; shown by ``custlens audit show``).
    subject
        What it concerned: a :func:`subject_ref`, a user name, a file; never personal data.
    details
        Plain values (counts, field names, paths); never personal data.

    Returns
    -------
    dict
        The entry as written, once it is synced to disk. Threads of one process appending
        at the same time share one write and one sync (:class:`_GroupCommit`).
    """
    if action not in ACTIONS:
        raise InputError(f"unknown audit action {action!r}; expected one of: {', '.join(ACTIONS)}")
    folder = _folder(workspace)
    fields: dict[str, Any] = {
        "actor": actor or default_actor(),
        "action": action,
        "purpose": purpose,
        "subject": subject,
        "details": details or {},
    }
    return _committer(folder).append(folder, fields)


def _append(folder: Path, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain ``batch`` (entries without ``seq``, ``prev`` and ``hash``) onto the log: one write, one sync."""
    with _locked(folder):
        head = _read_head(folder)
        last_seq, last_hash = _last_entry(folder)
        # the log's own last entry; a head ahead of it (entries removed from the end)
        # keeps its count, so the gap stays visible to verify()
        seq = max(last_seq, int(head["count"]))
        entries, lines = [], []
        for fields in batch:
            seq += 1
            entry: dict[str, Any] = {"seq": seq, "at": fields["at"]}
            entry.update((k, v) for k, v in fields.items() if k != "at")
            entry["prev"] = last_hash
            entry["hash"] = last_hash = _hash(entry)
            entries.append(entry)
            lines.append(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
        _write_private(folder / LOG_FILE, "".join(lines), append=True)
        _write_head(folder, seq, last_hash)
    return entries


@dataclass
class _Waiting:
    """One entry waiting for its group commit, and its outcome."""

    fields: dict[str, Any]
    entry: dict[str, Any] | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class _GroupCommit:
    """The appends of one process to one log: those waiting at the same moment share a sync.

    A thread that finds nobody writing takes every entry waiting (its own among them) and
    appends them in arrival order with one write and one sync (:func:`_append`); threads
    arriving meanwhile wait, and the first of them to wake after that write takes the next
    group. Every caller returns once its own entry was synced, or raises what the write
    raised. ``at`` is stamped on arrival, under the same lock that orders the entries, so
    times never go backwards within the process.
    """

    lock: threading.Condition = field(default_factory=threading.Condition)
    waiting: list[_Waiting] = field(default_factory=list)
    writing: bool = False

    def append(self, folder: Path, fields: dict[str, Any]) -> dict[str, Any]:
        """Append one entry (``fields`` without ``at``, ``seq``, ``prev``, ``hash``); return it once synced."""
        mine = _Waiting(fields)
        with self.lock:
            fields["at"] = datetime.now(UTC).isoformat(timespec="microseconds")
            self.waiting.append(mine)
            while not mine.done:
                if self.writing:
                    self.lock.wait()
                else:
                    self._write_group(folder)
        if mine.error is not None:
            raise mine.error
        assert mine.entry is not None
        return mine.entry

    def _write_group(self, folder: Path) -> None:
        """Write every waiting entry (called and returning with :attr:`lock` held)."""
        group, self.waiting = self.waiting, []
        self.writing = True
        entries: list[dict[str, Any]] = []
        error: BaseException | None = None
        self.lock.release()
        try:
            entries = _append(folder, [w.fields for w in group])
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of the group, who raise it
            error = exc
        finally:
            self.lock.acquire()
            self.writing = False
        for i, waiting in enumerate(group):
            waiting.entry = entries[i] if error is None else None
            waiting.error = error
            waiting.done = True
        self.lock.notify_all()


_COMMITS: dict[str, _GroupCommit] = {}
_COMMITS_LOCK = threading.Lock()


def _committer(folder: Path) -> _GroupCommit:
    """The group commit of one log folder in this process (made on first use)."""
    key = os.path.realpath(folder)
    with _COMMITS_LOCK:
        found = _COMMITS.get(key)
        if found is None:
            found = _COMMITS[key] = _GroupCommit()
    return found


_HEAD_BYTES = 128


def _write_head(folder: Path, count: int, last: str) -> None:
    """Overwrite the head in place: one write of a fixed size (JSON padded with spaces).

    The entries themselves were appended and synced first; the head is not synced on every
    append (that doubled the cost of a page showing personal data). After a power loss the
    head may lag the log by the last entries, which :func:`verify` reports.
    """
    text = json.dumps({"count": count, "hash": last}).ljust(_HEAD_BYTES - 1) + "\n"
    fd = os.open(folder / HEAD_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, text.encode("ascii"), 0)
        if os.fstat(fd).st_size != _HEAD_BYTES:
            os.ftruncate(fd, _HEAD_BYTES)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Verification:
    """Outcome of :func:`verify`: ``ok``, entries checked, and the first problem found."""

    ok: bool
    entries: int
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain form."""
        return {"ok": self.ok, "entries": self.entries, "problem": self.problem}


def _entries(folder: Path) -> Iterator[tuple[int, str]]:
    path = folder / LOG_FILE
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        yield from enumerate(fh, start=1)


def verify(workspace: Workspace | str | Path) -> Verification:
    """Check the chain of the audit log: every hash, every link, the head.

    Returns a :class:`Verification` whose ``problem`` names the first broken line.
    """
    folder = _folder(workspace)
    prev, count = GENESIS, 0
    for number, line in _entries(folder):
        try:
            entry = json.loads(line)
            ok_shape = isinstance(entry, dict) and "hash" in entry
        except json.JSONDecodeError:
            ok_shape = False
        if not ok_shape:
            return Verification(False, count, f"line {number}: not an audit entry (the log was edited)")
        if entry.get("seq") != count + 1:
            return Verification(
                False,
                count,
                f"line {number}: entry number {entry.get('seq')}, expected {count + 1} (an entry was removed or inserted)",
            )
        if entry.get("prev") != prev:
            return Verification(
                False,
                count,
                f"line {number}: does not follow the entry before it (an entry was removed, inserted or edited)",
            )
        if _hash(entry) != entry["hash"]:
            return Verification(
                False, count, f"line {number}: its content does not match its hash (the entry was edited)"
            )
        prev, count = entry["hash"], count + 1
    head_path = folder / HEAD_FILE
    if head_path.exists() or count:
        try:
            head = _read_head(folder)
        except (json.JSONDecodeError, OSError):
            return Verification(False, count, f"{head_path}: unreadable (edited or damaged)")
        if head.get("count") != count or head.get("hash") != prev:
            return Verification(
                False,
                count,
                f"the log ends at entry {count} but its head records entry {head.get('count')} "
                + (
                    "(entries were removed from the end, or the head was edited)"
                    if not isinstance(head.get("count"), int) or head["count"] > count
                    else "(entries after the head: a power loss during an append, or entries added by hand)"
                ),
            )
    return Verification(True, count)


def _parse_time(value: str | datetime | None, parameter: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{parameter!r} must be an ISO date or time such as 2026-11-23; got {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def show(
    workspace: Workspace | str | Path,
    *,
    action: str | Iterable[str] | None = None,
    actor: str | None = None,
    subject: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
) -> list[dict[str, Any]]:
    """Entries of the audit log matching every filter given, oldest first.

    ``action`` matches an action or its group (``"key"`` matches ``key.rotate``); ``actor``
    and ``subject`` match exactly; ``since``/``until`` bound the time (ISO, UTC when no
    offset is given; ``until`` a date includes that day).
    """
    actions = {action} if isinstance(action, str) else set(action) if action is not None else None
    start = _parse_time(since, "since")
    end = _parse_time(until, "until")
    if isinstance(until, str) and len(until) == 10 and end is not None:
        end = end.replace(hour=23, minute=59, second=59, microsecond=999999)
    out = []
    for _, line in _entries(_folder(workspace)):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        name = str(entry.get("action", ""))
        if actions is not None and name not in actions and name.split(".")[0] not in actions:
            continue
        if actor is not None and entry.get("actor") != actor:
            continue
        if subject is not None and entry.get("subject") != subject:
            continue
        at = datetime.fromisoformat(entry["at"])
        if (start is not None and at < start) or (end is not None and at > end):
            continue
        out.append(entry)
    return out
