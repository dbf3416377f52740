"""Engine behaviour: bad input, defaults, lock-previous, chunking, explanations, profiles."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from fuzzy import InputError, load_profile
from fuzzy.engine import Engine
from fuzzy.fll import parse_fll

ORCHID_ROW = {"temperature": 27.73, "humidity": 64.57, "light": 302.691}


def test_orchid_interface_the_edge_agent_uses() -> None:
    engine = load_profile("orchid")
    assert engine.input_names == ["temperature", "humidity", "light"]
    assert engine.output_names == ["growth_score"]
    assert engine.output("growth_score").label_column == "growth_label"
    assert engine.optimal_bands["temperature"] == (18.0, 30.0)
    assert engine.optimal_bands["humidity"][0] == 60.0


def test_score_records_flags_bad_values_and_ignores_extra_keys() -> None:
    engine = load_profile("orchid")
    records = [
        {**ORCHID_ROW, "node": "orchid-01", "seq": 3},
        {"temperature": 27.0, "humidity": None, "light": 100.0},
        {"temperature": 27.0, "light": float("nan")},
        {"temperature": "warm", "humidity": 60, "light": 100.0},
    ]
    first, none_value, missing_and_nan, text = engine.score_records(records)
    assert first["score"] == pytest.approx(84.7348, abs=1e-3) and first["label"] == "optimal"
    assert none_value == {"score": None, "label": None, "flags": ["missing_input:humidity"]}
    assert missing_and_nan["score"] is None
    assert missing_and_nan["flags"] == ["missing_input:humidity", "nan_input:light"]
    assert text["flags"] == ["nan_input:temperature"] and text["score"] is None


def test_nan_rows_give_nan_without_disturbing_other_rows() -> None:
    engine = load_profile("orchid")
    t = np.array([27.73, np.nan, 27.73])
    result = engine.evaluate({"temperature": t, "humidity": [64.57] * 3, "light": [302.691] * 3})
    scores = result.outputs["growth_score"]
    assert math.isnan(scores[1]) and scores[0] == scores[2]
    assert result.nan_rows.tolist() == [False, True, False]
    assert not result.no_rule_fired["growth_score"].any()


def test_missing_column_names_the_expected_variables() -> None:
    engine = load_profile("rice")
    with pytest.raises(InputError, match="soil_ph, gas; the engine expects: temperature, humid"):
        engine.evaluate({"temperature": [1.0], "humidity": [1.0], "soil_moisture": [1.0]})


def test_inputs_are_clamped_into_the_universe_for_lock_range() -> None:
    engine = load_profile("orchid")
    far = engine.score_one(temperature=-40, humidity=-10, light=-5)
    edge = engine.score_one(temperature=0, humidity=0, light=0)
    assert far["score"] == edge["score"] == pytest.approx(62.5)


LOCKS = """Engine: locks
InputVariable: x
  range: 0 10
  term: mid Triangle 4 5 6
OutputVariable: y
  range: 0 10
  lock-range: {lock_range}
  aggregation: Maximum
  defuzzifier: Centroid 100
  default: {default}
  lock-previous: {lock_previous}
  term: t Triangle 6 8 10
RuleBlock:
  conjunction: Minimum
  implication: Minimum
  rule: if x is mid then y is t
