"""Robustness sweep of the ``custlens`` command line: a user's mistakes meet clear errors.

The project standard: bad input gets a clear error and loses nothing; the message names
the file, row, column or parameter, what was received and what was expected; never an
uncaught traceback for a user's mistake. Exit codes: 2 bad input or configuration,
3 no convergence, 4 import rejected, 1 other.

Every command is tried with a missing file, a folder, an empty file, a header-only file,
binary garbage, unknown column names, non-numeric and negative/NaN values, out-of-range
options, a GB18030-encoded file, an unknown ``--format`` and ``--format parquet`` on a
terminal. Small files in ``tmp_path``; no Spark.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens.cli import app

EXTERNAL = Path(__file__).parent / "data" / "external"
CUSTLENS = Path(sys.executable).with_name("custlens")

# --- the input files ---------------------------------------------------------------

TX_HEADER = "customer_id,ordered_at,amount\n"
TX = TX_HEADER + ("a,2024-01-01,10\na,2024-02-01,20\nb,2024-01-15,5\nb,2024-03-01,7\nc,2024-02-10,3\n")
SUMMARY_HEADER = "customer_id,frequency,recency,T,monetary_value\n"
SUMMARY = SUMMARY_HEADER + "".join(f"{i},{i % 4},{(i % 4) * 3},{20 + i % 5},{10 + i}\n" for i in range(1, 41))
KANO_HEADER = "respondent,attribute,functional,dysfunctional\n"
KANO = KANO_HEADER + "".join(f"{r},{a},like,dislike\n" for r in range(5) for a in ("价格", "speed"))
EST_HEADER = "customer_id,period,bought\n"
EST = EST_HEADER + "".join(f"{c},{p},{(c + p) % 2}\n" for c in range(10) for p in range(1, 7))
IND_HEADER = "customer_id,revenue,order_count,recency_days\n"
IND = IND_HEADER + "1,100,3,10\n2,50,1,40\n3,70,2,5\n"
SEGMENTS = "customer_id,segment\n1,champions\n2,lost\n"

#: name -> (text, encoding); ``None`` text marks the special files made in :func:`files`.
FILES: dict[str, tuple[str | None, str]] = {
    "missing": (None, ""),
    "folder": (None, ""),
    "garbage": (None, ""),
    "garbage_toml": (None, ""),
    "empty": ("", "utf-8"),
    "tx": (TX, "utf-8"),
    "tx_hdr": (TX_HEADER, "utf-8"),
    "tx_nonnum": (TX.replace(",10\n", ",ten\n"), "utf-8"),
    "tx_baddate": (TX.replace("2024-02-01", "not-a-date"), "utf-8"),
    "tx_gb": (TX.replace("a,", "张三,").replace("b,", "李四,"), "gb18030"),
    "sum": (SUMMARY, "utf-8"),
    "sum_hdr": (SUMMARY_HEADER, "utf-8"),
    "sum_nonnum": (SUMMARY.replace("\n2,2,6,", "\n2,two,6,"), "utf-8"),
    "sum_neg": (SUMMARY.replace("\n2,2,6,", "\n2,-2,6,"), "utf-8"),
    "sum_nan": (SUMMARY.replace("\n2,2,6,", "\n2,NaN,6,"), "utf-8"),
    "sum_gb": (SUMMARY.replace("\n1,", "\n张三,"), "gb18030"),
    "kano": (KANO, "utf-8"),
    "kano_hdr": (KANO_HEADER, "utf-8"),
    "kano_bad": (KANO.replace("like,dislike", "like,maybe", 1), "utf-8"),
    "kano_wrong": ("who,what,x,y\n1,a,like,dislike\n", "utf-8"),
    "kano_gb": (KANO, "gb18030"),
    "pls_wrong": ("a,b,c\n1,2,3\n4,5,6\n", "utf-8"),
    "est": (EST, "utf-8"),
    "est_hdr": (EST_HEADER, "utf-8"),
    "est_nonnum": (EST.replace("\n3,2,", "\n3,two,"), "utf-8"),
    "est_neg": (EST.replace("\n3,2,1", "\n3,2,-1"), "utf-8"),
    "mat_rowsum": ("0.5,0.6\n0.3,0.7\n", "utf-8"),
    "mat_nonnum": ("0.5,x\n0.3,0.7\n", "utf-8"),
    "mat_hdr": ("s1,s2\n", "utf-8"),
    "ind": (IND, "utf-8"),
    "ind_hdr": (IND_HEADER, "utf-8"),
    "ind_nonnum": (IND.replace(",50,", ",fifty,"), "utf-8"),
    "ind_nan": (IND.replace(",50,", ",,"), "utf-8"),
    "ind_gb": (IND.replace("\n1,", "\n张三,"), "gb18030"),
    "kano_importance": (KANO_HEADER.replace("\n", ",importance\n") + "1,a,like,dislike,high\n", "utf-8"),
    "dup_header": ("customer_id,customer_id,ordered_at\n1,2,2024-01-01\n", "utf-8"),
    "ragged": (TX + "d,2024-03-03,4,5\n", "utf-8"),
    "json": ("{}", "utf-8"),
    "mat_3x2": ("0.5,0.5\n0.3,0.7\n0.1,0.9\n", "utf-8"),
    "seg": (SEGMENTS, "utf-8"),
    "seg_gb": ("customer_id,segment\n张三,champions\n", "gb18030"),
    "bad_toml": ("this is = = not toml [[[", "utf-8"),
    "empty_toml": ("", "utf-8"),
    "unknown_param_toml": ("nosuch_param = 3\n", "utf-8"),
    "bad_param_toml": ("corporate_share = 1.5\n", "utf-8"),
}


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, str]:
    """Every input file of the sweep, written into ``tmp_path``; plus output paths."""
    out: dict[str, str] = {"tmp": str(tmp_path), "mobi": str(EXTERNAL / "mobi.csv")}
    for name, (text, encoding) in FILES.items():
        suffix = ".toml" if name.endswith("_toml") else ".json" if name == "json" else ".csv"
        path = tmp_path / (name + suffix)
        if name == "folder":
            path.mkdir()
        elif name in ("garbage", "garbage_toml"):
            path.write_bytes(bytes(range(256)) * 8 + b"\x00\xff\xfe" * 100)
        elif text is not None:
            path.write_bytes(text.encode(encoding))
        out[name] = str(path)
    return out


@dataclass(frozen=True)
class Case:
    """One mistaken command line: ``{name}`` in ``argv`` is replaced by the file's path."""

    argv: tuple[str, ...]
    code: int = 2
    says: tuple[str, ...] = ()  # substrings the message must contain (file, column, value...)


