"""Sampled defuzzifiers, fuzzylite's way: N samples at the midpoints of N equal cells.

Each function takes the aggregated membership `y` of shape (rows, N) sampled at `x` (N,) and
returns one crisp value per row (NaN where the aggregated set is empty). fuzzylite scans the
samples one by one with a 1e-6 tolerance on comparisons; the maximum-based ones here reproduce
that scan on whole arrays. The exact (analytic) centroid lives in `exact.py`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray
TOLERANCE = 1e-6  # fuzzylite's machine epsilon for comparisons


def sample_points(minimum: float, maximum: float, resolution: int) -> Array:
    dx = (maximum - minimum) / resolution
    return minimum + (np.arange(resolution) + 0.5) * dx


def centroid(y: Array, x: Array) -> Array:
    with np.errstate(invalid="ignore", divide="ignore"):
        return (y @ x) / y.sum(axis=1)


def bisector(y: Array, x: Array) -> Array:
    """fuzzylite's Bisector: grow areas from both ends, always adding to the smaller one."""
    rows, n = y.shape
    index = np.arange(rows)
    left = np.zeros(rows, dtype=np.intp)
    right = np.zeros(rows, dtype=np.intp)
    left_area = np.zeros(rows)
    right_area = np.zeros(rows)
    x_left = np.full(rows, x[0] - (x[1] - x[0]) / 2 if n > 1 else x[0])
    x_right = np.full(rows, x[-1] + (x[1] - x[0]) / 2 if n > 1 else x[-1])
    for _ in range(n):
        go_left = (left_area <= right_area) | (np.abs(left_area - right_area) < TOLERANCE)
        li = np.minimum(left, n - 1)
        ri = np.maximum(n - 1 - right, 0)
        x_left = np.where(go_left, x[li], x_left)
        left_area = np.where(go_left, left_area + y[index, li], left_area)
        x_right = np.where(go_left, x_right, x[ri])
        right_area = np.where(go_left, right_area, right_area + y[index, ri])
        left += go_left
        right += ~go_left
    with np.errstate(invalid="ignore", divide="ignore"):
        return (left_area * x_right + right_area * x_left) / (left_area + right_area)


def _first_max_index(y: Array) -> Array:
    top = y.max(axis=1, keepdims=True)
    return np.argmax(y > top - TOLERANCE, axis=1)


def smallest_of_maximum(y: Array, x: Array) -> Array:
    return x[_first_max_index(y)]


def largest_of_maximum(y: Array, x: Array) -> Array:
    return x[::-1][_first_max_index(y[:, ::-1])]


def mean_of_maximum(y: Array, x: Array) -> Array:
    """Midpoint of the first plateau at the maximum (later equal plateaus are ignored)."""
    rows, n = y.shape
    start = _first_max_index(y)
    level = y[np.arange(rows), start]
    columns = np.arange(n)
    on_plateau = (y > (level - TOLERANCE)[:, None]) | (columns[None, :] < start[:, None])
    after = np.where(on_plateau.all(axis=1), n, np.argmin(on_plateau, axis=1))
    return (x[start] + x[after - 1]) / 2.0


SAMPLED: dict[str, Callable[[Array, Array], Array]] = {
    "Centroid": centroid,
    "Bisector": bisector,
    "MeanOfMaximum": mean_of_maximum,
    "SmallestOfMaximum": smallest_of_maximum,
    "LargestOfMaximum": largest_of_maximum,
}


class DefuzzifierError(ValueError):
    """An unknown defuzzifier name or an unusable resolution."""


def sampled(name: str) -> Callable[[Array, Array], Array]:
    try:
        return SAMPLED[name]
    except KeyError:
        raise DefuzzifierError(
            f"unknown defuzzifier {name!r} (known: {', '.join(SAMPLED)})"
        ) from None
