"""Model specifications: built-in models, the TOML format and its errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from custlens.errors import ConfigError
from custlens.satisfaction.model import ACSI, ECSI, SCSB, get_model, load_spec, parse_spec
from custlens.satisfaction.pls import fit_pls

MOBI_ITEMS = [
    "CUEX1",
    "CUEX2",
    "CUEX3",
    "CUSA1",
    "CUSA2",
    "CUSA3",
    "CUSCO",
    "CUSL1",
    "CUSL2",
    "CUSL3",
    "IMAG1",
    "IMAG2",
    "IMAG3",
    "IMAG4",
    "IMAG5",
    "PERQ1",
    "PERQ2",
    "PERQ3",
    "PERQ4",
    "PERQ5",
    "PERQ6",
    "PERQ7",
    "PERV1",
    "PERV2",
]

SPEC = """
name = "mini"
[blocks.Image]
items = "IMAG*"
[blocks.Value]
items = ["PERV1", "PERV2"]
mode = "B"
[blocks.Satisfaction]
items = ["CUSA1", "CUSA2", "CUSA3"]
[[paths]]
from = ["Image", "Value"]
to = "Satisfaction"
"""


def test_ecsi_recognises_the_literature_item_names() -> None:
    resolved = ECSI.resolve(MOBI_ITEMS)
    items = {b.name: list(b.items) for b in resolved.blocks}
    assert items["Image"] == ["IMAG1", "IMAG2", "IMAG3", "IMAG4", "IMAG5"]
    assert items["Quality"] == [f"PERQ{i}" for i in range(1, 8)]
    assert items["Complaints"] == ["CUSCO"]
    assert len(resolved.paths) == 12
    assert ("Complaints", "Loyalty") in resolved.paths and ("Image", "Expectation") in resolved.paths


def test_item_patterns_are_case_insensitive() -> None:
    resolved = ECSI.resolve([c.lower() for c in MOBI_ITEMS])
    assert resolved.blocks[0].items[0] == "imag1"


@pytest.mark.parametrize("model", [ACSI, SCSB, ECSI])
def test_builtin_models_fit_the_mobi_items(model, mobi: pd.DataFrame) -> None:
    res = fit_pls(mobi, model)
    assert set(res.r2()) == {b for _, b in model.paths}
    assert all(0 < v < 1 for v in res.r2().values())


def test_get_model_by_name_and_file(tmp_path: Path) -> None:
    assert get_model("ECSI") is ECSI
    path = tmp_path / "mini.toml"
    path.write_text(SPEC, encoding="utf-8")
    spec = get_model(str(path))
    assert spec.name == "mini"
    assert [b.mode for b in spec.blocks] == ["A", "B", "A"]
    assert spec.paths == (("Image", "Satisfaction"), ("Value", "Satisfaction"))
    with pytest.raises(ConfigError, match="unknown model 'xyz'"):
        get_model("xyz")
    with pytest.raises(ConfigError, match="no such file"):
        load_spec(tmp_path / "absent.toml")


def test_toml_model_fits(tmp_path: Path, mobi: pd.DataFrame) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(SPEC, encoding="utf-8")
    res = fit_pls(mobi, path)
    assert list(res.path_coefficients()) == ["Image -> Satisfaction", "Value -> Satisfaction"]


def _spec(blocks: str, paths: str) -> dict:
    import tomllib

    return tomllib.loads(blocks + "\n" + paths)


@pytest.mark.parametrize(
    ("blocks", "paths", "message"),
    [
        (
            '[blocks.A]\nitems=["x"]\n[blocks.B]\nitems=["y"]\n[blocks.C]\nitems=["z"]',
            '[[paths]]\nfrom="A"\nto="B"\n[[paths]]\nfrom="B"\nto="C"\n[[paths]]\nfrom="C"\nto="A"',
            "cycle: A -> B -> C -> A",
        ),
        ('[blocks.A]\nitems=[]\n[blocks.B]\nitems=["y"]', '[[paths]]\nfrom="A"\nto="B"', "block 'A' has no items"),
        (
            '[blocks.A]\nitems=["x"]\n[blocks.B]\nitems=["y"]',
            '[[paths]]\nfrom="A"\nto="Q"',
            "construct 'Q', which has no block",
        ),
        ('[blocks.A]\nitems=["x"]\nmode="C"\n[blocks.B]\nitems=["y"]', '[[paths]]\nfrom="A"\nto="B"', "mode 'C'"),
        ('[blocks.A]\nitems=["x"]\n[blocks.B]\nitems=["y"]', '[[paths]]\nfrom="A"\nto="A"', "points to itself"),
        (
            '[blocks.A]\nitems=["x"]\n[blocks.B]\nitems=["y"]\n[blocks.C]\nitems=["z"]',
            '[[paths]]\nfrom="A"\nto="B"',
            "construct\\(s\\) C take part in no path",
        ),
        ('[blocks.A]\nitems=["x"]\nweights="A"', '[[paths]]\nfrom="A"\nto="A"', "unknown key"),
        ("", '[[paths]]\nfrom="A"\nto="B"', "blocks"),
        ('[blocks.A]\nitems=["x"]\n[blocks.B]\nitems=["y"]', '[[paths]]\nfrom="A"', "needs 'from' and 'to'"),
    ],
)
def test_spec_errors(blocks: str, paths: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_spec(_spec(blocks, paths))


def test_unknown_items_and_shared_items_are_errors() -> None:
    spec = parse_spec(
        _spec('[blocks.A]\nitems=["IMAG1", "NOPE"]\n[blocks.B]\nitems=["CUSA*"]', '[[paths]]\nfrom="A"\nto="B"')
    )
    with pytest.raises(ConfigError, match="item 'NOPE', which is not a column"):
        spec.resolve(MOBI_ITEMS)
    spec = parse_spec(
        _spec('[blocks.A]\nitems=["IMAG1", "CUSA1"]\n[blocks.B]\nitems=["CUSA*"]', '[[paths]]\nfrom="A"\nto="B"')
    )
    with pytest.raises(ConfigError, match="'CUSA1' is in blocks 'A' and 'B'"):
        spec.resolve(MOBI_ITEMS)
    with pytest.raises(ConfigError, match="IMAG"):
        ECSI.resolve([c for c in MOBI_ITEMS if not c.startswith("IMAG")])


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[blocks.A\nitems=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_spec(path)