def _run(argv: tuple[str, ...], files: dict[str, str]) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, [a.format(**files) for a in argv])
    exc = result.exception
    return result.exit_code, result.output, None if isinstance(exc, SystemExit) else exc


def _check(case: Case, files: dict[str, str]) -> None:
    code, output, exc = _run(case.argv, files)
    assert exc is None, f"uncaught {type(exc).__name__}: {exc}"
    assert "Traceback" not in output
    assert code == case.code, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    usage = "Usage:" in output  # Typer's own check of an option (bad choice, below min)
    assert len(errors) == 1 or usage, f"expected one 'error:' line, got:\n{output}"
    for text in case.says:
        assert text.format(**files) in output, f"{text!r} not in:\n{output}"


# --- the same bad file given to every command that reads one -------------------------

FILE_COMMANDS: dict[str, tuple[str, ...]] = {
    "summary": ("summary", "{f}", "--amount-col", "amount"),
    "fit": ("fit", "bgnbd", "{f}"),
    "clv": ("clv", "{f}", "--horizon", "12", "--discount", "0.01"),
    "churn": ("churn", "{f}"),
    "clv-formula-estimate": ("clv-formula", "estimate", "{f}", "--n-states", "3", "--bought-column", "bought"),
    "clv-formula-migration": (
        "clv-formula",
        "migration",
        "--transition-matrix",
        "{f}",
        "--rewards",
        "1,0",
        "--discount",
        "0.1",
    ),
    "kano": ("kano", "{f}"),
    "pls": ("pls", "{f}"),
    "playbook-segments": ("playbook", "--segments", "{f}", "--scheme", "rfm"),
    "playbook-toml": ("playbook", "--playbook", "{f}"),
    "report": ("report", "--transactions", "{f}", "--out", "{tmp}/r.html"),
    "report-playbook": ("report", "--transactions", "{tx}", "--playbook", "{f}", "--out", "{tmp}/r.html"),
    "segment-score": ("segment", "score", "{f}", "--entropy", "-i", "revenue,order_count"),
    "segment-score-ahp": ("segment", "score", "{ind}", "--ahp", "{f}"),
    "generate-params": ("generate", "{tmp}/gen", "--params", "{f}", "-n", "100"),
    "import": ("import", "{f}", "-t", "transactions", "-w", "{tmp}/nows"),
    "segment-rfm": ("segment", "rfm", "{f}"),
    "segment-state": ("segment", "state", "{f}"),
    "segment-lifecycle": ("segment", "lifecycle", "{f}"),
    "segment-abc": ("segment", "abc", "{f}"),
    "segment-pyramid": ("segment", "pyramid", "{f}"),
    "segment-value-matrix": ("segment", "value-matrix", "{f}"),
    "segment-clv-matrix": ("segment", "clv-matrix", "{f}"),
    "segment-rules": ("segment", "rules", "{f}"),
    "segment-cluster": ("segment", "cluster", "{f}"),
    "segment-state-leads": ("segment", "state", "{tx}", "--leads", "{f}"),
}

# ``import`` checks its workspace first: with a workspace of its own it is tried below.
BAD_FILE_EXPECT = {
    "missing": "no such file",
    "folder": "folder",
    "garbage": "not UTF-8",
}
# an empty TOML file is a valid (empty) document; the tools say what it lacks instead
EMPTY_OK = {"generate-params"}  # no parameters = the defaults: a legitimate file


