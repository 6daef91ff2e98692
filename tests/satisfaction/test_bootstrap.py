"""Bootstrap: the vectorised resampling equals a loop of ordinary fits, and is reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custlens.errors import InputError
from custlens.satisfaction.model import ModelSpec
from custlens.satisfaction.pls import fit_pls

from .conftest import read_seminr


def test_vectorised_bootstrap_equals_refitting_each_resample(mobi: pd.DataFrame) -> None:
    res = fit_pls(mobi, "ecsi", scheme="factorial", tol=1e-10)
    boot = res.bootstrap(n_boot=12, seed=7, batch=5)
    # the same resamples, drawn exactly as the bootstrap draws them (batches of 5)
    rng = np.random.default_rng(7)
    draws = []
    for size in (5, 5, 2):
        for idx in rng.integers(0, len(mobi), size=(size, len(mobi))):
            fit = fit_pls(mobi.iloc[idx].reset_index(drop=True), "ecsi", scheme="factorial", tol=1e-10)
            # the bootstrap keeps the original fit's sign anchors; these resamples agree
            draws.append([fit.path_coefficients()[k] for k in boot.names["paths"]])
    np.testing.assert_allclose(boot.draws["paths"], np.array(draws), atol=1e-7)


def test_seeded_bootstrap_is_reproducible(mobi: pd.DataFrame) -> None:
    res = fit_pls(mobi, "ecsi")
    a = res.bootstrap(n_boot=50, seed=3).to_dict()
    b = res.bootstrap(n_boot=50, seed=3).to_dict()
    c = res.bootstrap(n_boot=50, seed=4).to_dict()
    assert a == b
    assert a["paths"] != c["paths"]


def test_statistics_follow_their_definitions(mobi: pd.DataFrame) -> None:
    res = fit_pls(mobi, "ecsi")
    boot = res.bootstrap(n_boot=200, seed=1, level=0.9)
    table = boot.table("paths")
    draws = boot.draws["paths"]
    for k, name in enumerate(boot.names["paths"]):
        row = table[name]
        assert row["estimate"] == pytest.approx(res.path_coefficients()[name])
        assert row["se"] == pytest.approx(draws[:, k].std(ddof=1))
        assert row["t"] == pytest.approx(row["estimate"] / row["se"])
        assert row["ci_low"] == pytest.approx(np.quantile(draws[:, k], 0.05))
        assert row["ci_high"] == pytest.approx(np.quantile(draws[:, k], 0.95))
    assert set(boot.to_dict()) >= {"paths", "total_effects", "weights", "loadings", "n_failed"}


def test_standard_errors_agree_with_seminr_within_monte_carlo_error(mobi: pd.DataFrame, mobi4: ModelSpec) -> None:
    """seminr's 500-resample bootstrap SDs (boot_report_paths.csv); different RNG, so 15 %."""
    ref = read_seminr()["bootstrap_paths"]
    table = fit_pls(mobi, mobi4).bootstrap(n_boot=2000, seed=11).table("paths")
    for name, values in ref.items():
        if name.startswith("_"):
            continue
        assert table[name]["se"] == pytest.approx(values["sd"], rel=0.15)
        assert table[name]["ci_low"] == pytest.approx(values["ci_low"], abs=0.03)
        assert table[name]["ci_high"] == pytest.approx(values["ci_high"], abs=0.03)


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"n_boot": 1}, "n_boot"), ({"level": 1.2}, "level"), ({"batch": 0}, "batch")]
)
def test_bad_bootstrap_parameters(mobi: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        fit_pls(mobi, "ecsi").bootstrap(**kwargs)


def test_vectorised_bootstrap_handles_mode_b_and_raw_data(mobi: pd.DataFrame) -> None:
    from custlens.satisfaction.model import ECSI, Block, ModelSpec

    model = ModelSpec(
        "mixed",
        tuple(Block(b.name, b.items, "B" if b.name in ("Image", "Value") else "A") for b in ECSI.blocks),
        ECSI.paths,
    )
    res = fit_pls(mobi, model, scheme="path", standardize=False, tol=1e-10)
    boot = res.bootstrap(n_boot=6, seed=9)
    rng = np.random.default_rng(9)
    for row, idx in zip(boot.draws["weights"], rng.integers(0, len(mobi), size=(6, len(mobi)))):
        fit = fit_pls(mobi.iloc[idx].reset_index(drop=True), model, scheme="path", standardize=False, tol=1e-10)
        expected = [fit.outer_weights()[name.split(" <- ")[0]][name.split(" <- ")[1]] for name in boot.names["weights"]]
        np.testing.assert_allclose(row, expected, atol=1e-7)
