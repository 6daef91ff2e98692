"""Files of a workspace: private modes, staging files owned by the import that writes them.

Everything a workspace holds is private to its owner: folders are created ``0700`` and
files ``0600`` (:func:`private_dir`, :func:`private_file`, :func:`tighten`), whatever the
process umask. A staging file belongs to the import that writes it: the import holds an
exclusive lock on it (:class:`StagingFile`) until it has committed or failed, and only a
staging file nobody holds is removed when a workspace is opened (:func:`remove_orphans`),
so a second ``Workspace.open`` in the same or another process never deletes the file of an
import in progress.
"""

from __future__ import annotations

import logging
import os
import stat
import uuid
from pathlib import Path
from types import TracebackType

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "OWN_ENTRIES",
    "private_dir",
    "private_file",
    "tighten",
    "StagingFile",
    "remove_orphans",
]

log = logging.getLogger(__name__)

DIR_MODE = 0o700
"""Mode of every folder of a workspace: only the owner may list or enter it."""
FILE_MODE = 0o600
"""Mode of every file of a workspace: only the owner may read or write it."""

try:  # POSIX advisory locks; elsewhere staging files are never removed while open
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it ``0700``; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file ``0600`` (best effort: a file of another owner is left alone)."""
    _chmod(path, FILE_MODE)
    return path


def _chmod(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except OSError:  # not ours, or gone meanwhile
        pass


OWN_ENTRIES = ("workspace.toml", "warehouse.duckdb", "warehouse.duckdb.wal", "quarantine", "tmp", "audit")
"""What custlens keeps in a workspace folder; :func:`tighten` touches these only (a workspace
may be a folder that also holds the user's own files)."""


def tighten(folder: Path) -> None:
    """Make the workspace ``folder`` and custlens' own files in it private (folders 0700, files 0600)."""
    if not folder.is_dir():
        return
    _chmod(folder, DIR_MODE)
    for name in OWN_ENTRIES:
        entry = folder / name
        if entry.is_symlink() or not entry.exists():
            continue
        if entry.is_file():
            _chmod(entry, FILE_MODE)
            continue
        _chmod(entry, DIR_MODE)
        for root, dirs, files in os.walk(entry):
            for d in dirs:
                _chmod(Path(root) / d, DIR_MODE)
            for f in files:
                if not (Path(root) / f).is_symlink():
                    _chmod(Path(root) / f, FILE_MODE)


class StagingFile:
    """A staging file in ``folder`` locked by its creator until :meth:`release`.

    The lock is an exclusive ``flock`` on the file itself, taken before anything is
    written; it ends with the process, so the file of an import that was killed is free
    and :func:`remove_orphans` removes it. The file is created ``0600``.
    """

    def __init__(self, folder: Path, prefix: str, suffix: str = ".parquet") -> None:
        private_dir(folder)
        self.path = folder / f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:12]}{suffix}"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd: int | None = fd

    @property
    def has_data(self) -> bool:
        """Whether anything was written to the file."""
        return self.path.exists() and self.path.stat().st_size > 0

    def release(self) -> None:
        """Delete the file and drop the lock."""
        self.path.unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StagingFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def remove_orphans(folder: Path, pattern: str = "import-*") -> list[Path]:
    """Remove staging files in ``folder`` that no running import holds; return them.

    A file whose lock cannot be taken belongs to an import in progress (in this process or
    another) and is kept.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in folder.glob(pattern):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # held: an import is writing it
            path.unlink(missing_ok=True)
            removed.append(path)
        finally:
            os.close(fd)
    if removed:
        log.info("removed %d staging file(s) of imports that did not finish", len(removed))
    return removed