@pytest.mark.parametrize("bad", ["missing", "folder", "garbage", "empty"])
@pytest.mark.parametrize("command", sorted(set(FILE_COMMANDS) - {"import"}))
def test_bad_file(command: str, bad: str, files: dict[str, str]) -> None:
    if bad == "empty" and command in EMPTY_OK:
        pytest.skip("an empty parameter file means the defaults")
    argv = tuple(a.replace("{f}", "{" + bad + "}") for a in FILE_COMMANDS[command])
    says = ("{" + bad + "}",)
    if bad in BAD_FILE_EXPECT:
        says += (BAD_FILE_EXPECT[bad],)
    _check(Case(argv, says=says), files)


@pytest.mark.parametrize("bad", ["missing", "folder", "garbage", "empty"])
def test_import_bad_file(bad: str, files: dict[str, str]) -> None:
    assert _run(("init", "{tmp}/ws"), files)[0] == 0
    _check(Case(("import", "{" + bad + "}", "-t", "transactions", "-w", "{tmp}/ws"), says=("{" + bad + "}",)), files)


# --- header-only, wrong columns, bad values, out-of-range options --------------------

CASES: dict[str, Case | object] = {
    # header only
    "summary-header-only": Case(("summary", "{tx_hdr}", "--amount-col", "amount"), says=("{tx_hdr}", "header only")),
    "fit-header-only": Case(("fit", "bgnbd", "{sum_hdr}"), says=("at least one row",)),
    "clv-header-only": Case(("clv", "{sum_hdr}", "--horizon", "12", "--discount", "0.01"), says=("at least one row",)),
    "churn-header-only": Case(
        (
            "churn",
            "{sum_hdr}",
        ),
        says=("at least one row",),
    ),
    "estimate-header-only": Case(
        ("clv-formula", "estimate", "{est_hdr}", "--n-states", "3", "--bought-column", "bought"),
        says=("{est_hdr}", "header only"),
    ),
    "migration-header-only": Case(
        ("clv-formula", "migration", "--transition-matrix", "{mat_hdr}", "--rewards", "1,0", "--discount", "0.1"),
        says=("{mat_hdr}", "header only"),
    ),
    "kano-header-only": Case(("kano", "{kano_hdr}"), says=("no rows",)),
    "score-header-only": Case(
        ("segment", "score", "{ind_hdr}", "--entropy", "-i", "revenue,order_count"), says=("revenue",)
    ),
    "report-header-only": Case(("report", "--transactions", "{tx_hdr}", "--out", "{tmp}/r.html"), says=("no rows",)),
    "rfm-header-only": Case(("segment", "rfm", "{tx_hdr}"), says=("no dated rows", "ordered_at")),
    "abc-header-only": Case(("segment", "abc", "{tx_hdr}", "--from-transactions"), says=("ordered_at",)),
    # unknown column names given by option
    "summary-customer-col": Case(
        ("summary", "{tx}", "--customer-col", "nosuch"),
        says=("{tx}", "'nosuch'", "--customer-col", "customer_id, ordered_at, amount"),
    ),
    "summary-amount-col": Case(("summary", "{tx}", "--amount-col", "nosuch"), says=("'nosuch'", "--amount-col")),
    "fit-frequency-col": Case(("fit", "bgnbd", "{sum}", "--frequency-col", "nosuch"), says=("'nosuch'",)),
    "clv-recency-col": Case(
        ("clv", "{sum}", "--horizon", "12", "--discount", "0.01", "--recency-col", "nosuch"), says=("'nosuch'",)
    ),
    "churn-columns": Case(("churn", "{sum}", "--columns", "frequency=nosuch"), says=("nosuch",)),
    "churn-columns-syntax": Case(("churn", "{sum}", "--columns", "frequency"), says=("--columns",)),
    "churn-value-column": Case(("churn", "{sum}", "--value-column", "nosuch"), says=("'nosuch'",)),
    "estimate-bought-column": Case(
        ("clv-formula", "estimate", "{est}", "--n-states", "3", "--bought-column", "nosuch"), says=("{est}", "'nosuch'")
    ),
    "kano-columns": Case(("kano", "{kano_wrong}"), says=("attribute", "who, what")),
    "pls-columns": Case(("pls", "{pls_wrong}"), says=("IMAG",)),
    "playbook-segment-col": Case(
        ("playbook", "--segments", "{seg}", "--scheme", "rfm", "--segment-col", "nosuch"),
        says=("'nosuch'", "--segment-col"),
    ),
    "playbook-customer-col": Case(
        ("playbook", "--segments", "{seg}", "--scheme", "rfm", "--customer-col", "nosuch"), says=("'nosuch'",)
    ),
    "playbook-scheme": Case(("playbook", "--scheme", "nosuch"), says=("'nosuch'", "rfm")),
    "report-columns": Case(("report", "--transactions", "{sum}", "--out", "{tmp}/r.html"), says=("ordered_at",)),
    "score-indicator": Case(("segment", "score", "{ind}", "-i", "nosuch", "--entropy"), says=("'nosuch'",)),
    "score-customer-col": Case(
        ("segment", "score", "{ind}", "--customer-col", "nosuch", "--entropy", "-i", "revenue"), says=("'nosuch'",)
    ),
    "rfm-amount-col": Case(("segment", "rfm", "{tx}", "--amount-col", "nosuch"), says=("'nosuch'",)),
    "abc-date-col": Case(("segment", "abc", "{tx}", "--from-transactions", "--date-col", "nosuch"), says=("'nosuch'",)),
    "value-matrix-col": Case(("segment", "value-matrix", "{ind}", "--frequency-col", "nosuch"), says=("'nosuch'",)),
    # non-numeric / non-date values
    "summary-nonnumeric": Case(
        ("summary", "{tx_nonnum}", "--amount-col", "amount"), says=("{tx_nonnum}", "'amount'", "row 2", "'ten'")
    ),
    "summary-bad-date": Case(("summary", "{tx_baddate}"), says=("'ordered_at'", "row 3", "'not-a-date'")),
    "fit-nonnumeric": Case(("fit", "bgnbd", "{sum_nonnum}"), says=("'frequency'",)),
    "clv-nonnumeric": Case(("clv", "{sum_nonnum}", "--horizon", "12", "--discount", "0.01"), says=("'frequency'",)),
    "churn-nonnumeric": Case(("churn", "{sum_nonnum}"), says=("'frequency'",)),
    "estimate-nonnumeric": Case(
        ("clv-formula", "estimate", "{est_nonnum}", "--n-states", "3", "--bought-column", "bought"),
        says=("'period'", "'two'"),
    ),
    "migration-nonnumeric": Case(
        ("clv-formula", "migration", "--transition-matrix", "{mat_nonnum}", "--rewards", "1,0", "--discount", "0.1"),
        says=("{mat_nonnum}", "row 1", "'x'"),
    ),
    "kano-bad-answer": Case(("kano", "{kano_bad}"), says=("row 1", "'maybe'")),
    "score-nonnumeric": Case(
        ("segment", "score", "{ind_nonnum}", "--entropy", "-i", "revenue,order_count"), says=("'revenue'", "numeric")
    ),
    "score-missing-value": Case(
        ("segment", "score", "{ind_nan}", "--entropy", "-i", "revenue,order_count"), says=("'revenue'", "customer 2")
    ),
    "report-nonnumeric": Case(("report", "--transactions", "{tx_nonnum}", "--out", "{tmp}/r.html"), says=("amount",)),
    "rfm-nonnumeric": Case(("segment", "rfm", "{tx_nonnum}"), says=("amount",)),
    "report-bad-date": Case(
        ("report", "--transactions", "{tx_baddate}", "--out", "{tmp}/r.html"), says=("ordered_at",)
    ),
    "rfm-bad-date": Case(("segment", "rfm", "{tx_baddate}"), says=("ordered_at",)),
    "state-bad-date": Case(("segment", "state", "{tx_baddate}"), says=("ordered_at",)),
    "lifecycle-bad-date": Case(("segment", "lifecycle", "{tx_baddate}"), says=("ordered_at",)),
    "abc-bad-date": Case(("segment", "abc", "{tx_baddate}", "--from-transactions"), says=("ordered_at",)),
    "abc-nonnumeric": Case(("segment", "abc", "{tx_nonnum}", "--from-transactions"), says=("amount",)),
    "pyramid-nonnumeric": Case(("segment", "pyramid", "{tx_nonnum}", "--from-transactions"), says=("amount",)),
    "value-matrix-nonnumeric": Case(
        ("segment", "value-matrix", "{tx_nonnum}", "--from-transactions"), says=("amount",)
    ),
    "cluster-nonnumeric": Case(("segment", "cluster", "{tx_nonnum}", "--from-transactions"), says=("amount",)),
    "rules-bad-date": Case(("segment", "rules", "{tx_baddate}", "--from-transactions"), says=("ordered_at",)),
    # negative / NaN where not allowed
    "fit-negative": Case(("fit", "bgnbd", "{sum_neg}"), says=("'frequency'", ">= 0")),
    "fit-nan": Case(("fit", "bgnbd", "{sum_nan}"), says=("'frequency'", "missing")),
    "clv-negative": Case(("clv", "{sum_neg}", "--horizon", "12", "--discount", "0.01"), says=("'frequency'",)),
    "churn-negative": Case(("churn", "{sum_neg}"), says=("'frequency'",)),
    "churn-nan": Case(("churn", "{sum_nan}"), says=("'frequency'",)),
    "estimate-bought-not-01": Case(
        ("clv-formula", "estimate", "{est_neg}", "--n-states", "3", "--bought-column", "bought"),
        says=("'bought'", "0 or 1"),
    ),
    "migration-row-sum": Case(
        ("clv-formula", "migration", "--transition-matrix", "{mat_rowsum}", "--rewards", "1,0", "--discount", "0.1"),
        says=("row 1", "1.1"),
    ),
    "retention-nan": Case(
        ("clv-formula", "retention", "--margin", "nan", "--retention", "0.5", "--discount", "0.1"), says=("--margin",)
    ),
    "score-negative-weight": Case(
        ("segment", "score", "{ind}", "-i", "revenue,order_count", "--weights", "-1,2"), says=("'revenue'", "-1.0")
    ),
    # out-of-range options
    "clv-negative-horizon": Case(("clv", "{sum}", "--horizon", "-12", "--discount", "0.01"), says=("horizon", "-12")),
    "clv-negative-discount": Case(("clv", "{sum}", "--horizon", "12", "--discount", "-0.5"), says=("discount", "-0.5")),
    "churn-negative-horizon": Case(("churn", "{sum}", "--horizon", "-3"), says=("horizon", "-3")),
    "churn-negative-discount": Case(("churn", "{sum}", "--discount", "-1"), says=("discount",)),
    "churn-probability-1.5": Case(("churn", "{sum}", "--p-alive-thresholds", "1.5,0.4,0.1"), says=("1.5",)),
    "churn-thresholds-text": Case(
        ("churn", "{sum}", "--p-alive-thresholds", "x"), says=("--p-alive-thresholds", "'x'")
    ),
    "churn-time-unit": Case(("churn", "{sum}", "--time-unit", "Y"), says=("--time-unit", "'Y'")),
    "churn-band": Case(("churn", "{sum}", "--bands", "nosuch"), says=("nosuch",)),
    "churn-band-on": Case(("churn", "{sum}", "--band-on", "nosuch"), says=("'nosuch'",)),
    "churn-model": Case(("churn", "{sum}", "--model", "nosuch"), says=("'nosuch'",)),
    "churn-top": Case(("churn", "{sum}", "--top", "-1"), says=("top", "-1")),
    "churn-as-of": Case(("churn", "{sum}", "--as-of", "yesterday"), says=("'yesterday'",)),
    # the library names 'time_unit'; the CLI reports the flag (--freq is an alias of --time-unit)
    "summary-freq": Case(("summary", "{tx}", "--freq", "Y"), says=("--time-unit", "'Y'")),
    "summary-multiplier-0": Case(("summary", "{tx}", "--freq-multiplier", "0"), says=("--freq-multiplier",)),
    "summary-multiplier-negative": Case(("summary", "{tx}", "--freq-multiplier", "-7"), says=("-7",)),
    "summary-end": Case(("summary", "{tx}", "--end", "31/12/2024"), says=("'31/12/2024'",)),
    "summary-date-format": Case(("summary", "{tx}", "--date-format", "%Q"), says=("'%Q'",)),
    "simple-negative-years": Case(
        ("clv-formula", "simple", "--years", "-1", "--annual-profit", "10"), says=("--years", "-1")
    ),
    "retention-probability-1.5": Case(
        ("clv-formula", "retention", "--margin", "10", "--retention", "1.5", "--discount", "0.1"),
        says=("--retention", "1.5"),
    ),
    "retention-negative-discount": Case(
        ("clv-formula", "retention", "--margin", "10", "--retention", "0.5", "--discount", "-0.1"),
        says=("--discount", "-0.1"),
    ),
    "retention-negative-years": Case(
        ("clv-formula", "retention", "--margin", "10", "--retention", "0.5", "--discount", "0.1", "--years", "-3"),
        says=("-3",),
    ),
    "retention-timing": Case(
        ("clv-formula", "retention", "--margin", "10", "--retention", "0.5", "--discount", "0.1", "--timing", "nosuch"),
        says=("'nosuch'",),
    ),
    "migration-probability-1.5": Case(
        ("clv-formula", "migration", "--purchase-prob", "1.5,0.2", "--rewards", "1,0", "--discount", "0.1"),
        says=("--purchase-prob", "1.5"),
    ),
    "migration-negative-discount": Case(
        ("clv-formula", "migration", "--purchase-prob", "0.5,0.2", "--rewards", "1,0", "--discount", "-0.1"),
        says=("--discount",),
    ),
    "migration-negative-horizon": Case(
        (
            "clv-formula",
            "migration",
            "--purchase-prob",
            "0.5,0.2",
            "--rewards",
            "1,0",
            "--discount",
            "0.1",
            "--horizon",
            "-2",
        ),
        says=("--horizon", "-2"),
    ),
    "migration-rewards-length": Case(
        ("clv-formula", "migration", "--purchase-prob", "0.5,0.2", "--rewards", "1,0,3,4", "--discount", "0.1"),
        says=("4 rewards", "2 states"),
    ),
    "migration-no-chain": Case(
        ("clv-formula", "migration", "--rewards", "1,0", "--discount", "0.1"), says=("--purchase-prob",)
    ),
    "estimate-level-1.5": Case(
        ("clv-formula", "estimate", "{est}", "--n-states", "3", "--bought-column", "bought", "--level", "1.5"),
        says=("--level", "1.5"),
    ),
    "estimate-states-0": Case(
        ("clv-formula", "estimate", "{est}", "--n-states", "0", "--bought-column", "bought"), says=("--n-states",)
    ),
    "estimate-method": Case(
        ("clv-formula", "estimate", "{est}", "--n-states", "3", "--method", "nosuch"), says=("'nosuch'",)
    ),
    "estimate-boot-0": Case(
        ("clv-formula", "estimate", "{est}", "--n-states", "3", "--method", "bootstrap", "--n-boot", "0"),
        says=("--n-boot",),
    ),
    "estimate-period-unit": Case(
        ("clv-formula", "estimate", "{est}", "--n-states", "3", "--period-unit", "X"), says=("'X'",)
    ),
    "pls-model": Case(("pls", "{mobi}", "--model", "nosuch"), says=("'nosuch'", "ecsi")),
    "pls-model-toml": Case(("pls", "{mobi}", "--model", "{bad_toml}"), says=("{bad_toml}", "TOML")),
    "pls-model-garbage": Case(("pls", "{mobi}", "--model", "{garbage_toml}"), says=("{garbage_toml}", "not UTF-8")),
    "pls-scale-reversed": Case(("pls", "{mobi}", "--scale-min", "10", "--scale-max", "1"), says=("scale",)),
    "pls-bootstrap-negative": Case(("pls", "{mobi}", "--bootstrap", "-1"), says=("--bootstrap",)),
    "score-top-negative": Case(
        ("segment", "score", "{ind}", "--entropy", "-i", "revenue", "--top", "-1"), says=("--top", "-1")
    ),
    "score-weights-text": Case(
        ("segment", "score", "{ind}", "-i", "revenue,order_count", "--weights", "a,b"), says=("--weights", "'a,b'")
    ),
    "score-weights-length": Case(
        ("segment", "score", "{ind}", "-i", "revenue,order_count", "--weights", "1,2,3"), says=("3 weight(s)",)
    ),
    "score-two-methods": Case(
        ("segment", "score", "{ind}", "-i", "revenue", "--weights", "1", "--entropy"), says=("--weights", "--entropy")
    ),
    "score-as-of": Case(
        ("segment", "score", "{tx}", "--from-transactions", "--as-of", "nope", "--entropy", "-i", "revenue"),
        says=("'nope'",),
    ),
    "score-ahp-toml": Case(("segment", "score", "{ind}", "--ahp", "{bad_toml}"), says=("{bad_toml}", "TOML")),
    "score-ahp-empty": Case(("segment", "score", "{ind}", "--ahp", "{empty_toml}"), says=("{empty_toml}",)),
    "kano-importance-text": Case(("kano", "{kano_importance}"), says=("row 1", "importance", "'high'")),
    "summary-duplicate-header": Case(("summary", "{dup_header}"), says=("{dup_header}", "'customer_id'", "2 times")),
    "churn-duplicate-header": Case(("churn", "{dup_header}"), says=("'customer_id'",)),
    "estimate-duplicate-header": Case(
        ("clv-formula", "estimate", "{dup_header}", "--n-states", "2"), says=("'customer_id'",)
    ),
    "summary-ragged-row": Case(("summary", "{ragged}"), says=("{ragged}", "Expected 3 columns")),
    "summary-unsupported-type": Case(("summary", "{json}"), says=("{json}", "unsupported file type")),
    "migration-not-square": Case(
        ("clv-formula", "migration", "--transition-matrix", "{mat_3x2}", "--rewards", "1,0", "--discount", "0.1"),
        says=("square", "(3, 2)"),
    ),
    "migration-rewards-text": Case(
        ("clv-formula", "migration", "--purchase-prob", "0.5,0.2", "--rewards", "a,b", "--discount", "0.1"),
        says=("--rewards", "'a'"),
    ),
    "simple-infinite-years": Case(
        ("clv-formula", "simple", "--years", "inf", "--annual-profit", "10"), says=("--years", "inf")
    ),
    "retention-diverges": Case(
        ("clv-formula", "retention", "--margin", "10", "--retention", "1", "--discount", "0"), says=("diverges",)
    ),
    "score-no-indicators": Case(("segment", "score", "{ind}", "--entropy"), says=("--indicators",)),
    "playbook-export-folder": Case(
        ("playbook", "--segments", "{seg}", "--scheme", "rfm", "--export", "{folder}"), says=("{folder}", "is a folder")
    ),
    "playbook-export-no-parent": Case(
        ("playbook", "--segments", "{seg}", "--scheme", "rfm", "--export", "{tmp}/no/such/c.csv"),
        says=("does not exist",),
    ),
    "rfm-config-folder": Case(("segment", "rfm", "{tx}", "--config", "{folder}"), says=("{folder}",)),
    "rfm-config-garbage": Case(
        ("segment", "rfm", "{tx}", "--config", "{garbage_toml}"), says=("{garbage_toml}", "UTF-8")
    ),
    "rfm-snapshot-folder": Case(("segment", "rfm", "{tx}", "--save-snapshot", "{folder}"), says=("{folder}",)),
    "rfm-snapshot-not-duckdb": Case(("segment", "rfm", "{tx}", "--save-snapshot", "{tx}"), says=("{tx}",)),
    "migrate-db-not-duckdb": Case(("segment", "migrate", "a", "b", "--db", "{tx}"), says=("{tx}",)),
    "migrate-db-missing": Case(("segment", "migrate", "a", "b", "--db", "{missing}"), says=("{missing}",)),
    "playbook-toml-invalid": Case(("playbook", "--playbook", "{bad_toml}"), says=("{bad_toml}", "TOML")),
    "playbook-check-needs-segments": Case(("playbook", "--check"), says=("--segments",)),
    "report-as-of": Case(
        ("report", "--transactions", "{tx}", "--as-of", "nope", "--out", "{tmp}/r.html"), says=("'nope'",)
    ),
    "report-out-folder": Case(("report", "--transactions", "{tx}", "--out", "{folder}"), says=("{folder}",)),
    "report-out-no-parent": Case(
        ("report", "--transactions", "{tx}", "--out", "{tmp}/no/such/r.html"), says=("does not exist",)
    ),
    "report-needs-input": Case(("report",), says=("--transactions",)),
    "rfm-bins-0": Case(("segment", "rfm", "{tx}", "--bins", "0"), says=("--bins", "0")),
    "rfm-bins-negative": Case(("segment", "rfm", "{tx}", "--bins", "-2"), says=("-2",)),
    "rfm-end": Case(("segment", "rfm", "{tx}", "--end", "nope"), says=("'nope'",)),
    "rfm-map": Case(("segment", "rfm", "{tx}", "--map", "nosuch"), says=("nosuch",)),
    "cluster-k-0": Case(("segment", "cluster", "{ind}", "--k", "0"), says=("k",)),
    "generate-customers-negative": Case(("generate", "{tmp}/gen", "-n", "-5"), says=("'n_customers'", "-5")),
    "generate-customers-0": Case(("generate", "{tmp}/gen", "-n", "0"), says=("'n_customers'",)),
    "generate-start": Case(("generate", "{tmp}/gen", "-n", "100", "--start", "nope"), says=("--start", "'nope'")),
    "generate-end-before-start": Case(
        ("generate", "{tmp}/gen", "-n", "100", "--start", "2025-01-01", "--end", "2024-01-01"),
        says=("--end must not be before --start",),
    ),
    "generate-chunk-0": Case(("generate", "{tmp}/gen", "-n", "100", "--chunk-size", "0"), says=("--chunk-size",)),
    "generate-out-is-file": Case(("generate", "{tx}", "-n", "100"), says=("{tx}", "is a file")),
    "generate-params-toml": Case(
        ("generate", "{tmp}/gen", "-n", "100", "--params", "{bad_toml}"), says=("{bad_toml}", "TOML")
    ),
    "generate-params-unknown": Case(
        ("generate", "{tmp}/gen", "-n", "100", "--params", "{unknown_param_toml}"), says=("'nosuch_param'",)
    ),
    "generate-params-range": Case(
        ("generate", "{tmp}/gen", "-n", "100", "--params", "{bad_param_toml}"), says=("'corporate_share'", "1.5")
    ),
    "demo-customers-0": Case(("demo", "--customers", "0", "--folder", "{tmp}/demo"), says=("--customers",)),
    "demo-folder-is-file": Case(
        ("demo", "--customers", "100", "--folder", "{tx}", "--no-report"), says=("{tx}", "not a folder")
    ),
    "init-reject-rate-1.5": Case(("init", "{tmp}/ws", "--max-reject-rate", "1.5"), says=("max_reject_rate", "1.5")),
    "init-reject-rate-negative": Case(("init", "{tmp}/ws", "--max-reject-rate", "-0.1"), says=("max_reject_rate",)),
    "init-memory-limit": Case(("init", "{tmp}/ws", "--memory-limit", "lots"), says=("memory_limit", "'lots'")),
    "init-path-is-file": Case(("init", "{tx}"), says=("{tx}", "is a file")),
    "import-no-workspace": Case(
        ("import", "{tx}", "-t", "transactions", "-w", "{tmp}/nows"), says=("not a custlens workspace",)
    ),
    "summary-no-workspace": Case(("summary", "-w", "{tmp}/nows"), says=("not a custlens workspace",)),
    "summary-file-and-workspace": Case(("summary", "{tx}", "-w", "{tmp}/nows"), says=("exactly one",)),
    # unknown --format (Typer rejects the choice)
    "summary-format-xml": Case(("summary", "{tx}", "--format", "xml"), says=("xml",)),
    "churn-format-xml": Case(("churn", "{sum}", "--format", "xml"), says=("xml",)),
    "kano-format-xml": Case(("kano", "{kano}", "--format", "xml"), says=("xml",)),
    "import-format-csv": Case(("import", "{tx}", "-t", "transactions", "--format", "csv"), says=("csv",)),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_mistake(case: Case, files: dict[str, str]) -> None:
    _check(case, files)


# --- GB18030 files are read (the readers fall back from UTF-8 to GB18030) ------------

GB_CASES = {
    "summary": ("summary", "{tx_gb}", "--amount-col", "amount", "--format", "csv"),
    "fit": ("fit", "bgnbd", "{sum_gb}"),
    "churn": ("churn", "{sum_gb}", "--format", "csv"),
    "kano": ("kano", "{kano_gb}", "--format", "csv"),
    "playbook": ("playbook", "--segments", "{seg_gb}", "--scheme", "rfm", "--format", "csv"),
    "segment-score": ("segment", "score", "{ind_gb}", "--entropy", "-i", "revenue,order_count", "--format", "csv"),
    "segment-rfm": ("segment", "rfm", "{tx_gb}", "--format", "csv"),
}


@pytest.mark.parametrize("command", list(GB_CASES))
def test_gb18030_file(command: str, files: dict[str, str]) -> None:
    code, output, exc = _run(GB_CASES[command], files)
    assert exc is None and code == 0, output
    if command in ("summary", "churn", "segment-score", "segment-rfm", "fit"):
        assert "张三" in output or "李四" in output or command == "fit"


# --- loses nothing -------------------------------------------------------------------


def test_refused_init_writes_nothing(files: dict[str, str]) -> None:
    """A refused setting leaves no half-made workspace behind; the corrected call then works."""
    ws = Path(files["tmp"]) / "ws"
    assert _run(("init", str(ws), "--max-reject-rate", "1.5"), files)[0] == 2
    assert _run(("init", str(ws), "--memory-limit", "lots"), files)[0] == 2
    assert not (ws / "workspace.toml").exists() and not (ws / "warehouse.duckdb").exists()
    assert _run(("init", str(ws), "--max-reject-rate", "0.5"), files)[0] == 0


def test_rejected_import_commits_nothing(files: dict[str, str]) -> None:
    """Too many bad rows: exit 4, nothing loaded, the reasons in the quarantine file."""
    tmp = Path(files["tmp"])
    good = tmp / "orders.csv"
    good.write_text("order_id,customer_id,ordered_at,amount\no1,a,2024-01-01,10\no2,b,2024-01-02,5\n")
    bad = tmp / "orders_bad.csv"
    bad.write_text("order_id,customer_id,ordered_at,amount\no3,a,2024-01-03,ten\no4,b,nope,5\no5,c,2024-01-04,1\n")
    ws = tmp / "ws"
    assert _run(("init", str(ws)), files)[0] == 0
    assert _run(("import", str(good), "-t", "transactions", "-w", str(ws)), files)[0] == 0
    code, output, exc = _run(("import", str(bad), "-t", "transactions", "-w", str(ws)), files)
    assert exc is None and code == 4 and "nothing was imported" in output
    quarantine = list((ws / "quarantine").glob("*.csv"))
    assert quarantine and "ten" in quarantine[0].read_text(encoding="utf-8")
    from custlens.warehouse import Workspace

    with Workspace.open(ws, read_only=True) as w:
        assert w.table("transactions").count().execute() == 2


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("summary", "-w", "{ws}"), ("{ws}", "no transactions")),
        (("report", "-w", "{ws}", "--out", "{tmp}/r.html"), ("no stored analysis yet", "custlens analyze")),
    ],
    ids=["summary", "report"],
)
def test_empty_workspace(argv: tuple[str, ...], says: tuple[str, ...], files: dict[str, str]) -> None:
    """A workspace without transactions: say so, do not fail inside the query engine."""
    files = {**files, "ws": files["tmp"] + "/ws"}
    assert _run(("init", files["ws"]), files)[0] == 0
    _check(Case(argv, says=says), files)


