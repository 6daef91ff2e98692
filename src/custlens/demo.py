"""The main job on the embedded default: the demo company from files to report.

:func:`run_demo` is what ``custlens demo`` (and ``make demo``) runs: it generates the
synthetic demo company (:mod:`custlens.synth`), imports every table into a fresh workspace
(:mod:`custlens.ingest`), computes the customer summaries (:mod:`custlens.features`),
segments the customers (:mod:`custlens.segment`), fits the lifetime-value models
(:mod:`custlens.clv`), measures satisfaction (:mod:`custlens.satisfaction`) and writes the
HTML report (:mod:`custlens.report`). It returns the headline figures; the CLI prints them.
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
    """Headline figures of a demo run (every table is an Arrow table)."""

    folder: Path
    workspace: Path
    report: Path | None
    as_of: date
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
    from custlens.clv import value_customers
    from custlens.features import purchase_history, to_frame, value_indicators
    from custlens.ingest import import_file
    from custlens.satisfaction import ECSI, kano, kano_answers, pls_report, survey_matrix
    from custlens.segment import abc_classes, clv_matrix, rfm_from_transactions, value_matrix, value_pyramid
    from custlens.synth import write_company
    from custlens.warehouse import Workspace

    if n_customers < 100:
        raise InputError(f"the demo needs at least 100 customers; got --customers {n_customers}")
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
    workspace = Workspace.init(folder / "workspace")
    imports = []
    for name in IMPORT_ORDER:
        report_ = import_file(workspace, files[name], table=name)
        imports.append(report_.to_dict())
    row_counts = workspace.row_counts()
    done()

    tx = workspace.table("transactions")
    as_of = to_frame(tx.aggregate(last=tx.ordered_at.max().date()), "arrow")["last"][0].as_py()

    done = timed("summaries", "computing customer summaries and value indicators")
    indicators = value_indicators(
        tx,
        receivables=workspace.table("receivables"),
        interactions=workspace.table("interactions"),
        customers=workspace.table("customers"),
        as_of=as_of,
    )
    history = to_frame(purchase_history(tx, freq="W", end=as_of), "arrow")
    done()

    done = timed("clv", "fitting BG/NBD and Gamma-Gamma, scoring lifetime value")
    scored = value_customers(
        history, model="bgnbd", spend="gg", horizon_months=12, monthly_discount=0.01, time_unit="W"
    ).table
    model_params = _model_params(history)
    done()

    done = timed("segment", "segmenting: RFM, ABC, pyramid, value matrix, CLV matrix")
    ind_arrow = to_frame(indicators, "arrow")
    with_clv = _join_clv(ind_arrow, scored)
    segmentations = {
        "rfm": rfm_from_transactions(tx, as_of=as_of),
        "abc": abc_classes(ind_arrow, value_col="revenue", as_of=as_of),
        "pyramid": value_pyramid(ind_arrow, value_col="revenue", as_of=as_of),
        "value_matrix": value_matrix(ind_arrow, as_of=as_of),
        "clv_matrix": clv_matrix(with_clv, current_col="revenue", potential_col="clv", as_of=as_of),
    }
    segments = {name: to_frame(result.summary, "arrow") for name, result in segmentations.items()}
    done()

    done = timed("satisfaction", "measuring satisfaction (ECSI by PLS) and Kano categories")
    answers = workspace.table("survey_answers")
    answers_arrow = to_frame(answers, "arrow")
    matrix = survey_matrix(answers_arrow, instrument="ecsi")
    pls = pls_report({name: values for name, values in matrix.items.items()}, ECSI, scale=(1, 10))
    index = pls.index.index() if pls.index is not None else {}
    kano_result = kano(kano_answers(answers_arrow, instrument="kano"))
    kano_table = pa.table(
        {
            "attribute": [a["attribute"] for a in kano_result.attributes],
            "category": [a["category"] for a in kano_result.attributes],
            "better": [a["better"] for a in kano_result.attributes],
            "worse": [a["worse"] for a in kano_result.attributes],
        }
    )
    done()

    report_path: Path | None = None
    if report:
        from custlens.report import build_report

        done = timed("report", "writing the HTML report")
        report_path = build_report(
            folder / "report.html",
            transactions=tx,
            indicators=ind_arrow,
            receivables=workspace.table("receivables"),
            interactions=workspace.table("interactions"),
            leads=workspace.table("leads"),
            segmentations={k: v for k, v in segmentations.items() if k != "rfm"},
            as_of=as_of,
        )
        done()

    overview = _overview(ind_arrow, scored)
    top = _top_customers(with_clv)
    workspace.close()
    return DemoResult(
        folder=folder,
        workspace=folder / "workspace",
        report=report_path,
        as_of=as_of,
        row_counts=row_counts,
        imports=imports,
        overview=overview,
        segments=segments,
        model_params=model_params,
        top_customers=top,
        satisfaction_index={k: float(v) for k, v in index.items()},
        kano=kano_table,
        timings=timings,
    )


def _model_params(history: pa.Table) -> dict[str, dict[str, float]]:
    from custlens.clv import BetaGeo, GammaGamma

    freq = history["frequency"].to_numpy()
    rec = history["recency"].to_numpy()
    T = history["T"].to_numpy()
    money = history["monetary_value"].to_numpy()
    bgnbd = BetaGeo().fit(freq, rec, T)
    repeat = freq > 0
    gg = GammaGamma().fit(freq[repeat], money[repeat])
    return {"BG/NBD": dict(bgnbd.params_), "Gamma-Gamma": dict(gg.params_)}


def _join_clv(indicators: pa.Table, scored: pa.Table) -> pa.Table:
    right = scored.select(["customer_id", "p_alive", "expected_purchases", "clv"])
    right = right.set_column(0, "customer_id", right["customer_id"].cast(indicators.schema.field("customer_id").type))
    joined = indicators.join(right, keys="customer_id", join_type="left outer")
    return joined.sort_by("customer_id")


def _overview(indicators: pa.Table, scored: pa.Table) -> dict[str, float]:
    import pyarrow.compute as pc

    n = indicators.num_rows
    revenue = pc.sum(indicators["revenue"]).as_py() or 0.0
    repeaters = pc.sum(pc.greater(indicators["order_count"], 1)).as_py() or 0
    return {
        "customers with purchases": float(n),
        "revenue": float(revenue),
        "orders": float(pc.sum(indicators["order_count"]).as_py() or 0),
        "repeat-buyer share": repeaters / n if n else 0.0,
        "mean P(alive)": float(pc.mean(scored["p_alive"]).as_py() or 0.0),
        "12-month CLV, total": float(pc.sum(scored["clv"]).as_py() or 0.0),
    }


def _top_customers(with_clv: pa.Table, k: int = 10) -> pa.Table:
    columns = ["customer_id", "customer_type", "region", "order_count", "revenue", "p_alive", "clv"]
    present = [c for c in columns if c in with_clv.column_names]
    return with_clv.select(present).sort_by([("clv", "descending")]).slice(0, k)
