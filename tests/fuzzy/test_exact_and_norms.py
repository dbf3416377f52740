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
    x = np.linspace(lo, hi, 200_001)
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


@pytest.mark.parametrize(
    ("name", "a", "b", "expected"),
    [
        ("Minimum", 0.3, 0.6, 0.3),
        ("AlgebraicProduct", 0.5, 0.6, 0.3),
        ("BoundedDifference", 0.5, 0.6, 0.1),
        ("BoundedDifference", 0.2, 0.6, 0.0),
        ("DrasticProduct", 1.0, 0.6, 0.6),
        ("DrasticProduct", 0.9, 0.6, 0.0),
        ("EinsteinProduct", 0.5, 0.5, 0.25 / 1.25),
        ("HamacherProduct", 0.5, 0.5, 0.25 / 0.75),
        ("HamacherProduct", 0.0, 0.0, 0.0),
        ("NilpotentMinimum", 0.6, 0.5, 0.5),
        ("NilpotentMinimum", 0.3, 0.5, 0.0),
    ],
)
def test_tnorm_values(name: str, a: float, b: float, expected: float) -> None:
    assert TNORMS[name](np.float64(a), np.float64(b)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("name", "a", "b", "expected"),
    [
        ("Maximum", 0.3, 0.6, 0.6),
        ("AlgebraicSum", 0.5, 0.6, 0.8),
        ("BoundedSum", 0.5, 0.6, 1.0),
        ("DrasticSum", 0.0, 0.6, 0.6),
        ("DrasticSum", 0.1, 0.6, 1.0),
        ("EinsteinSum", 0.5, 0.5, 1.0 / 1.25),
        ("HamacherSum", 0.5, 0.5, 0.5 / 0.75),
        ("NilpotentMaximum", 0.3, 0.5, 0.5),
        ("NilpotentMaximum", 0.6, 0.5, 1.0),
        ("NormalizedSum", 0.7, 0.6, 1.0),
        ("NormalizedSum", 0.2, 0.3, 0.5),
        ("UnboundedSum", 0.7, 0.6, 1.3),
    ],
)
def test_snorm_values(name: str, a: float, b: float, expected: float) -> None:
    assert SNORMS[name](np.float64(a), np.float64(b)) == pytest.approx(expected)


def _scan_bisector(y: np.ndarray, x: np.ndarray) -> float:
    """fuzzylite's Bisector loop, one sample at a time."""
    n, dx = len(x), x[1] - x[0]
    left = right = 0
    left_area = right_area = 0.0
    x_left, x_right = x[0] - dx / 2, x[-1] + dx / 2
    for _ in range(n):
        if left_area <= right_area or abs(left_area - right_area) < 1e-6:
            x_left, left_area, left = x[left], left_area + y[left], left + 1
        else:
            x_right, right_area, right = x[n - 1 - right], right_area + y[n - 1 - right], right + 1
    return (left_area * x_right + right_area * x_left) / (left_area + right_area)


def _scan_maxima(y: np.ndarray, x: np.ndarray) -> tuple[float, float, float]:
    """fuzzylite's SmallestOfMaximum, LargestOfMaximum and MeanOfMaximum loops."""
    tol = 1e-6
    ymax, smallest = -1.0, x[0]
    for xi, yi in zip(x, y, strict=True):
        if yi > ymax and abs(yi - ymax) >= tol:
            ymax, smallest = yi, xi
    ymax, largest = -1.0, x[-1]
    for xi, yi in zip(x[::-1], y[::-1], strict=True):
        if yi > ymax and abs(yi - ymax) >= tol:
            ymax, largest = yi, xi
    ymax, lo, hi, plateau = -1.0, x[0], x[-1], False
    for xi, yi in zip(x, y, strict=True):
        if yi > ymax and abs(yi - ymax) >= tol:
            ymax, lo, hi, plateau = yi, xi, xi, True
        elif plateau and abs(yi - ymax) < tol:
            hi = xi
        elif yi < ymax:
            plateau = False
    return smallest, largest, (lo + hi) / 2


def test_vectorised_defuzzifiers_equal_fuzzylites_sample_scans() -> None:
    from fuzzy.defuzzifiers import bisector, largest_of_maximum

    rng = np.random.default_rng(9)
    x = sample_points(-3.0, 7.0, 200)
    terms = _random_terms(np.random.default_rng(4), 4)
    table = np.stack([t.membership(np.linspace(-10, 110, 200)) for t in terms])
    degrees = rng.uniform(0, 1, (300, len(terms)))
    y = np.minimum(table[None], degrees[:, :, None]).max(axis=1)
    y[:50] = np.round(y[:50], 1)  # plateaus, ties and repeated maxima
    np.testing.assert_allclose(bisector(y, x), [_scan_bisector(r, x) for r in y], atol=1e-12)
    scans = np.array([_scan_maxima(r, x) for r in y])
    np.testing.assert_allclose(smallest_of_maximum(y, x), scans[:, 0])
    np.testing.assert_allclose(largest_of_maximum(y, x), scans[:, 1])
    np.testing.assert_allclose(mean_of_maximum(y, x), scans[:, 2])
