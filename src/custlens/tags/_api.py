"""Applying tags to a workspace and reading them back: lists, one customer's card, history."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.errors import InputError, NotFoundError
from custlens.tags import _store
from custlens.tags._model import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from custlens.analysis import StoredAnalysis
    from custlens.warehouse import Workspace

__all__ = ["TagRun", "apply_tags", "tag_counts", "profile_card", "tag_history", "WorkspaceLike"]

WorkspaceLike = Any
"""A :class:`~custlens.warehouse.Workspace`, its folder, or its Ibis connection."""


@dataclass(frozen=True)
class TagRun:
    """What one application stored.

    Attributes
    ----------
    as_of, analysis_id
        The as-of date and the stored analysis the tags were computed from.
    tags, customers, assignments
        Tags of the taxonomy, customers tagged over, assignments held on ``as_of``.
    opened, closed
        Assignments opened on ``as_of`` and earlier ones closed on it.
    cut_points
        Tag id -> ``{"low", "high"}`` quantile values of the band tags.
    seconds
        Time taken.
    """

    as_of: date
    analysis_id: str
    tags: int
    customers: int
    assignments: int
    opened: int
    closed: int
    cut_points: dict[str, dict[str, float | None]]
    seconds: float

    def summary(self) -> dict[str, Any]:
        """The run as plain values (for the command line)."""
        return {
            "as_of": self.as_of.isoformat(),
            "analysis_id": self.analysis_id,
            "tags": self.tags,
            "customers": self.customers,
            "assignments": self.assignments,
            "opened": self.opened,
            "closed": self.closed,
            "seconds": self.seconds,
        }


@contextmanager
def reading(workspace: WorkspaceLike) -> Iterator[Any]:
    """The connection to read tags from (a folder is opened read-only for the duration)."""
    from custlens.warehouse import reading as read_workspace

    with read_workspace(workspace) as (con, _table):
        yield con


def _day(value: date | str | None, parameter: str = "as_of") -> date | None:
    from custlens.features.coerce import to_date

    return None if value is None else to_date(value, parameter)


def apply_tags(
    workspace: Workspace | str | Path,
    definitions: str | Path | Mapping[str, Any] | Taxonomy | None = None,
    as_of: date | str | None = None,
    *,
    analysis_id: str | None = None,
) -> TagRun:
    """Compute every tag for every customer and store it with validity dates.

    Reads the stored analysis of ``as_of`` (per-customer outputs and segments), the
    ``customers`` attributes and, for window tags, the transactions; computes the tags as
    Ibis expressions (:func:`~custlens.tags.compute_tags`); closes the stored assignments
    that ended and opens the new ones, in one transaction. See ``docs/tags.md``.

    Parameters
    ----------
    workspace
        A :class:`~custlens.warehouse.Workspace` open for writing, or its folder.
    definitions
        A taxonomy TOML file, a parsed mapping or a :class:`Taxonomy`; default the shipped
        taxonomy of the demo company.
    as_of
        The as-of date: the stored analysis of that date is read (default: the latest).
    analysis_id
        A stored analysis id instead of ``as_of``.

    Returns
    -------
    TagRun

    Raises
    ------
    NotFoundError
        When the workspace has no stored analysis (for that date).
    InputError
        When ``as_of`` is before the latest application.
    ConfigError
        When a definition does not fit the data (unknown column, segmentation, bad rule).
    """
    from custlens.analysis import load_analysis
    from custlens.warehouse import Workspace

    if isinstance(workspace, (str, Path)):
        with Workspace.open(workspace) as ws:
            return apply_tags(ws, definitions, as_of, analysis_id=analysis_id)
    if not isinstance(workspace, Workspace):
        raise InputError(f"'workspace' must be a Workspace or its folder; got {type(workspace).__name__}")
    if workspace.read_only:
        raise InputError(f"{workspace.path}: opened read-only; tags are stored in the workspace")
    started = time.perf_counter()
    taxonomy = load_taxonomy(definitions)
    stored = load_analysis(workspace, analysis_id=analysis_id, as_of=as_of)
    computation = compute_for(stored, taxonomy, workspace.table("customers"), workspace.table("transactions"))
    row = _store.save(
        workspace.con, computation, taxonomy, as_of=stored.as_of, analysis_id=stored.analysis_id, started=started
    )
    return TagRun(
        as_of=stored.as_of,
        analysis_id=stored.analysis_id,
        tags=int(row["tags"]),
        customers=int(row["customers"]),
        assignments=int(row["assignments"]),
        opened=int(row["opened"]),
        closed=int(row["closed"]),
        cut_points=computation.cut_points,
        seconds=round(time.perf_counter() - started, 3),
    )


def compute_for(stored: StoredAnalysis, taxonomy: Taxonomy, customers: Any, transactions: Any) -> Any:
    """The :class:`TagComputation` of ``taxonomy`` on a stored analysis and its workspace's tables."""
    from custlens.errors import ConfigError, did_you_mean
    from custlens.tags._engine import compute_tags, needed_methods, tag_base

    segments = {}
    for method in needed_methods(taxonomy):
        if method not in stored.methods:
            users = [t.id for t in taxonomy.tags if t.spec.get("method") == method] or ["a rule"]
            raise ConfigError(
                f"tag {users[0]!r}: analysis {stored.analysis_id} has no segmentation {method!r}"
                f"{did_you_mean(method, stored.methods)} (stored: {', '.join(stored.methods)})"
            )
        segments[method] = stored.segments(method)
    from custlens.warehouse.compat import on_engine

    segments = {m: on_engine(s, customers) for m, s in segments.items()}
    base = tag_base(on_engine(stored.customers(), customers), customers=customers, segments=segments)
    if "consent_profiling" in base.columns:  # tags are profiling: only with consent (unknown counts as given)
        base = base.filter(base.consent_profiling.isnull() | base.consent_profiling)
    return compute_tags(
        taxonomy, base, transactions=transactions, as_of=stored.as_of, attributes=set(customers.columns)
    )


