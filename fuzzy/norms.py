"""T-norms, S-norms and hedges with fuzzylite's names, as numpy ufunc-style functions.

Every function broadcasts, so `tnorm(a[:, None], b[None, :])` works. Definitions follow
fuzzylite 6; `NormalizedSum` is an S-norm only in name (it divides by max(1, a + b)).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray
Norm = Callable[[Array, Array], Array]


def _drastic_product(a: Array, b: Array) -> Array:
    return np.where(np.maximum(a, b) == 1.0, np.minimum(a, b), 0.0)


def _drastic_sum(a: Array, b: Array) -> Array:
    return np.where(np.minimum(a, b) == 0.0, np.maximum(a, b), 1.0)


def _einstein_product(a: Array, b: Array) -> Array:
    return (a * b) / (2.0 - (a + b - a * b))


def _einstein_sum(a: Array, b: Array) -> Array:
    return (a + b) / (1.0 + a * b)


def _hamacher_product(a: Array, b: Array) -> Array:
    denominator = a + b - a * b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator == 0.0, 0.0, (a * b) / denominator)


def _hamacher_sum(a: Array, b: Array) -> Array:
    denominator = 1.0 - a * b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator == 0.0, 1.0, (a + b - 2.0 * a * b) / denominator)


def _nilpotent_minimum(a: Array, b: Array) -> Array:
    return np.where(a + b > 1.0, np.minimum(a, b), 0.0)


def _nilpotent_maximum(a: Array, b: Array) -> Array:
    return np.where(a + b < 1.0, np.maximum(a, b), 1.0)


def _normalized_sum(a: Array, b: Array) -> Array:
    return (a + b) / np.maximum(1.0, a + b)


TNORMS: dict[str, Norm] = {
    "Minimum": np.minimum,
    "AlgebraicProduct": np.multiply,
    "BoundedDifference": lambda a, b: np.maximum(0.0, a + b - 1.0),
    "DrasticProduct": _drastic_product,
    "EinsteinProduct": _einstein_product,
    "HamacherProduct": _hamacher_product,
    "NilpotentMinimum": _nilpotent_minimum,
}

SNORMS: dict[str, Norm] = {
    "Maximum": np.maximum,
    "AlgebraicSum": lambda a, b: a + b - a * b,
    "BoundedSum": lambda a, b: np.minimum(1.0, a + b),
    "DrasticSum": _drastic_sum,
    "EinsteinSum": _einstein_sum,
    "HamacherSum": _hamacher_sum,
    "NilpotentMaximum": _nilpotent_maximum,
    "NormalizedSum": _normalized_sum,
    "UnboundedSum": np.add,
}


def _extremely(y: Array) -> Array:
    return np.where(y <= 0.5, 2.0 * y * y, 1.0 - 2.0 * (1.0 - y) ** 2)


def _seldom(y: Array) -> Array:
    return np.where(y <= 0.5, np.sqrt(np.clip(y, 0.0, None) / 2.0), 1.0 - np.sqrt((1.0 - y) / 2.0))


HEDGES: dict[str, Callable[[Array], Array]] = {
    "not": lambda y: 1.0 - y,
    "very": lambda y: y * y,
    "somewhat": np.sqrt,
    "extremely": _extremely,
    "seldom": _seldom,
    "any": np.ones_like,
}


class NormError(ValueError):
    """An unknown T-norm, S-norm or hedge name."""


def tnorm(name: str) -> Norm:
    try:
        return TNORMS[name]
    except KeyError:
        raise NormError(f"unknown T-norm {name!r} (known: {', '.join(TNORMS)})") from None


def snorm(name: str) -> Norm:
    try:
        return SNORMS[name]
    except KeyError:
        raise NormError(f"unknown S-norm {name!r} (known: {', '.join(SNORMS)})") from None
