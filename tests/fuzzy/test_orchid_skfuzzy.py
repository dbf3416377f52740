"""The orchid profile against an independent scikit-fuzzy build of shared/spec/fuzzy-orchid.md."""

from __future__ import annotations

import numpy as np
import pytest

from fuzzy import load_profile

skfuzzy = pytest.importorskip("skfuzzy", reason="scikit-fuzzy is a declared dependency")
from skfuzzy import control as ctrl  # noqa: E402

TERMS = {  # variable: (universe, {term: (shape, params)}) — the spec's tables verbatim
    "temperature": (
        np.linspace(0, 50, 501),
        {
            "low": ("trap", [0, 0, 18, 23]),
            "optimal": ("tri", [18, 23, 28]),
            "high": ("trap", [23, 28, 50, 50]),
        },
    ),
    "humidity": (
        np.linspace(0, 100, 1001),
        {
            "low": ("trap", [0, 0, 60, 67.5]),
            "optimal": ("tri", [60, 67.5, 75]),
            "high": ("trap", [67.5, 75, 100, 100]),
        },
    ),
    "light": (
        np.linspace(0, 100000, 1001),
        {
            "low": ("trap", [0, 0, 12000, 16000]),
            "optimal": ("tri", [12000, 16000, 20000]),
            "high": ("trap", [16000, 20000, 100000, 100000]),
        },
    ),
}
OUTPUT = {
    "sangat_buruk": ("trap", [0, 0, 12.5, 37.5]),
    "buruk": ("tri", [12.5, 37.5, 62.5]),
    "sedang": ("tri", [37.5, 62.5, 87.5]),
    "optimal": ("trap", [62.5, 87.5, 100, 100]),
}
# Table 1: humidity, temperature, light -> output
RULES = """low optimal low optimal|optimal optimal low optimal|high optimal low optimal
low high low optimal|optimal high low optimal|optimal optimal high sedang|high optimal high sedang
low low optimal sedang|optimal low optimal sedang|high low optimal sedang|low optimal optimal sedang
optimal optimal optimal sedang|high optimal optimal sedang|low high optimal sedang
optimal high optimal sedang|high high optimal sedang|low low low sedang|optimal low low sedang
high low low sedang|optimal low high buruk|high low high buruk|low optimal high buruk
optimal high high buruk|high high high buruk|high high low buruk|low low high sangat_buruk
low high high sangat_buruk"""


def _mf(universe: np.ndarray, shape: str, params: list[float]) -> np.ndarray:
    return skfuzzy.trapmf(universe, params) if shape == "trap" else skfuzzy.trimf(universe, params)


@pytest.fixture(scope="module")
def simulation() -> ctrl.ControlSystemSimulation:
    antecedents = {}
    for name, (universe, terms) in TERMS.items():
        var = ctrl.Antecedent(universe, name)
        for term, (shape, params) in terms.items():
            var[term] = _mf(universe, shape, params)
        antecedents[name] = var
    out_universe = np.linspace(0, 100, 1001)
    growth = ctrl.Consequent(out_universe, "growth_score", defuzzify_method="centroid")
    for term, (shape, params) in OUTPUT.items():
        growth[term] = _mf(out_universe, shape, params)
    rules = []
    for line in RULES.replace("\n", "|").split("|"):
        h, t, li, o = line.split()
        antecedent = antecedents["humidity"][h] & antecedents["temperature"][t]
        rules.append(ctrl.Rule(antecedent & antecedents["light"][li], growth[o]))
    return ctrl.ControlSystemSimulation(ctrl.ControlSystem(rules), cache=False)


def _random_inputs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # half spread over (and beyond) the universes, half near the interesting breakpoints
    temperature = np.concatenate([rng.uniform(-5, 55, n // 2), rng.uniform(15, 32, n - n // 2)])
    humidity = np.concatenate([rng.uniform(-5, 105, n // 2), rng.uniform(55, 80, n - n // 2)])
    light = np.concatenate(
        [rng.uniform(-100, 110000, n // 2), rng.uniform(10000, 22000, n - n // 2)]
    )
    return temperature, humidity, light


def _ours(temperature, humidity, light) -> np.ndarray:
    inputs = {"temperature": temperature, "humidity": humidity, "light": light}
    return load_profile("orchid").evaluate(inputs).outputs["growth_score"]


def test_orchid_matches_skfuzzy_functional_api_on_5000_inputs() -> None:
    """scikit-fuzzy's own membership, min/max and centroid functions, one reading at a time."""
    temperature, humidity, light = _random_inputs(5000, seed=7)
    ours = _ours(temperature, humidity, light)
    out_universe = np.linspace(0, 100, 1001)
    out_terms = {t: _mf(out_universe, *shape) for t, shape in OUTPUT.items()}
    mfs = {
        name: {t: _mf(universe, *shape) for t, shape in terms.items()}
        for name, (universe, terms) in TERMS.items()
    }
    rules = [line.split() for line in RULES.replace("\n", "|").split("|")]
    for i in range(len(ours)):
        values = {
            "temperature": np.clip(temperature[i], 0, 50),
            "humidity": np.clip(humidity[i], 0, 100),
            "light": np.clip(light[i], 0, 100000),
        }
        degree = {
            (name, t): skfuzzy.interp_membership(TERMS[name][0], mf, values[name])
            for name, terms in mfs.items()
            for t, mf in terms.items()
        }
        aggregated = np.zeros_like(out_universe)
        for h, t, li, o in rules:
            strength = min(degree["humidity", h], degree["temperature", t], degree["light", li])
            aggregated = np.fmax(aggregated, np.fmin(strength, out_terms[o]))
        reference = skfuzzy.defuzz(out_universe, aggregated, "centroid")
        assert abs(ours[i] - reference) < 1e-3, (i, values, ours[i], reference)


@pytest.mark.slow
def test_orchid_matches_skfuzzy_control_system_on_random_inputs(simulation) -> None:
    n = 1000
    temperature, humidity, light = _random_inputs(n, seed=20261122)
    ours = _ours(temperature, humidity, light)
    reference = np.empty(n)
    for i in range(n):
        simulation.inputs(
            {  # the spec clamps inputs into their universes
                "temperature": float(np.clip(temperature[i], 0, 50)),
                "humidity": float(np.clip(humidity[i], 0, 100)),
                "light": float(np.clip(light[i], 0, 100000)),
            }
        )
        simulation.compute()
        reference[i] = simulation.output["growth_score"]
    error = np.abs(ours - reference)
    assert np.all(np.isfinite(ours))
    assert error.max() < 1e-3, f"max abs error {error.max()} at row {error.argmax()}"


@pytest.mark.parametrize(
    ("temperature", "humidity", "light", "score", "label"),
    [
        (27.73, 64.57, 302.691, 84.7348, "optimal"),
        (28.75, 66.61, 16501.06, 55.5406, "sedang"),
        (27.54, 63.63, 17850.25, 41.6788, "buruk"),
        (-5, -1, 0, 62.5000, "sedang"),
    ],
)
def test_orchid_worked_values_of_the_spec(temperature, humidity, light, score, label) -> None:
    [result] = load_profile("orchid").score_records(
        [{"temperature": temperature, "humidity": humidity, "light": light}]
    )
    assert result["score"] == pytest.approx(score, abs=1e-3)
    assert result["label"] == label
    assert result["flags"] == []
