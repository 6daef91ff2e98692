"""Helpers for the feature tests: input tables on either backend, the CDNOW logs as frames."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from custlens.warehouse.compat import register_arrow

_names = itertools.count()


def put(backend: object, table: pa.Table | pd.DataFrame, prefix: str = "t") -> object:
    """Create ``table`` on ``backend`` under a fresh name (straight from Arrow); return the Ibis table."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    return register_arrow(backend, f"{prefix}_{next(_names)}", table)


def read_cdnow_master(path: Path) -> pd.DataFrame:
    """CDNOW master log with pandas alone: customer_id (text), date (datetime64), amount."""
    df = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    return pd.DataFrame(
        {
            "customer_id": df["customer_id"],
            "ordered_at": pd.to_datetime(df["date"], format="%Y%m%d").dt.tz_localize("UTC"),
            "amount": df["dollar_value"].astype(float),
        }
    )


@pytest.fixture(scope="session")
def cdnow_master(cdnow_master_path: Path) -> pd.DataFrame:
    """The CDNOW master log as a pandas frame (read without custlens)."""
    return read_cdnow_master(cdnow_master_path)


@pytest.fixture(scope="session")
def cdnow_sample(cdnow_sample_path: Path) -> pd.DataFrame:
    """The CDNOW 1/10 sample: sample id (the ID of the published summary), date, amount."""
    df = pd.read_csv(
        cdnow_sample_path,
        sep=r"\s+",
        header=None,
        names=["master_id", "sample_id", "date", "cds", "dollars"],
        dtype={"master_id": str, "sample_id": "int64", "date": str},
    )
    return pd.DataFrame(
        {
            "customer_id": df["sample_id"],
            "ordered_at": pd.to_datetime(df["date"], format="%Y%m%d").dt.tz_localize("UTC"),
            "amount": df["dollars"].astype(float),
        }
    )
