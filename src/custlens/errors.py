"""The exception hierarchy of custlens.

Every error a user can cause derives from :class:`CustlensError`; errors about the
user's input also derive from :class:`ValueError` so that generic handlers keep working.
Each class carries the process exit code the CLI uses for it and the HTTP status the
REST API uses for it, so that every edge reports one error the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "did_you_mean",
    "CustlensError",
    "InputError",
    "ConfigError",
    "NotFittedError",
    "ConvergenceError",
    "RejectedImportError",
    "BackendError",
    "NotFoundError",
    "AuthenticationError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ConflictError",
]


class CustlensError(Exception):
    """Base class of every error raised by custlens."""

    exit_code: int = 1
    http_status: int = 500


class InputError(ValueError, CustlensError):
    """The user's data or arguments do not meet a documented rule.

    Messages name the file, row, column or parameter, what was received and what was
    expected, e.g. ``'recency' must be <= 'T'; 12 rows break this (first: customer 1043)``.
    """

    exit_code = 2
    http_status = 422


class ConfigError(InputError):
    """A configuration file (mapping, rules, thresholds, model spec) is invalid."""

    exit_code = 2
    http_status = 422


class NotFittedError(ValueError, CustlensError):
    """A model was used before ``fit`` was called."""

    exit_code = 1
    http_status = 409


class ConvergenceError(CustlensError):
    """An iterative estimator did not converge within its limits."""

    exit_code = 3
    http_status = 422


class RejectedImportError(CustlensError):
    """An import rejected more rows than the accepted rate; nothing was committed."""

    exit_code = 4
    http_status = 422


class BackendError(CustlensError):
    """The table backend (DuckDB, Spark) is unavailable or failed."""

    exit_code = 5
    http_status = 503


class NotFoundError(InputError):
    """A named thing (customer, analysis, user, job, snapshot) does not exist."""

    exit_code = 2
    http_status = 404


class AuthenticationError(CustlensError):
    """No valid credentials: unknown user, wrong password, expired or revoked token."""

    exit_code = 6
    http_status = 401


class PermissionDeniedError(CustlensError):
    """The user's role lacks the permission the action needs."""

    exit_code = 6
    http_status = 403


class RateLimitedError(CustlensError):
    """Too many attempts in a short time (e.g. failed logins); retry after ``retry_after`` seconds."""

    exit_code = 6
    http_status = 429

    def __init__(self, message: str, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConflictError(CustlensError):
    """The request conflicts with the current state (a name taken, the workspace held by another writer)."""

    exit_code = 2
    http_status = 409


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ``"; did you mean 'x'?"`` suffix naming the closest candidate, or ``""``.

    A candidate equal to ``name`` but for letter case wins; otherwise the closest by
    :func:`difflib.get_close_matches` (cut-off 0.6). Every message that refuses an unknown
    name (column, parameter, setting, table, method) builds its hint with this function.
    """
    import difflib  # here, not at import: the CLI starts without it

    names = [str(c) for c in candidates]
    same_case = [c for c in names if c.lower() == str(name).lower()]
    if same_case:
        return f"; did you mean {same_case[0]!r}?"
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
