"""The exact centroid against a very fine grid; norm and hedge laws; sampled defuzzifiers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzy.defuzzifiers import mean_of_maximum, sample_points, smallest_of_maximum
from fuzzy.exact import ExactCentroid
from fuzzy.norms import HEDGES, SNORMS, TNORMS
from fuzzy.terms import Term


def _random_terms(rng: np.random.Generator, count: int) -> list[Term]:
    terms = []
    for i in range(count):
        if rng.random() < 0.5:
            params = np.sort(rng.uniform(-10, 110, 3))
            terms.append(Term.create(f"t{i}", "Triangle", params))
        else:
            params = np.sort(rng.uniform(-10, 110, 4))
            terms.append(Term.create(f"t{i}", "Trapezoid", params))
    return terms


def _grid_centroid(terms, degrees, implication: str, lo: float, hi: float) -> np.ndarray:
    x = np.linspace(lo, hi, 400_001)
    table = np.stack([t.membership(x) for t in terms])  # (k, points)
    implied = TNORMS[implication](table[None, :, :], degrees[:, :, None])
    y = implied.max(axis=1)
    with np.errstate(invalid="ignore"):
        return np.trapezoid(y * x, x, axis=1) / np.trapezoid(y, x, axis=1)


@pytest.mark.parametrize("implication", ["Minimum", "AlgebraicProduct"])
@pytest.mark.parametrize("seed", range(6))
def test_exact_centroid_equals_a_very_fine_grid(implication: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    terms = _random_terms(rng, int(rng.integers(2, 6)))  # overlaps of any depth and direction
    degrees = rng.uniform(0, 1, (20, len(terms)))
    degrees[rng.random(degrees.shape) < 0.3] = 0.0
    degrees[0] = 0.0
    degrees[0, 0] = 1.0
    exact = ExactCentroid(terms, 0.0, 100.0, implication).centroid(degrees)
    grid = _grid_centroid(terms, degrees, implication, 0.0, 100.0)
    finite = np.isfinite(grid)
    np.testing.assert_allclose(exact[finite], grid[finite], atol=1e-5)
    assert np.array_equal(np.isfinite(exact), finite)


def test_exact_fast_path_and_general_path_agree_on_a_fuzzy_partition() -> None:
    terms = [
        Term.create("a", "Trapezoid", [0, 0, 10, 40]),
        Term.create("b", "Triangle", [10, 40, 70]),
        Term.create("c", "Trapezoid", [40, 70, 100, 100]),
    ]
    exact = ExactCentroid(terms, 0, 100, "Minimum")
    degrees = np.random.default_rng(1).uniform(0, 1, (500, 3))
    fast = exact.area_and_moment(degrees)
    general = [np.zeros(500), np.zeros(500)]
    for seg in exact.segments:
        area, moment = exact._by_crossings(seg, degrees)
        general[0] += area
        general[1] += moment
    np.testing.assert_allclose(fast[0], general[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast[1], general[1], rtol=1e-12, atol=1e-9)


unit = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(a=unit, b=unit, c=unit)
def test_norm_laws(a: float, b: float, c: float) -> None:
    for name, t in TNORMS.items():
        assert t(np.float64(a), np.float64(1.0)) == pytest.approx(a, abs=1e-12), name
        assert t(np.float64(a), np.float64(b)) == pytest.approx(
            t(np.float64(b), np.float64(a)), abs=1e-12
        ), name
        assert 0.0 <= t(np.float64(a), np.float64(b)) <= min(a, b) + 1e-12, name
    for name, s in SNORMS.items():
        assert s(np.float64(a), np.float64(0.0)) == pytest.approx(a, abs=1e-12), name
        assert s(np.float64(a), np.float64(b)) == pytest.approx(
            s(np.float64(b), np.float64(a)), abs=1e-12
        ), name
        if name not in ("UnboundedSum",):
            assert max(a, b) - 1e-12 <= s(np.float64(a), np.float64(b)) <= 1.0 + 1e-12, name
    for name, hedge in HEDGES.items():
        value = float(hedge(np.float64(c)))
        assert 0.0 <= value <= 1.0, name


def test_hedge_values_match_fuzzylite_definitions() -> None:
    y = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(HEDGES["extremely"](y), [0, 0.125, 0.5, 0.875, 1])
    np.testing.assert_allclose(HEDGES["seldom"](y), [0, np.sqrt(0.125), 0.5, 1 - np.sqrt(0.125), 1])
    np.testing.assert_allclose(HEDGES["very"](y), y**2)
    np.testing.assert_allclose(HEDGES["somewhat"](y), np.sqrt(y))
    np.testing.assert_allclose(HEDGES["any"](y), 1.0)


def test_maximum_defuzzifiers_use_the_first_plateau() -> None:
    x = sample_points(0.0, 10.0, 10)  # 0.5, 1.5, ..., 9.5
    y = np.array([[0, 1, 1, 0.5, 1, 1, 1, 0, 0, 0.0]])
    assert smallest_of_maximum(y, x)[0] == 1.5
    assert mean_of_maximum(y, x)[0] == 2.0  # fuzzylite ignores the later, wider plateau
