"""The main job on the embedded default: the demo company from files to report.

:func:`run_demo` is what ``custlens demo`` (and ``make demo``) runs: it generates the
synthetic demo company (:mod:`custlens.synth`), imports every table into a fresh workspace
(:mod:`custlens.ingest`), runs and stores the standard analysis (:mod:`custlens.analysis`)
and draws the HTML report from the stored analysis (:mod:`custlens.report`). It returns the
headline figures, read from the stored analysis; the CLI prints them.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from custlens.errors import InputError

__all__ = ["DemoResult", "run_demo", "IMPORT_ORDER"]

log = logging.getLogger(__name__)

IMPORT_ORDER = (
    "customers",
    "identity",
    "transactions",
    "interactions",
    "receivables",
    "leads",
    "survey_answers",
)
"""Tables of the demo company in the order they are imported."""

_MARKER = ".custlens-demo"


@dataclass
class DemoResult:
    """Headline figures of a demo run, read from the stored analysis (tables are Arrow)."""

    folder: Path
    workspace: Path
    report: Path | None
    as_of: date
    analysis_id: str
    row_counts: dict[str, int]
    imports: list[dict[str, Any]]
    overview: dict[str, float]
    segments: dict[str, pa.Table]
    model_params: dict[str, dict[str, float]]
    top_customers: pa.Table
    satisfaction_index: dict[str, float]
    kano: pa.Table
    timings: dict[str, float] = field(default_factory=dict)


def _prepare_folder(folder: Path) -> None:
    """Create ``folder``, or empty it when an earlier demo run made it."""
    if folder.exists():
        if not folder.is_dir():
            raise InputError(f"{folder}: exists and is not a folder; choose another --folder")
        if any(folder.iterdir()) and not (folder / _MARKER).exists():
            raise InputError(
                f"{folder}: exists, is not empty and was not made by `custlens demo`; "
                "choose another --folder (the demo never overwrites other files)"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / _MARKER).write_text("made by custlens demo; the folder is replaced on the next run\n", encoding="utf-8")


def run_demo(
    folder: str | Path = "custlens-demo",
    *,
    n_customers: int = 20_000,
    seed: int = 2024,
    report: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the main job on the synthetic demo company.

    Generates the company, imports every table into a new workspace, runs the standard
    analysis (:func:`custlens.analysis.analyze`: summaries, value indicators, every
    segmentation, BG/NBD and Gamma-Gamma with each customer's lifetime value, churn risk,
    satisfaction, the playbook) and stores it, applies the shipped tag taxonomy
    (:func:`custlens.tags.apply_tags`, for the report's persona cards), then draws the report
    from the stored analysis. Every figure of the result is read from that stored analysis.

    Parameters
    ----------
    folder
        Where to write the company's files (``data/``), the workspace (``workspace/``) and
        ``report.html``. A folder made by an earlier demo run is replaced; any other
        non-empty folder is refused.
    n_customers
        Size of the demo company.
    seed
        Seed of the generator; the same seed gives the same company and results.
    report
        Whether to write the HTML report.
    on_step
        Called with a short description before each step (for progress display).

    Returns
    -------
    DemoResult
    """
    from custlens.analysis import analyze
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company

    if n_customers < 100:
        raise InputError(f"the demo needs at least 100 customers; got 'n_customers' {n_customers}")
    step = on_step or (lambda _message: None)
    timings: dict[str, float] = {}
    folder = Path(folder)
    _prepare_folder(folder)

    def timed(name: str, message: str) -> Callable[[], None]:
        step(message)
        started = time.perf_counter()

        def done() -> None:
            timings[name] = time.perf_counter() - started

        return done

    done = timed("generate", f"generating the demo company ({n_customers:,} customers)")
    files = write_company(folder / "data", n_customers=n_customers, seed=seed, fmt="parquet")
    done()

    done = timed("import", "importing the tables into a new workspace")
    # the key of personal data lives beside the workspace, never in it
    workspace = init_workspace(folder / "workspace", key_file=folder / "workspace.key")
    imports = [import_file(workspace, files[name], table=name).to_dict() for name in IMPORT_ORDER]
    row_counts = workspace.row_counts()
    done()

    try:
        done = timed("analysis", "analysing: summaries, segments, lifetime value, churn, satisfaction")
        analysis = analyze(workspace)
        done()

        from custlens.tags import apply_tags

        done = timed("tags", "tagging every customer (the shipped taxonomy) for the persona cards")
        apply_tags(workspace, analysis_id=analysis.analysis_id)
        done()

        report_path: Path | None = None
        if report:
            from custlens.report import build_report

            done = timed("report", "writing the HTML report from the stored analysis")
            report_path = build_report(analysis, folder / "report.html")
            done()
        result = _result(analysis, folder, report_path, row_counts, imports, timings)
    finally:
        workspace.close()
    return result


_MODEL_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pnbd": "Pareto/NBD", "gg": "Gamma-Gamma"}


def _result(
    analysis: Any,
    folder: Path,
    report_path: Path | None,
    row_counts: dict[str, int],
    imports: list[dict[str, Any]],
    timings: dict[str, float],
) -> DemoResult:
    """The demo's headline figures, every one read from the stored analysis."""
    import ibis

    overview = analysis.details["overview"]
    c = analysis.customers()
    top = c.filter(c.clv.notnull()).order_by([ibis.desc(c.clv), c.customer_id]).limit(10)
    top = top.select("customer_id", "order_count", "revenue", "p_alive", "clv", "risk_band").to_pyarrow()
    index: dict[str, float] = {}
    if analysis.has_result("satisfaction_index"):
        rows = analysis.result("satisfaction_index").to_pylist()
        index = {r["construct"]: float(r["index"]) for r in rows}
    kano = analysis.result("kano") if analysis.has_result("kano") else pa.table({"attribute": [], "category": []})
    return DemoResult(
        folder=folder,
        workspace=folder / "workspace",
        report=report_path,
        as_of=analysis.as_of,
        analysis_id=analysis.analysis_id,
        row_counts=row_counts,
        imports=imports,
        overview={
            "customers with purchases": overview["buyers"],
            "revenue": overview["revenue"],
            "orders": overview["orders"],
            "repeat-buyer share": overview["repeat_share"],
            "mean P(alive)": overview["mean_p_alive"],
            f"{analysis.config['clv']['horizon_months']:g}-month CLV, total": overview["clv_total"],
            "value at stake (at-risk customers)": overview["value_at_stake"],
        },
        segments={m: analysis.segment_summary(m) for m in analysis.methods},
        model_params={_MODEL_NAMES[e["model"]]: dict(e["params"]) for e in analysis.models.values()},
        top_customers=top,
        satisfaction_index=index,
        kano=kano.select([col for col in ("attribute", "category", "better", "worse") if col in kano.column_names]),
        timings=timings,
    )
