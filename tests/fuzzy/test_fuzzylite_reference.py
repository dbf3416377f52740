"""Every fuzzylite example engine, from its .fll and from its .fis, against its .fld."""

from __future__ import annotations

import numpy as np
import pytest

from fuzzy import load_profile
from fuzzy.fld import TOLERANCE, compare, read_fld
from tests.fuzzy.shared_data import ENGINES, fuzzylite_dir


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("suffix", [".fll", ".fis"])
def test_engine_reproduces_fuzzylite_dataset(name: str, suffix: str) -> None:
    folder = fuzzylite_dir()
    engine = load_profile(folder / f"{name}{suffix}")
    result = compare(engine, read_fld(folder / f"{name}.fld"))
    assert result.rows == 1024
    if (name, suffix) == ("Laundry", ".fis"):
        # Cycle's rules read the output Detergent; FIS cannot say that (fuzzylite exports them
        # with empty antecedents), so they are dropped with a warning and Cycle stays NaN.
        assert result.per_output["Detergent"] <= TOLERANCE
        assert len(engine.spec.warnings) == 2
        assert all("without antecedent" in w for w in engine.spec.warnings)
        cycle = engine.evaluate(read_fld(folder / "Laundry.fld").values[:, :2]).outputs["Cycle"]
        assert np.isnan(cycle).all()
        return
    assert result.max_abs_error <= TOLERANCE, result.per_output
    assert engine.spec.warnings == []


def test_fll_and_fis_build_the_same_rules() -> None:
    folder = fuzzylite_dir()
    fll = load_profile(folder / "investment_portfolio.fll")
    fis = load_profile(folder / "investment_portfolio.fis")
    assert fis.rule_texts == fll.rule_texts  # includes "not extremely" hedges and "with 0.5"


def test_simple_dimmer_returns_nan_and_flags_when_no_rule_fires() -> None:
    engine = load_profile(fuzzylite_dir() / "SimpleDimmer.fll")
    result = engine.evaluate({"Ambient": np.array([0.0, 0.5])})
    assert np.isnan(result.outputs["Power"][0])
    assert result.no_rule_fired["Power"].tolist() == [True, False]
    [record] = engine.score_records([{"Ambient": 0.0}])
    assert record == {"score": None, "label": None, "flags": ["no_rule_fired"]}
