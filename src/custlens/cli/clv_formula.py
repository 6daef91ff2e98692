"""CLI commands: clv-formula (simple, retention, migration) and churn.

Thin edge: each command parses its options and calls one library function of
:mod:`custlens.clv.formula` or :mod:`custlens.churn`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import typer

from custlens.cli._common import FormatOption, OutputFormat, OutputOption, emit, guarded
from custlens.errors import InputError

__all__ = ["register"]

TIMINGS_HELP = (
    "When the first margin arrives: start (now, undiscounted; m(1+d)/(1+d-r)), "
    "end (end of period 1; m/(1+d-r)) or retained (end of period, only if retained; m r/(1+d-r))."
)


def _floats(text: str, option: str) -> list[float]:
    """Parse 'a,b,c' into floats; a one-line error naming the option otherwise."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise InputError(f"{option} needs comma-separated numbers; got {text!r}")
    try:
        return [float(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not _is_float(p))
        raise InputError(f"{option} must be comma-separated numbers; {bad!r} is not a number") from None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _mapping(text: str | None) -> dict[str, str] | None:
    """Parse 'a=b,c=d' into {'a': 'b', 'c': 'd'}."""
    if not text:
        return None
    pairs = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in pairs if p.count("=") != 1]
    if bad:
        raise InputError(f"--columns takes NAME=COLUMN pairs separated by commas; got {bad[0]!r}")
    return {k.strip(): v.strip() for k, v in (p.split("=") for p in pairs)}


