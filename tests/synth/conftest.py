"""Shared small demo companies for the synth tests (generated once per session)."""

from __future__ import annotations

import pytest

from custlens.synth import Company, generate_company


@pytest.fixture(scope="session")
def company() -> Company:
    """A small default company (3 blocks, one of them partial)."""
    return generate_company(5000, seed=11)