"""


def _locks(default: str = "nan", lock_previous: str = "false", lock_range: str = "false"):
    text = LOCKS.format(default=default, lock_previous=lock_previous, lock_range=lock_range)
    return Engine(parse_fll(text, "locks.fll"), chunk_rows=2)


def test_default_value_when_no_rule_fires() -> None:
    result = _locks(default="3.5").evaluate({"x": np.array([1.0, 5.0])})
    assert result.outputs["y"][0] == 3.5
    assert result.outputs["y"][1] == pytest.approx(8.0)
    assert result.no_rule_fired["y"].tolist() == [True, False]


def test_lock_range_clamps_the_default() -> None:
    result = _locks(default="42", lock_range="true").evaluate({"x": np.array([1.0])})
    assert result.outputs["y"][0] == 10.0


def test_lock_previous_carries_the_last_value_across_rows_chunks_and_calls() -> None:
    engine = _locks(default="1", lock_previous="true")
    x = np.array([1.0, 5.0, 1.0, 1.0, np.nan, 1.0, 4.5])
    y = engine.evaluate({"x": x}).outputs["y"]
    assert y[0] == 1.0  # nothing before: the default
    assert y[1] == pytest.approx(8.0)
    assert y[2] == y[3] == y[5] == pytest.approx(8.0)  # across a chunk boundary and a NaN row
    assert math.isnan(y[4])
    assert engine.evaluate({"x": np.array([0.0])}).outputs["y"][0] == pytest.approx(y[6])
    engine.reset()
    assert engine.evaluate({"x": np.array([0.0])}).outputs["y"][0] == 1.0


def test_chunked_evaluation_matches_one_chunk_and_bounds_memory() -> None:
    rng = np.random.default_rng(5)
    n = 400_000
    inputs = {
        "temperature": rng.uniform(0, 50, n),
        "humidity": rng.uniform(0, 100, n),
        "light": rng.uniform(0, 30000, n),
    }
    small = load_profile("orchid", chunk_rows=4096)
    whole = load_profile("orchid", chunk_rows=n)
    peaks = []
    for engine in (small, whole):
        tracemalloc.start()
        result = engine.evaluate(inputs)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        scores = result.outputs["growth_score"]
    np.testing.assert_array_equal(small.evaluate(inputs).outputs["growth_score"], scores)
    output_bytes = 8 * n
    assert peaks[0] < 4 * output_bytes + 16_000_000  # results + a few 4096-row chunks
    assert peaks[1] > 10 * peaks[0] / 2  # the unchunked run needs far more: the bound is real


def test_explain_lists_fired_rules_strongest_first() -> None:
    engine = load_profile("orchid")
    [explained] = engine.explain({k: [v] for k, v in ORCHID_ROW.items()})
    texts = [t for t, _ in explained]
    degrees = [d for _, d in explained]
    assert len(explained) == 4 and degrees == sorted(degrees, reverse=True)
    assert texts[0] == (
        "if humidity is optimal and temperature is high and light is low "
        "then growth_score is optimal"
    )
    assert degrees[0] == pytest.approx(min((64.57 - 60) / 7.5, (27.73 - 23) / 5), abs=1e-9)


def test_two_dimensional_array_input_in_input_order() -> None:
    engine = load_profile("orchid")
    rows = np.array([[27.73, 64.57, 302.691], [28.75, 66.61, 16501.06]])
    scores = engine.evaluate(rows).outputs["growth_score"]
    assert scores == pytest.approx([84.7348, 55.5406], abs=1e-3)
    with pytest.raises(InputError, match="expected 3 input columns"):
        engine.evaluate(rows[:, :2])


def test_watering_profile_agrees_with_the_papers_pump_table() -> None:
    engine = load_profile("watering")
    assert engine.input_names == ["soil_raw"]
    assert engine.optimal_bands == {"soil_raw": (400.0, 900.0)}
    # Table 1 of the watering paper: pump on at 1012 and 1021, off at 444, 784, 675
    labels = [engine.score_one(soil_raw=v)["label"] for v in (1012, 444, 784, 1021, 675)]
    assert labels == ["siram", "pantau", "pantau", "siram", "pantau"]
    assert engine.score_one(soil_raw=200)["label"] == "tidak_siram"


def test_rice_profile_inputs_bands_and_coverage() -> None:
    engine = load_profile("rice")
    assert engine.input_names == ["temperature", "humidity", "soil_moisture", "soil_ph", "gas"]
    assert set(engine.optimal_bands) == set(engine.input_names)
    good = engine.score_one(temperature=28, humidity=75, soil_moisture=85, soil_ph=6.2, gas=100)
    smoky = engine.score_one(temperature=28, humidity=75, soil_moisture=85, soil_ph=6.2, gas=5000)
    assert good["label"] == "optimal" and smoky["label"] == "sangat_buruk"
    rng = np.random.default_rng(3)
    inputs = {v.name: rng.uniform(v.minimum - 1, v.maximum + 1, 50_000) for v in engine.spec.inputs}
    result = engine.evaluate(inputs)
    assert not result.no_rule_fired["suitability"].any()  # the rule base covers every input
    assert np.all((result.outputs["suitability"] >= 0) & (result.outputs["suitability"] <= 100))