def tag_counts(workspace: WorkspaceLike, as_of: date | str | None = None) -> pa.Table:
    """One row per tag of the application describing ``as_of`` (default: the latest).

    Returns
    -------
    pyarrow.Table
        ``tag, category, customers, share`` (share of the customers tagged over), in
        taxonomy order; tags nobody holds have 0.
    """
    import pyarrow.compute as pc

    with reading(workspace) as con:
        run = _store.resolve_run(con, _day(as_of))
        defs = _store.definitions_at(con, run["as_of"])
        held = _store.held_at(con, run["as_of"])
        counts = held.group_by("tag").aggregate(customers=held.count()).to_pyarrow()
    by_tag = dict(zip(counts["tag"].to_pylist(), counts["customers"].to_pylist()))
    n = int(run["customers"])
    customers = pa.array([int(by_tag.get(t, 0)) for t in defs["tag"].to_pylist()], pa.int64())
    share = pc.divide(pc.cast(customers, pa.float64()), float(n)) if n else pa.nulls(len(customers), pa.float64())
    return pa.table({"tag": defs["tag"], "category": defs["category"], "customers": customers, "share": share})


def profile_card(workspace: WorkspaceLike, customer_id: str, as_of: date | str | None = None) -> pa.Table:
    """Every tag one customer holds, with names and the day it was first held in a row.

    Returns
    -------
    pyarrow.Table
        ``tag, category, category_name, category_name_zh, name, name_zh, kind, since``
        (``since`` = the assignment's ``valid_from``), in taxonomy order; empty when the
        customer holds no tag.

    Raises
    ------
    NotFoundError
        When the customer was not among the customers tagged.
    """
    import ibis

    with reading(workspace) as con:
        run = _store.resolve_run(con, _day(as_of))
        day = ibis.date(run["as_of"].isoformat())
        a = con.table(_store.ASSIGNMENTS_TABLE)
        mine = a.filter(
            a.customer_id == str(customer_id), a.valid_from <= day, a.valid_to.isnull() | (a.valid_to > day)
        )
        held = mine.select("tag", since=mine.valid_from).to_pyarrow()
        if held.num_rows == 0 and not _known_customer(con, run, str(customer_id)):
            raise NotFoundError(
                f"no customer {customer_id!r} among the customers tagged as of {run['as_of'].isoformat()} "
                f"(analysis {run['analysis_id']})"
            )
        defs = _store.definitions_at(con, run["as_of"])
    since = dict(zip(held["tag"].to_pylist(), held["since"].to_pylist()))
    keep = [i for i, t in enumerate(defs["tag"].to_pylist()) if t in since]
    rows = defs.take(pa.array(keep, pa.int64())).select(
        ["tag", "category", "category_name", "category_name_zh", "name", "name_zh", "kind"]
    )
    return rows.append_column("since", pa.array([since[t] for t in rows["tag"].to_pylist()], pa.date32()))


def _known_customer(con: Any, run: Mapping[str, Any], customer_id: str) -> bool:
    from custlens.analysis import load_analysis

    try:
        stored = load_analysis(con, analysis_id=run["analysis_id"])
    except NotFoundError:
        return False
    c = stored.customers()
    return int(c.filter(c.customer_id == customer_id).count().to_pyarrow().as_py()) > 0


def tag_history(workspace: WorkspaceLike) -> pa.Table:
    """Every application, oldest first: ``as_of, applied_at, analysis_id, taxonomy_hash,
    customers, tags, assignments, opened, closed, seconds``."""
    with reading(workspace) as con:
        return _store.runs(con)