def _read_matrix(path: Path) -> np.ndarray:
    """Read a square matrix from CSV/TSV/text (optional header row and label column),
    Parquet or Excel (numeric columns)."""
    from custlens.ingest.readers import decode_text, read_table

    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a transition-matrix file")
    if path.suffix.lower() in (".csv", ".tsv", ".txt", ""):
        text, _ = decode_text(path.read_bytes(), str(path))
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if not lines:
            raise InputError(f"{path}: empty; expected a k x k transition matrix")
        delim = "\t" if "\t" in lines[0] else ";" if ";" in lines[0] else "," if "," in lines[0] else None
        rows = [[c.strip().strip('"') for c in (ln.split(delim) if delim else ln.split())] for ln in lines]
        if not _is_float(rows[0][0]) or not any(_is_float(c) for c in rows[0]):
            rows = rows[1:]  # header row: a text corner label, or text state labels only
        if not rows:
            raise InputError(f"{path}: a header only; expected a k x k transition matrix")
        if rows and (not all(_is_float(r[0]) for r in rows) or all(len(r) == len(rows) + 1 for r in rows)):
            rows = [r[1:] for r in rows]  # state-label column (text, or one column too many)
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            raise InputError(f"{path}: rows of the transition matrix have different lengths {sorted(widths)}")
        for i, r in enumerate(rows):
            for c in r:
                if not _is_float(c):
                    raise InputError(f"{path}: row {i + 1} of the transition matrix has a non-number {c!r}")
        return np.array([[float(c) for c in r] for r in rows])
    table = read_table(path)
    if table.num_rows == 0:
        raise InputError(f"{path}: no rows; expected a k x k transition matrix")
    numeric = [
        n
        for n in table.column_names
        if pa.types.is_floating(table.schema.field(n).type) or pa.types.is_integer(table.schema.field(n).type)
    ]
    return np.column_stack([table.column(n).to_numpy(zero_copy_only=False).astype(float) for n in numeric])


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    group = typer.Typer(
        name="clv-formula",
        help="Lifetime value by the formula models of CRM practice (retention, migration/Markov).",
        no_args_is_help=True,
    )
    app.add_typer(group, name="clv-formula")

    @group.command("simple")
    @guarded
    def simple(
        years: Annotated[float, typer.Option("--years", help="Years the customer is retained.")],
        annual_profit: Annotated[float, typer.Option("--annual-profit", help="Profit per customer per year.")],
        acquisition_cost: Annotated[
            float, typer.Option("--acquisition-cost", help="Cost of acquiring the customer.")
        ] = 0.0,
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        """CLV = years retained x annual profit - acquisition cost."""
        from custlens.clv.formula import simple_clv

        value = float(simple_clv(years, annual_profit, acquisition_cost))
        emit(
            {"clv": value, "years": years, "annual_profit": annual_profit, "acquisition_cost": acquisition_cost},
            fmt,
            output,
        )

    @group.command("retention")
    @guarded
    def retention(
        margin: Annotated[float, typer.Option("--margin", help="Margin per customer per period.")],
        retention_rate: Annotated[float, typer.Option("--retention", help="Retention rate per period, in [0, 1].")],
        discount: Annotated[float, typer.Option("--discount", help="Discount rate per period, >= 0.")],
        years: Annotated[
            int | None, typer.Option("--years", help="Number of periods; omit for the infinite horizon.")
        ] = None,
        acquisition_cost: Annotated[
            float, typer.Option("--acquisition-cost", help="Cost of acquiring the customer.")
        ] = 0.0,
        timing: Annotated[str, typer.Option("--timing", help=TIMINGS_HELP)] = "start",
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        """Dwyer's customer retention ("lost for good") model."""
        from custlens.clv.formula import retention_clv

        value = float(
            retention_clv(
                margin,
                retention_rate,
                discount,
                periods=years,
                acquisition_cost=acquisition_cost,
                timing=timing,  # type: ignore[arg-type]  # any text: retention_clv checks it against TIMINGS
            )
        )
        emit(
            {
                "clv": value,
                "margin": margin,
                "retention": retention_rate,
                "discount": discount,
                "years": years,
                "horizon": "infinite" if years is None else "finite",
                "acquisition_cost": acquisition_cost,
                "timing": timing,
            },
            fmt,
            output,
        )

    @group.command("migration")
    @guarded
    def migration(
        rewards: Annotated[str, typer.Option("--rewards", help="Reward per state, comma-separated (R1,R2,...).")],
        discount: Annotated[float, typer.Option("--discount", help="Discount rate per period, >= 0.")],
        purchase_prob: Annotated[
            str | None,
            typer.Option(
                "--purchase-prob", help="Purchase probability per recency state (P1,P2,...): builds the recency chain."
            ),
        ] = None,
        transition_matrix: Annotated[
            Path | None,
            typer.Option(
                "--transition-matrix", help="File with a k x k transition matrix (CSV/TSV/text, Parquet, Excel)."
            ),
        ] = None,
        horizon: Annotated[
            int | None, typer.Option("--horizon", help="Last period T counted (0..T); omit for infinite.")
        ] = None,
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        """Customer migration model: value of a customer in each state (Pfeifer & Carraway 2000)."""
        from custlens.clv.formula import markov_value, recency_transition_matrix

        if (purchase_prob is None) == (transition_matrix is None):
            raise InputError("give exactly one of --purchase-prob and --transition-matrix")
        if purchase_prob is not None:
            P = recency_transition_matrix(_floats(purchase_prob, "--purchase-prob"))
        else:
            P = _read_matrix(transition_matrix)  # type: ignore[arg-type]
        values = markov_value(P, _floats(rewards, "--rewards"), discount, horizon=horizon)
        if OutputFormat(fmt) is OutputFormat.json:
            emit({"values": [float(v) for v in values]}, fmt, output)
        else:
            emit(pa.table({"state": np.arange(1, values.size + 1), "value": values}), fmt, output)

    @group.command("estimate")
    @guarded
    def estimate(
        data_file: Annotated[
            Path, typer.Argument(help="One row per customer and period (purchase periods, or states).")
        ],
        n_states: Annotated[int | None, typer.Option("--n-states", help="Recency states 1..K (recency chain).")] = None,
        state_column: Annotated[
            str | None,
            typer.Option(
                "--state-column",
                help="Column of user-defined states (tiers); estimates transitions between them instead.",
            ),
        ] = None,
        customer_column: Annotated[str, typer.Option("--customer-column", help="Customer column.")] = "customer_id",
        period_column: Annotated[
            str, typer.Option("--period-column", help="Period number (or date) column.")
        ] = "period",
        period_unit: Annotated[
            str | None, typer.Option("--period-unit", help="Bin dates into W, M, Q or Y periods.")
        ] = None,
        bought_column: Annotated[
            str | None, typer.Option("--bought-column", help="0/1 purchase flag column (recency chain).")
        ] = None,
        weight_column: Annotated[
            str | None, typer.Option("--weight-column", help="Weight column (identical customers collapsed).")
        ] = None,
        end_period: Annotated[
            int | None, typer.Option("--end-period", help="Last observed period (default: the last in the data).")
        ] = None,
        level: Annotated[float, typer.Option("--level", help="Interval level.")] = 0.95,
        method: Annotated[str, typer.Option("--method", help="Intervals: dirichlet or bootstrap.")] = "dirichlet",
        n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap replicates.")] = 500,
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        """Estimate a purchase-transition matrix with counts, standard errors and intervals.

        JSON gives everything; table/CSV give the matrix (CSV feeds --transition-matrix).
        """
        from custlens.clv.formula import estimate_recency_chain, estimate_state_transitions
        from custlens.ingest.readers import read_table

        table = read_table(data_file)
        if table.num_rows == 0:
            raise InputError(f"{data_file}: no data rows (a header only); expected one row per customer and period")

        def col(name: str) -> np.ndarray:
            if name not in table.column_names:
                raise InputError(f"{data_file}: no column {name!r} (columns: {', '.join(table.column_names)})")
            return table.column(name).to_numpy(zero_copy_only=False)

        def optional_col(name: str | None) -> np.ndarray | None:
            return None if name is None else col(name)

        common: dict[str, Any] = {
            "weights": optional_col(weight_column),
            "level": level,
            "method": method,
            "n_boot": n_boot,
            "period_unit": period_unit,
        }
        if state_column is not None and n_states is None:
            est = estimate_state_transitions(col(customer_column), col(period_column), col(state_column), **common)
        elif n_states is not None and state_column is None:
            est = estimate_recency_chain(
                col(customer_column),
                col(period_column),
                n_states,
                bought=optional_col(bought_column),
                end_period=end_period,
                **common,
            )
        else:
            raise InputError("give exactly one of --n-states (recency chain) and --state-column (user states)")
        if OutputFormat(fmt) is OutputFormat.json:
            emit(est.to_dict(), fmt, output)
            return
        labels = [str(s) for s in est.states]
        columns: dict[str, Any] = {"state": labels}
        columns |= {lab: est.matrix[:, j] for j, lab in enumerate(labels)}
        emit(pa.table(columns), fmt, output, title="Estimated transition matrix")

    @app.command("churn")
    @guarded
    def churn(
        data_file: Annotated[
            Path,
            typer.Argument(
                help="Per-customer summary: customer_id, frequency, recency, T [, p_alive, clv, monetary_value]."
            ),
        ],
        time_unit: Annotated[str, typer.Option("--time-unit", help="Unit of recency and T: D, W or M.")] = "W",
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Analysis date (YYYY-MM-DD): adds expected_next_order.")
        ] = None,
        value_column: Annotated[
            str | None,
            typer.Option("--value-column", help="Value put at stake (default clv, else frequency x monetary_value)."),
        ] = None,
        band_on: Annotated[str, typer.Option("--band-on", help="auto, p_alive or overdue.")] = "auto",
        p_alive_thresholds: Annotated[
            str, typer.Option("--p-alive-thresholds", help="Three decreasing P(alive) cut-offs.")
        ] = "0.7,0.4,0.15",
        overdue_thresholds: Annotated[
            str, typer.Option("--overdue-thresholds", help="Three increasing overdue-ratio cut-offs.")
        ] = "1.5,2.5,4",
        bands: Annotated[
            str, typer.Option("--bands", help="Risk bands listed (comma-separated).")
        ] = "medium,high,lost",
        top: Annotated[int | None, typer.Option("--top", help="Keep the N customers with most value at stake.")] = None,
        model: Annotated[
            str, typer.Option("--model", help="Model fitted when the file has no p_alive: bgnbd, mbgnbd, pnbd.")
        ] = "bgnbd",
        horizon: Annotated[
            float, typer.Option("--horizon", help="CLV horizon in months (when a model is fitted).")
        ] = 12.0,
        discount: Annotated[
            float, typer.Option("--discount", help="Monthly discount rate (when a model is fitted).")
        ] = 0.01,
        margin: Annotated[
            float, typer.Option("--margin", help="Share of spend that is margin, for the CLV (when a model is fitted).")
        ] = 1.0,
        columns: Annotated[
            str | None,
            typer.Option(
                "--columns",
                help="Column names in the file, e.g. customer_id=ID,frequency=x,recency=t_x,monetary_value=zbar.",
            ),
        ] = None,
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        """At-risk customers ranked by value at stake = value x (1 - P(alive)).

        recency and T are in weeks unless --time-unit says otherwise (the default used to be
        D; W is the default of every summary in custlens). Without a p_alive column the
        command fits --model and Gamma-Gamma with custlens.clv.value_customers.
        """
        from custlens.churn import churn_report
        from custlens.ingest.readers import read_table

        id_col = (_mapping(columns) or {}).get("customer_id", "customer_id")
        table = read_table(data_file, text_columns=(id_col,))
        result = churn_report(
            table,
            bands=[b.strip() for b in bands.split(",") if b.strip()],
            top=top,
            time_unit=time_unit,
            as_of=as_of,
            value_column=value_column,
            band_on=band_on,
            p_alive_thresholds=_floats(p_alive_thresholds, "--p-alive-thresholds"),
            overdue_thresholds=_floats(overdue_thresholds, "--overdue-thresholds"),
            model=model,
            horizon_months=horizon,
            monthly_discount=discount,
            margin=margin,
            columns=_mapping(columns),
        )
        emit(result, fmt, output, title="Customers at risk")