def test_generate_does_not_replace_a_file(files: dict[str, str]) -> None:
    before = Path(files["tx"]).read_bytes()
    assert _run(("generate", files["tx"], "-n", "100"), files)[0] == 2
    assert Path(files["tx"]).read_bytes() == before


# --- real processes: the installed console script ------------------------------------

needs_script = pytest.mark.skipif(not CUSTLENS.exists(), reason="the custlens console script is not installed")


@needs_script
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("summary", "{missing}"), "no such file"),
        (("churn", "{garbage}"), "not UTF-8"),
        (("kano", "{kano_hdr}"), "no rows"),
        (("summary", "{tx}", "--format", "xml"), "xml"),
    ],
    ids=["missing", "garbage", "header-only", "format-xml"],
)
def test_console_script(argv: tuple[str, ...], says: str, files: dict[str, str]) -> None:
    proc = subprocess.run(
        [str(CUSTLENS), *(a.format(**files) for a in argv)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert says in proc.stderr
    assert proc.stdout == ""


@needs_script
@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_parquet_to_a_terminal_needs_output(files: dict[str, str]) -> None:
    """--format parquet without --output on a terminal: an error, not binary noise."""
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [str(CUSTLENS), "summary", files["tx"], "--format", "parquet"],
            stdout=follower,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert proc.returncode == 2
    assert b"--output" in proc.stderr and b"Traceback" not in proc.stderr


def test_engine_out_of_memory_is_one_line_naming_the_setting() -> None:
    # a query beyond DuckDB's memory limit (even spilling) is not a traceback: exit 5, the setting to raise
    import duckdb
    import typer

    from custlens.cli._common import guarded

    sub = typer.Typer()

    @sub.command()
    @guarded
    def heavy() -> None:
        raise duckdb.OutOfMemoryException(
            "Out of Memory Error: failed to pin block of size 256.0 KiB\nPossible solutions"
        )

    @sub.command()
    def other() -> None:  # a second command keeps Typer from folding the app into one command
        pass

    result = CliRunner().invoke(sub, ["heavy"])
    assert result.exit_code == 5, result.output
    said = " ".join(result.output.split())
    assert "ran out of memory (Out of Memory Error: failed to pin block of size 256.0 KiB)" in said
    assert "memory_limit in the [duckdb] section" in said and "Traceback" not in said
