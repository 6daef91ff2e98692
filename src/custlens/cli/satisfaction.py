"""CLI commands: pls, kano (satisfaction and loyalty)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from custlens.cli._common import FormatOption, OutputFormat, OutputOption, emit, guarded

__all__ = ["register"]


class Scheme(str, enum.Enum):
    """Inner weighting schemes."""

    path = "path"
    centroid = "centroid"
    factorial = "factorial"


class Missing(str, enum.Enum):
    """Missing-answer rules."""

    listwise = "listwise"
    mean = "mean"


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""

    @app.command("pls")
    @guarded
    def pls(
        data_file: Annotated[Path, typer.Argument(help="Survey answers: one row per respondent, one column per item.")],
        model: Annotated[
            str,
            typer.Option(
                "--model", "-m", help="Built-in model (acsi, ecsi, scsb) or a model specification .toml file."
            ),
        ] = "ecsi",
        scheme: Annotated[Scheme, typer.Option("--scheme", help="Inner weighting scheme.")] = Scheme.path,
        bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples (0: none).")] = 0,
        seed: Annotated[int | None, typer.Option("--seed", help="Seed of the bootstrap resampling.")] = None,
        missing: Annotated[
            Missing, typer.Option("--missing", help="Missing answers: drop respondents or use item means.")
        ] = Missing.listwise,
        scale_min: Annotated[
            float, typer.Option("--scale-min", help="Lowest possible answer (for the 0-100 index).")
        ] = 1,
        scale_max: Annotated[
            float, typer.Option("--scale-max", help="Highest possible answer (for the 0-100 index).")
        ] = 10,
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        """Fit a PLS path model (ACSI, ECSI, SCSB or your own) and report paths, weights, loadings, R², quality and the 0-100 index."""
        from custlens.ingest.readers import read_table
        from custlens.satisfaction.report import pls_report

        report = pls_report(
            read_table(data_file),
            model,
            scheme=scheme.value,
            missing=missing.value,
            scale=(scale_min, scale_max),
            n_boot=bootstrap,
            seed=seed,
        )
        if fmt is OutputFormat.json:
            emit(report.to_dict(), fmt, output)
        else:
            emit(
                _rows_table(report.rows()),
                fmt,
                output,
                title=f"PLS path model ({report.fit.prepared.model.name}, {scheme.value} scheme)",
            )

    @app.command("kano")
    @guarded
    def kano_cmd(
        data_file: Annotated[
            Path,
            typer.Argument(
                help="One row per respondent and attribute: respondent, attribute, functional, dysfunctional[, importance]."
            ),
        ],
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        """Kano analysis: category, strength, Fong test and Better/Worse per attribute."""
        from custlens.ingest.readers import read_table
        from custlens.satisfaction.kano import kano

        result = kano(read_table(data_file, all_strings=True))
        if fmt is OutputFormat.json:
            emit(result.to_dict(), fmt, output)
        else:
            emit(_rows_table(result.table()), fmt, output, title="Kano analysis")


def _rows_table(rows: list[dict[str, object]]) -> object:
    import pyarrow as pa

    return pa.Table.from_pylist(rows)
