"""Benchmark: the data-layer commands on 10 million Parquet transactions against hand-written DuckDB SQL.

Run:  .venv/bin/python benchmarks/data_layer_10m.py [--rows 10000000] [--repeat 3] [--commands summary,rfm,...]

Issue 12, item 1 ("Data layer at the floor"): on 10M transactions (Parquet) the commands
summary, RFM, relationship state, lifecycle, value indicators and the cube should take at
most 1.3x the time of a hand-written DuckDB query doing the same work in a fresh process,
with at most 1 GB peak memory.

1. Generates the transactions once under .cache/bench/data_layer/ (vectorised numpy, seed 7):
   order_id, customer_id (rows/10 customers), ordered_at (UTC, three years from 2022),
   amount (gamma, 2 % negative = returns), quantity, category.
2. Runs each custlens command on the Parquet file in a fresh child process (CSV output to a
   temporary folder) and, alternating with it, the reference: a small Python program that
   runs one hand-written DuckDB query straight from the Parquet file and writes the same
   table with COPY ... TO (HEADER). Wall time and the child's peak RSS (os.wait4 on its pid,
   ru_maxrss) of every run; the median time and the largest peak of --repeat runs are
   reported. Even runs start with custlens, odd runs with the reference; the file is read
   once beforehand so that no side pays for a cold page cache.
3. The cube takes no file (--workspace only): it is measured on a workspace built once
   (custlens init + custlens import of the Parquet file, cached beside the data), and its
   reference is GROUP BY CUBE SQL on the same DuckDB file, opened read-only.
4. Value indicators have no command of their own that prints them: the command is
   `custlens segment score FILE --from-transactions` (the important-customer score on the
   value indicators order_count, revenue and recency_days, equal weights); the reference
   computes the same indicators, normalisation, ranking and tiers.
5. Checks the outputs of the last runs against each other: row counts, and per column the
   rows whose values differ (numbers with a relative tolerance of 1e-9). Sums in another
   order can differ in the last bit: a rank among equal scores, or a rule at its exact
   threshold, may then differ although the definitions agree.

Prints a table (ratio = custlens median / reference median; verdict "met" when the ratio is
at most 1.3 and the custlens peak at most 1024 MB) and writes
benchmarks/results/data_layer_10m.json. Timings are not asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench" / "data_layer"
RESULTS = ROOT / "benchmarks" / "results" / "data_layer_10m.json"
TARGET_RATIO = 1.3
TARGET_MB = 1024.0
COMMANDS = ("summary", "rfm", "state", "lifecycle", "value_indicators", "cube")


# --- data ---------------------------------------------------------------------------------


def data_name(rows: int) -> str:
    return f"tx_{rows // 1_000_000}m" if rows % 1_000_000 == 0 else f"tx_{rows}"


def generate(path: Path, rows: int) -> None:
    """The transaction file: ``rows`` lines, ``rows // 10`` customers, seed 7 (vectorised numpy)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = rows
    rng = np.random.default_rng(7)
    ncust = n // 10
    cust = rng.integers(0, ncust, n)
    base = np.datetime64("2022-01-01T00:00:00", "s").astype("int64")
    secs = base + rng.integers(0, 3 * 365 * 86400, n)
    amt = np.round(rng.gamma(2.0, 40.0, n), 2)
    amt[rng.random(n) < 0.02] *= -1  # returns
    table = pa.table(
        {
            "order_id": pa.array(np.char.add("O", np.arange(n).astype(str))),
            "customer_id": pa.array(np.char.add("C", np.char.zfill(cust.astype(str), 7))),
            "ordered_at": pa.array(secs.astype("datetime64[s]")).cast(pa.timestamp("us", tz="UTC")),
            "amount": pa.array(amt),
            "quantity": pa.array(rng.integers(1, 5, n)),
            "category": pa.array(rng.choice(np.array(["food", "home", "toys", "books"]), n)),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    pq.write_table(table, partial, row_group_size=1_000_000)
    partial.replace(path)


def source_file(rows: int) -> tuple[Path, float | None]:
    """The cached Parquet file (generated when missing) and the seconds generating took."""
    path = CACHE / f"{data_name(rows)}.parquet"
    if path.exists():
        return path, None
    started = time.perf_counter()
    # in a spawned process: a child started from this one inherits its high-water mark of
    # resident memory (Linux carries it over exec), so generating here would raise every
    # measured peak to the generator's (a run that generated reported 1,938 MB everywhere)
    child = multiprocessing.get_context("spawn").Process(target=generate, args=(path, rows))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"generating {rows:,} transactions failed (exit {child.exitcode})")
    return path, time.perf_counter() - started


def custlens_exe() -> str:
    local = Path(sys.executable).parent / "custlens"
    return str(local) if local.exists() else (shutil.which("custlens") or "custlens")


# --- child processes ----------------------------------------------------------------------


def run_measured(argv: list[str], log: Path) -> dict:
    """Run ``argv`` in a fresh process: wall seconds, its peak RSS (MB) and CPU seconds, from wait4."""
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; keep Popen consistent
    result = {
        "seconds": seconds,
        "peak_mb": usage.ru_maxrss / 1024,  # KB on Linux
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "exit": proc.returncode,
    }
    if proc.returncode != 0:
        lines = log.read_text(errors="replace").strip().splitlines()
        errors = [line for line in lines if "Error" in line.split(":")[0] or line.startswith("error")]
        result["error"] = (errors or lines or [f"exit {proc.returncode}"])[-1]
    return result


def workspace_for(source: Path) -> tuple[Path, dict]:
    """A workspace holding ``source`` as its transactions table (init + import once, cached)."""
    ws = CACHE / f"ws_{source.stem}"
    ready = ws.parent / f"ws_{source.stem}.json"
    stamp = {"source": str(source), "bytes": source.stat().st_size, "mtime": source.stat().st_mtime}
    if ready.exists():
        meta = json.loads(ready.read_text())
        if all(meta.get(k) == v for k, v in stamp.items()) and (ws / "warehouse.duckdb").exists():
            return ws, meta
    shutil.rmtree(ws, ignore_errors=True)
    exe = custlens_exe()
    key = ws.parent / f"ws_{source.stem}.key"
    key.unlink(missing_ok=True)
    log = ws.parent / f"ws_{source.stem}.log"
    init = run_measured([exe, "init", str(ws), "--key-file", str(key)], log)
    if init["exit"] != 0:
        raise SystemExit(f"custlens init failed: {init['error']}")
    imported = run_measured([exe, "import", str(source), "--table", "transactions", "--workspace", str(ws)], log)
    if imported["exit"] != 0:
        raise SystemExit(f"custlens import failed: {imported['error']} (log {log})")
    meta = {**stamp, "import_seconds": imported["seconds"], "import_peak_mb": imported["peak_mb"]}
    ready.write_text(json.dumps(meta, indent=2))
    return ws, meta


# --- the reference programs ---------------------------------------------------------------

REFERENCE_PROGRAM = '''\
"""Reference: one hand-written DuckDB query, written with COPY ... TO (HEADER)."""
import json
import sys
from string import Template

import duckdb

spec = json.loads(open(sys.argv[1]).read())
out = sys.argv[2]
con = duckdb.connect(spec["database"], read_only=spec["read_only"])
con.execute("SET TimeZone = 'UTC'")
for statement in spec["setup"]:
    con.execute(statement)
params = {"src": spec["source"]}
if spec["as_of_sql"]:
    params["as_of"] = con.execute(Template(spec["as_of_sql"]).substitute(params)).fetchone()[0].isoformat()
sql = Template(spec["sql"]).substitute(params)
con.execute(f"COPY ({sql}) TO '{out}' (HEADER)")
'''

AS_OF_SQL = "SELECT CAST(max(ordered_at) AS DATE) FROM $src"
"""The default as-of day of every file command: the last transaction day (UTC)."""

# Lines up to the as-of day (customer and date present). The file has no return_flag,
# cost or margin column, so a return is a negative amount and signed amounts are the amounts.
LINES = """
    SELECT customer_id, order_id, ordered_at, amount, amount < 0 AS is_return,
           DATE '$as_of' - CAST(ordered_at AS DATE) AS age
    FROM $src
    WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL AND CAST(ordered_at AS DATE) <= DATE '$as_of'
"""

SUMMARY_SQL = """
WITH periods AS (
    SELECT customer_id, (CAST(ordered_at AS DATE) - DATE '1970-01-05') // 7 AS p, sum(amount) AS total
    FROM $src
    WHERE customer_id IS NOT NULL AND amount >= 0 AND CAST(ordered_at AS DATE) <= DATE '$as_of'
    GROUP BY ALL
)
SELECT customer_id,
       count(*) - 1 AS frequency,
       CAST(max(p) - min(p) AS DOUBLE) AS recency,
       CAST((DATE '$as_of' - DATE '1970-01-05') // 7 - min(p) AS DOUBLE) AS "T",
       CASE WHEN count(*) > 1 THEN (sum(total) - arg_min(total, p)) / (count(*) - 1) ELSE 0.0 END AS monetary_value
FROM periods
GROUP BY customer_id
ORDER BY customer_id
"""

SIG12 = [
    # custlens.segment.rfm rounds quantile cut points to 12 significant digits in the engine
    "CREATE TEMP MACRO sig_e(q) AS least(greatest(11 - floor(log10(greatest(abs(q), 1e-300))), -22), 22)",
    "CREATE TEMP MACRO sig12(q) AS CASE WHEN sig_e(q) >= 0 THEN round(q * pow(10, sig_e(q))) / pow(10, sig_e(q))"
    " ELSE round(q / pow(10, -sig_e(q))) * pow(10, -sig_e(q)) END",
]

RFM_SEGMENTS = (  # src/custlens/segment/defaults/rfm_segments.toml: first match wins
    ("Champions", (5, 5), (5, 5), (5, 5)),
    ("Potential Loyalist", (3, 5), (3, 5), (2, 5)),
    ("Loyal Customers", (2, 4), (2, 4), (2, 4)),
    ("Promising", (3, 4), (1, 3), (3, 5)),
    ("New Customers", (4, 5), (1, 3), (1, 5)),
    ("Can't Lose Them", (1, 2), (3, 4), (4, 5)),
    ("At Risk", (1, 2), (2, 5), (4, 5)),
    ("Need Attention", (1, 3), (3, 5), (3, 5)),
    ("About To Sleep", (2, 3), (1, 3), (1, 4)),
    ("Lost", (1, 1), (1, 5), (1, 5)),
    ("Hibernating", (1, 2), (1, 5), (1, 5)),
)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _rfm_sql() -> str:
    branches = "\n".join(
        f"        WHEN r_score BETWEEN {r[0]} AND {r[1]} AND f_score BETWEEN {f[0]} AND {f[1]}"
        f" AND m_score BETWEEN {m[0]} AND {m[1]} THEN {_sql_text(name)}"
        for name, r, f, m in RFM_SEGMENTS
    )

    def score(col: str, cuts: str) -> str:
        return "1 + " + " + ".join(f"CAST({col} > {cuts}[{k}] AS INTEGER)" for k in range(1, 5))

    return f"""
WITH buyers AS (
    SELECT customer_id,
           DATE '$as_of' - max(CAST(ordered_at AS DATE)) FILTER (WHERE amount >= 0) AS recency_days,
           count(DISTINCT order_id) FILTER (WHERE amount >= 0) AS frequency,
           sum(amount) AS monetary
    FROM $src
    WHERE customer_id IS NOT NULL AND CAST(ordered_at AS DATE) <= DATE '$as_of'
    GROUP BY customer_id
    HAVING recency_days IS NOT NULL
),
cuts AS (
    SELECT list_transform(quantile_cont(recency_days, [0.2, 0.4, 0.6, 0.8]), lambda q: sig12(q)) AS rq,
           list_transform(quantile_cont(frequency, [0.2, 0.4, 0.6, 0.8]), lambda q: sig12(q)) AS fq,
           list_transform(quantile_cont(monetary, [0.2, 0.4, 0.6, 0.8]), lambda q: sig12(q)) AS mq
    FROM buyers
),
scored AS (
    SELECT customer_id, recency_days, frequency, monetary,
           6 - ({score("recency_days", "rq")}) AS r_score,
           {score("frequency", "fq")} AS f_score,
           {score("monetary", "mq")} AS m_score
    FROM buyers CROSS JOIN cuts
)
SELECT *,
    CASE
{branches}
        ELSE 'Others'
    END AS segment
FROM scored
ORDER BY customer_id
"""


STATE_SQL = f"""
WITH lines AS ({LINES}),
feats AS (
    SELECT customer_id,
           count(DISTINCT order_id) FILTER (WHERE NOT is_return) AS order_count,
           sum(amount) AS revenue,
           min(ordered_at) FILTER (WHERE NOT is_return) AS first_purchase_at,
           max(ordered_at) FILTER (WHERE NOT is_return) AS last_purchase_at,
           min(age) FILTER (WHERE NOT is_return) AS recency_days,
           max(age) FILTER (WHERE NOT is_return) AS tenure_days,
           count(DISTINCT age) FILTER (WHERE NOT is_return) AS purchase_days,
           count(DISTINCT age // 90) FILTER (WHERE NOT is_return AND age < 360) AS active_periods
    FROM lines
    GROUP BY customer_id
    HAVING order_count > 0
),
cycles AS (
    SELECT *,
           CASE WHEN purchase_days > 1
                THEN CAST(tenure_days - recency_days AS DOUBLE) / (purchase_days - 1) END AS avg_purchase_cycle_days
    FROM feats
),
states AS (
    SELECT *,
           CASE WHEN avg_purchase_cycle_days IS NOT NULL THEN greatest(avg_purchase_cycle_days * 3.0, 90.0)
                ELSE 365.0 END AS lost_after_days
    FROM cycles
)
SELECT customer_id, order_count, revenue, first_purchase_at, last_purchase_at, recency_days,
       avg_purchase_cycle_days, lost_after_days, active_periods, CAST(NULL AS DOUBLE) AS p_alive,
       CASE WHEN recency_days > lost_after_days THEN 'lost' WHEN active_periods >= 4 THEN 'loyal'
            WHEN order_count >= 2 THEN 'repeat' ELSE 'first_time' END AS segment,
       CASE WHEN recency_days > lost_after_days THEN '流失客户' WHEN active_periods >= 4 THEN '忠诚客户'
            WHEN order_count >= 2 THEN '重复购买客户' ELSE '初次购买客户' END AS segment_zh
FROM states
ORDER BY customer_id
"""

LIFECYCLE_STAGES = {  # stage -> (English, Chinese), variant "lifecycle" of defaults/lifecycle.toml
    "termination": ("termination", "终止期"),
    "acquisition": ("acquisition", "潜在获取期"),
    "growth": ("growth", "成长期"),
    "decline": ("decline", "衰退期"),
    "maturity": ("maturity", "成熟期"),
}


def _lifecycle_sql() -> str:
    # first rule that holds; the trend is 4 periods of 90 days: x = 3 - period (0 = oldest),
    # slope = (4 sum(xy) - 6 sum(y)) / 20, relative trend = slope / (sum(y) / 4) when that is > 0
    rules = (
        ("recency_days > lost_after_days", "termination"),
        ("tenure_days < 180", "acquisition"),
        ("relative_trend IS NULL", "decline"),
        ("relative_trend > 0.1", "growth"),
        ("relative_trend < -0.1", "decline"),
    )

    def stage(i: int) -> str:
        whens = " ".join(f"WHEN {cond} THEN {_sql_text(LIFECYCLE_STAGES[s][i])}" for cond, s in rules)
        return f"CASE {whens} ELSE {_sql_text(LIFECYCLE_STAGES['maturity'][i])} END"

    return f"""
WITH lines AS ({LINES}),
feats AS (
    SELECT customer_id,
           max(age) FILTER (WHERE NOT is_return) AS tenure_days,
           min(age) FILTER (WHERE NOT is_return) AS recency_days,
           count(DISTINCT age) FILTER (WHERE NOT is_return) AS purchase_days,
           coalesce(sum(amount) FILTER (WHERE age < 360), 0.0) AS sy,
           coalesce(sum(CAST(3 - age // 90 AS DOUBLE) * amount) FILTER (WHERE age < 360), 0.0) AS sxy
    FROM lines
    GROUP BY customer_id
    HAVING count(order_id) FILTER (WHERE NOT is_return) > 0
),
trends AS (
    SELECT customer_id, tenure_days, recency_days, sy AS trend_revenue,
           (4 * sxy - 6.0 * sy) / 20.0 AS trend_slope,
           CASE WHEN sy / 4 > 0 THEN ((4 * sxy - 6.0 * sy) / 20.0) / (sy / 4) END AS relative_trend,
           CASE WHEN purchase_days > 1
                THEN greatest(CAST(tenure_days - recency_days AS DOUBLE) / (purchase_days - 1) * 3.0, 90.0)
                ELSE 365.0 END AS lost_after_days
    FROM feats
)
SELECT *, {stage(0)} AS segment, {stage(1)} AS segment_zh
FROM trends
ORDER BY customer_id
"""


SCORE_INDICATORS = ("order_count", "revenue", "recency_days")
SCORE_COST = ("recency_days",)


def _score_sql() -> str:
    weight = repr(1.0 / len(SCORE_INDICATORS))  # equal weights, as custlens.scoring computes them

    def norm(col: str) -> str:
        span = f"(max_{col} - min_{col})"
        value = f"(max_{col} - {col})" if col in SCORE_COST else f"({col} - min_{col})"
        # --on-missing worst: a missing value normalises to 0 (min-max)
        return f"coalesce(CASE WHEN {span} > 0 THEN {value} / {span} ELSE 0.0 * {col} END, 0.0)"

    stats = ", ".join(f"min({c}) AS min_{c}, max({c}) AS max_{c}" for c in SCORE_INDICATORS)
    contributions = ", ".join(f"{norm(c)} * {weight} AS contribution_{c}" for c in SCORE_INDICATORS)
    score = " + ".join(["0.0", *(f"contribution_{c}" for c in SCORE_INDICATORS)])
    return f"""
WITH indicators AS (
    SELECT customer_id,
           CAST(count(DISTINCT order_id) FILTER (WHERE amount >= 0) AS DOUBLE) AS order_count,
           sum(amount) AS revenue,
           CAST(DATE '$as_of' - max(CAST(ordered_at AS DATE)) FILTER (WHERE amount >= 0) AS DOUBLE) AS recency_days
    FROM $src
    WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL AND CAST(ordered_at AS DATE) <= DATE '$as_of'
    GROUP BY customer_id
),
stats AS (SELECT count(*) AS n, {stats} FROM indicators),
contributions AS (
    SELECT customer_id, n, {contributions}
    FROM indicators CROSS JOIN stats
),
scored AS (SELECT *, {score} AS score FROM contributions),
ranked AS (SELECT *, row_number() OVER (ORDER BY score DESC, customer_id) AS rank FROM scored)
SELECT rank, customer_id, score,
       CASE WHEN rank <= greatest(1, ceil(CAST(0.1 AS DOUBLE) * n - 1e-9)) THEN 'key'
            WHEN rank <= greatest(1, ceil(CAST(0.3 AS DOUBLE) * n - 1e-9)) THEN 'important'
            ELSE 'ordinary' END AS tier,
       CASE WHEN rank <= greatest(1, ceil(CAST(0.1 AS DOUBLE) * n - 1e-9)) THEN '关键客户'
            WHEN rank <= greatest(1, ceil(CAST(0.3 AS DOUBLE) * n - 1e-9)) THEN '重要客户'
            ELSE '普通客户' END AS tier_zh,
       {", ".join(f"contribution_{c}" for c in SCORE_INDICATORS)}
FROM ranked
ORDER BY rank
"""


CUBE_MEASURES = "revenue,orders,customers,quantity"
CUBE_BY = ("category", "month")

# No stored analysis in the benchmark workspace: the cube takes every line (no as-of cut).
# The return rule of custlens.schema with the workspace's return_flag column.
CUBE_SQL = """
WITH lines AS (
    SELECT CASE WHEN category IS NULL OR category = '' THEN '(missing)' ELSE category END AS category,
           strftime(ordered_at, '%Y-%m') AS month,
           customer_id, order_id,
           coalesce(return_flag, false) OR amount < 0 AS is_return,
           CASE WHEN coalesce(return_flag, false) AND amount > 0 THEN -amount ELSE amount END AS amount,
           CASE WHEN coalesce(return_flag, false) OR amount < 0 THEN -abs(quantity) ELSE quantity END AS quantity
    FROM $src
    WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL
)
SELECT CASE WHEN grouping(category) = 1 THEN '' ELSE category END AS category,
       CASE WHEN grouping(month) = 1 THEN '' ELSE month END AS month,
       concat_ws(',', CASE WHEN grouping(category) = 1 THEN 'category' END,
                      CASE WHEN grouping(month) = 1 THEN 'month' END) AS "grouping",
       sum(amount) AS revenue,
       count(DISTINCT order_id) FILTER (WHERE NOT is_return) AS orders,
       count(DISTINCT customer_id) FILTER (WHERE NOT is_return) AS customers,
       sum(quantity) AS quantity
FROM lines
GROUP BY CUBE (category, month)
ORDER BY grouping(category), category, grouping(month), month
"""


def cases(source: Path, workspace: Path | None) -> dict[str, dict]:
    """Per command: the custlens arguments (before -o), the reference spec, the output's key columns."""
    src = f"read_parquet({_sql_text(str(source))})"
    file_spec = {"database": ":memory:", "read_only": False, "source": src, "setup": [], "as_of_sql": AS_OF_SQL}
    out: dict[str, dict] = {
        "summary": {
            "label": "summary",
            "argv": ["summary", str(source), "--amount-col", "amount", "--format", "csv"],
            "reference": {**file_spec, "sql": SUMMARY_SQL},
            "key": ["customer_id"],
        },
        "rfm": {
            "label": "segment rfm",
            "argv": ["segment", "rfm", str(source), "--format", "csv"],
            "reference": {**file_spec, "setup": SIG12, "sql": _rfm_sql()},
            "key": ["customer_id"],
        },
        "state": {
            "label": "segment state",
            "argv": ["segment", "state", str(source), "--format", "csv"],
            "reference": {**file_spec, "sql": STATE_SQL},
            "key": ["customer_id"],
        },
        "lifecycle": {
            "label": "segment lifecycle",
            "argv": ["segment", "lifecycle", str(source), "--format", "csv"],
            "reference": {**file_spec, "sql": _lifecycle_sql()},
            "key": ["customer_id"],
        },
        "value_indicators": {
            "label": "segment score --from-transactions",
            # ~10 of 1M customers bought nothing (returns only): no recency, so --on-missing worst
            "argv": [
                "segment",
                "score",
                str(source),
                "--from-transactions",
                "--indicators",
                ",".join(SCORE_INDICATORS),
                "--cost-indicators",
                ",".join(SCORE_COST),
                "--on-missing",
                "worst",
                "--format",
                "csv",
            ],
            "reference": {**file_spec, "sql": _score_sql()},
            "key": ["customer_id"],
        },
    }
    if workspace is not None:
        out["cube"] = {
            "label": "cube (workspace)",
            "argv": [
                "cube",
                "--workspace",
                str(workspace),
                "--measures",
                CUBE_MEASURES,
                "--by",
                ",".join(CUBE_BY),
                "--subtotals",
                "cube",
                "--format",
                "csv",
            ],
            "reference": {
                "database": str(workspace / "warehouse.duckdb"),
                "read_only": True,
                "source": "transactions",
                "setup": [],
                "as_of_sql": None,
                "sql": CUBE_SQL,
            },
            "key": [*CUBE_BY, "grouping"],
        }
    return out


# --- checks ---------------------------------------------------------------------------------


def compare(ours: Path, ref: Path, key: list[str]) -> dict:
    """Row counts of both outputs and, per shared column, the keyed rows whose values differ."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, path in (("a", ours), ("b", ref)):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv({_sql_text(str(path))}, all_varchar = true)")
    rows = {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in ("a", "b")}
    cols_a = [r[0] for r in con.execute("DESCRIBE a").fetchall()]
    cols_b = {r[0] for r in con.execute("DESCRIBE b").fetchall()}
    shared = [c for c in cols_a if c in cols_b and c not in key]
    on = " AND ".join(f"coalesce(a.\"{k}\", '') = coalesce(b.\"{k}\", '')" for k in key)
    missing = con.execute(
        f"SELECT (SELECT count(*) FROM a ANTI JOIN b ON {on}), (SELECT count(*) FROM b ANTI JOIN a ON {on})"
    ).fetchone()

    def differs(c: str) -> str:
        x, y = f'a."{c}"', f'b."{c}"'
        dx, dy = f"TRY_CAST({x} AS DOUBLE)", f"TRY_CAST({y} AS DOUBLE)"
        tx, ty = f"TRY_CAST({x} AS TIMESTAMPTZ)", f"TRY_CAST({y} AS TIMESTAMPTZ)"
        return (
            f"CASE WHEN {dx} IS NOT NULL AND {dy} IS NOT NULL"
            f" THEN abs({dx} - {dy}) > 1e-9 * greatest(1, abs({dx}), abs({dy}))"
            f" WHEN {tx} IS NOT NULL AND {ty} IS NOT NULL THEN {tx} <> {ty}"
            f" ELSE coalesce({x}, '') <> coalesce({y}, '') END"
        )

    keys = ", ".join(f'"{k}" := a."{k}"' for k in key)
    mismatches = {}
    for c in shared:
        n, example = con.execute(
            f'SELECT count(*), any_value(struct_pack({keys}, ours := a."{c}", reference := b."{c}"))'
            f" FROM a JOIN b ON {on} WHERE {differs(c)}"
        ).fetchone()
        if n:
            mismatches[c] = {"rows": n, "example": {str(k): v for k, v in example.items()}}
    return {
        "custlens_rows": rows["a"],
        "reference_rows": rows["b"],
        "only_custlens": missing[0],
        "only_reference": missing[1],
        "columns_only_custlens": [c for c in cols_a if c not in cols_b],
        "columns_only_reference": sorted(cols_b - set(cols_a)),
        "mismatched_columns": mismatches,
    }


# --- main -----------------------------------------------------------------------------------


def warm(path: Path) -> None:
    """Read the file once so that the first timed run does not pay for a cold page cache."""
    with path.open("rb") as fh:
        while fh.read(1 << 24):
            pass


def measure(name: str, case: dict, exe: str, runner: Path, tmp: Path, repeat: int) -> dict:
    spec = tmp / f"{name}.json"
    spec.write_text(json.dumps(case["reference"]))
    ours_out, ref_out = tmp / f"{name}.custlens.csv", tmp / f"{name}.reference.csv"
    sides = {
        "custlens": ([exe, *case["argv"], "--output", str(ours_out)], ours_out),
        "reference": ([sys.executable, str(runner), str(spec), str(ref_out)], ref_out),
    }
    runs: dict[str, list[dict]] = {"custlens": [], "reference": []}
    for i in range(repeat):
        order = ("custlens", "reference") if i % 2 == 0 else ("reference", "custlens")
        for side in order:
            argv, out = sides[side]
            out.unlink(missing_ok=True)  # custlens refuses to overwrite
            runs[side].append(run_measured(argv, tmp / f"{name}.{side}.log"))
    result: dict = {"label": case["label"], "argv": ["custlens", *case["argv"]], "runs": runs}
    for side, items in runs.items():
        ok = [r for r in items if r["exit"] == 0]
        if len(ok) < len(items):
            result[f"{side}_error"] = next(r["error"] for r in items if r["exit"] != 0)
        if ok:
            result[f"{side}_s"] = statistics.median(r["seconds"] for r in ok)
            result[f"{side}_mb"] = max(r["peak_mb"] for r in ok)
    if "custlens_s" in result and "reference_s" in result:
        result["ratio"] = result["custlens_s"] / result["reference_s"]
        fast = result["ratio"] <= TARGET_RATIO
        small = result["custlens_mb"] <= TARGET_MB
        result["verdict"] = (
            "met"
            if fast and small
            else "not met (" + ", ".join(w for w, bad in (("time", not fast), ("memory", not small)) if bad) + ")"
        )
        if ours_out.exists() and ref_out.exists():
            try:
                result["check"] = compare(ours_out, ref_out, case["key"])
            except Exception as exc:  # noqa: BLE001 - a failed check is reported, never fatal
                result["check"] = {"error": f"{type(exc).__name__}: {exc}"}
    else:
        result["verdict"] = "failed"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="transactions in the generated file")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side (median reported)")
    parser.add_argument(
        "--commands", default=",".join(COMMANDS), help=f"comma-separated subset of {', '.join(COMMANDS)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the outputs and logs (the folder is printed)")
    args = parser.parse_args()
    chosen = [c.strip() for c in args.commands.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in COMMANDS]
    if unknown:
        parser.error(f"unknown command(s) {', '.join(unknown)}; choose from {', '.join(COMMANDS)}")

    source, generated = source_file(args.rows)
    notes = [
        "summary, segment rfm, segment state, segment lifecycle and segment score take the Parquet file",
        "cube: takes no file (--workspace only); measured on a workspace built once by custlens init + import",
        "value indicators: no command prints them; measured as `segment score FILE --from-transactions`"
        f" on {','.join(SCORE_INDICATORS)} (equal weights)",
    ]
    workspace, ws_meta = None, None
    if "cube" in chosen:
        workspace, ws_meta = workspace_for(source)
    exe = custlens_exe()
    all_cases = cases(source, workspace)
    tmp = Path(tempfile.mkdtemp(prefix="custlens-data-layer-"))
    runner = tmp / "reference.py"
    runner.write_text(REFERENCE_PROGRAM)
    warm(source)
    load_before = os.getloadavg()
    results = {}
    try:
        for name in chosen:
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            results[name] = measure(name, all_cases[name], exe, runner, tmp, args.repeat)
    finally:
        if args.keep:
            print(f"outputs and logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    load = os.getloadavg()
    report = {
        "source": {"path": str(source), "rows": args.rows, "bytes": source.stat().st_size, "generated_s": generated},
        "workspace": ws_meta,
        "targets": {"ratio": TARGET_RATIO, "peak_mb": TARGET_MB},
        "repeat": args.repeat,
        "results": results,
        "notes": notes,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_average": {"before": load_before, "after": load},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False))

    print(
        f"{source} ({args.rows:,} rows); median of {args.repeat}; load average {load_before[0]:.1f} before,"
        f" {load[0]:.1f} after, on {os.cpu_count()} CPUs"
    )
    if ws_meta:
        print(
            f"cube workspace {workspace} (import {ws_meta['import_seconds']:.1f} s, {ws_meta['import_peak_mb']:,.0f} MB)"
        )
    head = (
        "command",
        "custlens s",
        "ref s",
        "ratio",
        "custlens MB",
        "ref MB",
        "target",
        "verdict",
        "rows custlens/ref",
    )
    table = []
    for r in results.values():
        check = r.get("check", {})
        counts = f"{check['custlens_rows']:,}/{check['reference_rows']:,}" if "custlens_rows" in check else "-"
        table.append(
            (
                r["label"],
                f"{r['custlens_s']:.2f}" if "custlens_s" in r else "failed",
                f"{r['reference_s']:.2f}" if "reference_s" in r else "failed",
                f"{r['ratio']:.2f}x" if "ratio" in r else "-",
                f"{r['custlens_mb']:,.0f}" if "custlens_mb" in r else "-",
                f"{r['reference_mb']:,.0f}" if "reference_mb" in r else "-",
                f"{TARGET_RATIO}x, {TARGET_MB:.0f} MB",
                r["verdict"],
                counts,
            )
        )
    widths = [max(len(row[i]) for row in (head, *table)) for i in range(len(head))]
    for row in (head, tuple("-" * w for w in widths), *table):
        print(
            "  ".join(cell.ljust(w) if i in (0, 7) else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        )
    print()
    for name, r in results.items():
        for side in ("custlens", "reference"):
            if f"{side}_error" in r:
                print(f"{name}: {side} failed: {r[f'{side}_error']}")
        check = r.get("check")
        if not check:
            continue
        if "error" in check:
            print(f"{name}: output check failed: {check['error']}")
            continue
        parts = []
        if check["custlens_rows"] != check["reference_rows"]:
            parts.append(f"row counts differ ({check['custlens_rows']:,} vs {check['reference_rows']:,})")
        if check["only_custlens"] or check["only_reference"]:
            parts.append(
                f"keys only in custlens {check['only_custlens']:,}, only in reference {check['only_reference']:,}"
            )
        for c, m in check["mismatched_columns"].items():
            parts.append(f"{c} differs in {m['rows']:,} rows (e.g. {m['example']})")
        if check["columns_only_custlens"] or check["columns_only_reference"]:
            parts.append(
                f"columns only in custlens {check['columns_only_custlens']}, only in reference {check['columns_only_reference']}"
            )
        print(f"{name}: " + ("; ".join(parts) if parts else "outputs agree (same rows, same values)"))
    for note in notes:
        print(f"note: {note}")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
