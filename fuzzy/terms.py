"""Membership functions (linguistic terms), evaluated on whole numpy arrays.

Names and parameter orders are fuzzylite's (the FLL spelling); `fis.py` maps MATLAB names and
parameter orders onto these. Every term accepts an optional trailing `height` parameter, as in
fuzzylite. Semantics follow fuzzylite 6 (e.g. `Discrete` holds its end values outside its
points, `Concave`'s direction is set by the order of its parameters).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
MembershipFn = Callable[..., Array]


def _edge_up(x: Array, a: float, b: float) -> Array:
    """Rising edge from (a, 0) to (b, 1), unbounded above 1; vertical when a == b."""
    if a == -np.inf:
        return np.full_like(x, np.inf)
    if b > a:
        return (x - a) / (b - a)
    return np.where(x >= a, np.inf, -np.inf)


def _edge_down(x: Array, c: float, d: float) -> Array:
    """Falling edge from (c, 1) to (d, 0), unbounded above 1; vertical when c == d."""
    if d == np.inf:
        return np.full_like(x, np.inf)
    if d > c:
        return (d - x) / (d - c)
    return np.where(x <= d, np.inf, -np.inf)


def _triangle(x: Array, a: float, b: float, c: float) -> Array:
    return np.clip(np.minimum(_edge_up(x, a, b), _edge_down(x, b, c)), 0.0, 1.0)


def _trapezoid(x: Array, a: float, b: float, c: float, d: float) -> Array:
    return np.clip(np.minimum(_edge_up(x, a, b), _edge_down(x, c, d)), 0.0, 1.0)


def _rectangle(x: Array, start: float, end: float) -> Array:
    return np.where((x >= start) & (x <= end), 1.0, 0.0)


def _ramp(x: Array, start: float, end: float) -> Array:
    if start == end:
        return np.zeros_like(x)
    return np.clip((x - start) / (end - start), 0.0, 1.0)


def _sigmoid(x: Array, inflection: float, slope: float) -> Array:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-slope * (x - inflection)))


def _sigmoid_difference(
    x: Array, left: float, rising: float, falling: float, right: float
) -> Array:
    return np.abs(_sigmoid(x, left, rising) - _sigmoid(x, right, falling))


def _sigmoid_product(x: Array, left: float, rising: float, falling: float, right: float) -> Array:
    return _sigmoid(x, left, rising) * _sigmoid(x, right, falling)


def _gaussian(x: Array, mean: float, sd: float) -> Array:
    return np.exp(-((x - mean) ** 2) / (2.0 * sd * sd))


def _gaussian_product(x: Array, mean_a: float, sd_a: float, mean_b: float, sd_b: float) -> Array:
    a = np.where(x < mean_a, _gaussian(x, mean_a, sd_a), 1.0)
    b = np.where(x > mean_b, _gaussian(x, mean_b, sd_b), 1.0)
    return a * b


def _bell(x: Array, center: float, width: float, slope: float) -> Array:
    return 1.0 / (1.0 + np.abs((x - center) / width) ** (2.0 * slope))


def _cosine(x: Array, center: float, width: float) -> Array:
    inside = (x >= center - width / 2.0) & (x <= center + width / 2.0)
    return np.where(inside, 0.5 * (1.0 + np.cos(2.0 / width * np.pi * (x - center))), 0.0)


def _spike(x: Array, center: float, width: float) -> Array:
    return np.exp(-np.abs(10.0 / width * (x - center)))


def _concave(x: Array, inflection: float, end: float) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        if inflection <= end:
            return np.where(x < end, (end - inflection) / (2.0 * end - inflection - x), 1.0)
        return np.where(x > end, (inflection - end) / (inflection - 2.0 * end + x), 1.0)


def _s_shape(x: Array, start: float, end: float) -> Array:
    mid = (start + end) / 2.0
    span = end - start
    y = np.where(x <= start, 0.0, 1.0)
    y = np.where((x > start) & (x <= mid), 2.0 * ((x - start) / span) ** 2, y)
    return np.where((x > mid) & (x < end), 1.0 - 2.0 * ((x - end) / span) ** 2, y)


def _z_shape(x: Array, start: float, end: float) -> Array:
    return 1.0 - _s_shape(x, start, end)


def _pi_shape(x: Array, bottom_left: float, top_left: float, top_right: float, bottom_right: float):
    return _s_shape(x, bottom_left, top_left) * _z_shape(x, top_right, bottom_right)


def _binary(x: Array, start: float, direction: float) -> Array:
    if direction > start:
        return np.where(x >= start, 1.0, 0.0)
    if direction < start:
        return np.where(x <= start, 1.0, 0.0)
    return np.zeros_like(x)


def _constant(x: Array, value: float) -> Array:
    return np.full_like(x, value)


def _discrete(x: Array, *xy: float) -> Array:
    xs, ys = np.asarray(xy[0::2]), np.asarray(xy[1::2])
    return np.interp(x, xs, ys)  # holds the end values outside, like fuzzylite 6


@dataclass(frozen=True)
class TermType:
    fn: MembershipFn
    arity: int | None  # None: variadic (Discrete takes x y pairs)
    piecewise_linear: bool


TERM_TYPES: dict[str, TermType] = {
    "Triangle": TermType(_triangle, 3, True),
    "Trapezoid": TermType(_trapezoid, 4, True),
    "Rectangle": TermType(_rectangle, 2, True),
    "Ramp": TermType(_ramp, 2, True),
    "Discrete": TermType(_discrete, None, True),
    "Binary": TermType(_binary, 2, True),
    "Constant": TermType(_constant, 1, True),
    "Sigmoid": TermType(_sigmoid, 2, False),
    "SigmoidDifference": TermType(_sigmoid_difference, 4, False),
    "SigmoidProduct": TermType(_sigmoid_product, 4, False),
    "Gaussian": TermType(_gaussian, 2, False),
    "GaussianProduct": TermType(_gaussian_product, 4, False),
    "Bell": TermType(_bell, 3, False),
    "Cosine": TermType(_cosine, 2, False),
    "Spike": TermType(_spike, 2, False),
    "Concave": TermType(_concave, 2, False),
    "SShape": TermType(_s_shape, 2, False),
    "ZShape": TermType(_z_shape, 2, False),
    "PiShape": TermType(_pi_shape, 4, False),
}


class TermError(ValueError):
    """A term whose type is unknown or whose parameters do not fit its type."""


@dataclass(frozen=True)
class Term:
    name: str
    kind: str
    params: tuple[float, ...]
    height: float = 1.0

    @classmethod
    def create(cls, name: str, kind: str, params: list[float] | tuple[float, ...]) -> Term:
        spec = TERM_TYPES.get(kind)
        if spec is None:
            known = ", ".join(sorted(TERM_TYPES))
            raise TermError(f"term {name!r}: unknown type {kind!r} (known: {known})")
        values = tuple(float(p) for p in params)
        height = 1.0
        if spec.arity is None:
            if len(values) % 2 == 1:
                values, height = values[:-1], values[-1]
            if len(values) < 2:
                raise TermError(f"term {name!r}: Discrete needs at least one x y pair")
            xs = values[0::2]
            if any(b < a for a, b in itertools.pairwise(xs)):
                raise TermError(f"term {name!r}: Discrete x values must be non-decreasing")
        elif len(values) == spec.arity + 1:
            values, height = values[:-1], values[-1]
        elif len(values) != spec.arity:
            raise TermError(
                f"term {name!r}: {kind} takes {spec.arity} parameters "
                f"(+ optional height), got {len(values)}"
            )
        return cls(name, kind, values, height)

    @property
    def piecewise_linear(self) -> bool:
        return TERM_TYPES[self.kind].piecewise_linear

    def vertices(self) -> tuple[float, ...]:
        """x positions where a piecewise-linear term may change slope (or jump)."""
        if self.kind == "Discrete":
            return self.params[0::2]
        if self.kind == "Constant":
            return ()
        if self.kind == "Binary":
            return (self.params[0],)
        return self.params

    def membership(self, x: Array) -> Array:
        y = TERM_TYPES[self.kind].fn(np.asarray(x, dtype=float), *self.params)
        return y if self.height == 1.0 else self.height * y
