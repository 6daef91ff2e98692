"""Shared data for the CLV tests: the reference data sets read as arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest


def _read(path: Path) -> dict[str, np.ndarray]:
    table = pacsv.read_csv(path)
    return {name: table.column(name).to_numpy() for name in table.column_names}


@pytest.fixture(scope="session")
def cdnow(cdnow_summary_path: Path) -> dict[str, np.ndarray]:
    """CDNOW 2,357 customers: ID, frequency, recency, T (weeks)."""
    return _read(cdnow_summary_path)


@pytest.fixture(scope="session")
def cdnow_money(cdnow_summary_monetary_path: Path) -> dict[str, np.ndarray]:
    """CDNOW with spend: ID, x, t_x, T, zbar."""
    return _read(cdnow_summary_monetary_path)


@pytest.fixture(scope="session")
def donations(donations_path: Path) -> dict[str, np.ndarray]:
    """Donations data: frequency, recency, periods, weights."""
    return _read(donations_path)
