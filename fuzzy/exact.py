"""Exact centroid for piecewise-linear output terms (Minimum/AlgebraicProduct, Maximum).

Between consecutive term vertices every term is one straight line, so each clipped (Minimum)
or scaled (AlgebraicProduct) term is a set of straight lines and the aggregated maximum is
their upper envelope. Between consecutive crossings of those lines the envelope is itself one
line, so sorting the crossings and integrating line by line gives the area and first moment
exactly — no sampling grid, and the same answer as a grid refined without end.

Fast path: where at most one falling and one rising term overlap (every fuzzy partition), the
envelope is the falling term left of a single crossing and the rising term right of it, and
each clipped line integrates in closed form — no sorting, a few array operations per segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations, pairwise

import numpy as np

from fuzzy.terms import Term

Array = np.ndarray
EXACT_IMPLICATIONS = ("Minimum", "AlgebraicProduct")


@dataclass(frozen=True)
class _Segment:
    start: float
    end: float
    terms: tuple[int, ...]  # indices of terms not identically zero here
    slopes: tuple[float, ...]
    intercepts: tuple[float, ...]

    @property
    def crossing(self) -> bool:
        """Exactly two terms, one non-increasing and one non-decreasing (in that order)."""
        return len(self.terms) == 2 and self.slopes[0] <= 0.0 <= self.slopes[1]


def _line_integrals(p: Array, q: Array, m, b) -> tuple[Array, Array]:
    """Area and first moment of m·x + b over [p, q] (m, b scalars or row arrays)."""
    return (
        m * (q * q - p * p) / 2.0 + b * (q - p),
        m * (q * q * q - p * p * p) / 3.0 + b * (q * q - p * p) / 2.0,
    )


def supports(terms: list[Term]) -> bool:
    return all(t.piecewise_linear for t in terms)


class ExactCentroid:
    """Exact centroid of max_k I(degree_k, term_k(x)) over [minimum, maximum]."""

    def __init__(self, terms: list[Term], minimum: float, maximum: float, implication: str):
        if implication not in EXACT_IMPLICATIONS:
            raise ValueError(f"exact centroid supports {EXACT_IMPLICATIONS}, not {implication}")
        if not supports(terms):
            raise ValueError("exact centroid needs piecewise-linear terms")
        self.product = implication == "AlgebraicProduct"
        cuts = {minimum, maximum}
        for term in terms:
            cuts.update(v for v in term.vertices() if minimum < v < maximum)
        edges = sorted(cuts)
        self.segments: list[_Segment] = []
        for start, end in pairwise(edges):
            probe = np.array([start + (end - start) / 4, start + 3 * (end - start) / 4])
            active, slopes, intercepts = [], [], []
            for k, term in enumerate(terms):
                y = term.membership(probe)
                if not np.any(y):
                    continue
                slope = (y[1] - y[0]) / (probe[1] - probe[0])
                active.append(k)
                slopes.append(float(slope))
                intercepts.append(float(y[0] - slope * probe[0]))
            if active:
                self.segments.append(
                    _Segment(start, end, tuple(active), tuple(slopes), tuple(intercepts))
                )

    def area_and_moment(self, degrees: Array) -> tuple[Array, Array]:
        """degrees: (rows, terms). Returns the aggregated set's area and first moment."""
        rows = degrees.shape[0]
        area = np.zeros(rows)
        moment = np.zeros(rows)
        for seg in self.segments:
            if len(seg.terms) == 1 or seg.crossing:
                a, mo = self._closed_form(seg, degrees)
            else:
                a, mo = self._by_crossings(seg, degrees)
            area += a
            moment += mo
        return area, moment

    def _clipped(self, p: Array, q: Array, d: Array, m: float, b: float):
        """Integrals of I(d, m·x + b) over [p, q] for the implication I."""
        if self.product:
            return _line_integrals(p, q, d * m, d * b)
        if m == 0.0:
            level = np.minimum(d, b)
            return level * (q - p), level * (q * q - p * p) / 2.0
        knee = np.clip((d - b) / m, p, q)  # where the line meets the clip level
        line_lo, line_hi = (p, knee) if m > 0 else (knee, q)
        flat_lo, flat_hi = (knee, q) if m > 0 else (p, knee)
        area, moment = _line_integrals(line_lo, line_hi, m, b)
        area += d * (flat_hi - flat_lo)
        moment += d * (flat_hi * flat_hi - flat_lo * flat_lo) / 2.0
        return area, moment

    def _value(self, x: Array, d: Array, m: float, b: float) -> Array:
        line = m * x + b
        return d * line if self.product else np.minimum(d, line)

    def _closed_form(self, seg: _Segment, degrees: Array) -> tuple[Array, Array]:
        rows = degrees.shape[0]
        start, end = np.full(rows, seg.start), np.full(rows, seg.end)
        if len(seg.terms) == 1:
            return self._clipped(start, end, degrees[:, seg.terms[0]], *_line(seg, 0))
        d1, d2 = degrees[:, seg.terms[0]], degrees[:, seg.terms[1]]
        (m1, b1), (m2, b2) = _line(seg, 0), _line(seg, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.product:
                candidates = [(d2 * b2 - d1 * b1) / (d1 * m1 - d2 * m2)]
            else:
                candidates = [(d1 - b2) / m2 if m2 else None, (d2 - b1) / m1 if m1 else None]
                if m1 != m2:
                    candidates.append(np.full(rows, (b2 - b1) / (m1 - m2)))
        # the falling side wins left of the crossing: it is the last candidate where it is >=
        cross = start.copy()
        for x in [end, *(c for c in candidates if c is not None)]:
            x = np.clip(np.nan_to_num(x, nan=seg.start), seg.start, seg.end)
            wins = self._value(x, d1, m1, b1) - self._value(x, d2, m2, b2) >= -1e-12
            np.maximum(cross, np.where(wins, x, seg.start), out=cross)
        a1, mo1 = self._clipped(start, cross, d1, m1, b1)
        a2, mo2 = self._clipped(cross, end, d2, m2, b2)
        return a1 + a2, mo1 + mo2

    def _by_crossings(self, seg: _Segment, degrees: Array) -> tuple[Array, Array]:
        rows = degrees.shape[0]
        d = degrees[:, seg.terms]  # (rows, k)
        m = np.asarray(seg.slopes)
        b = np.asarray(seg.intercepts)
        points = self._candidates(seg, d, m, b, rows)
        points.sort(axis=1)
        f = self._envelope(points, d, m, b)
        dx = np.diff(points, axis=1)
        x0, x1 = points[:, :-1], points[:, 1:]
        f0, f1 = f[:, :-1], f[:, 1:]
        area = np.sum(dx * (f0 + f1), axis=1) / 2.0
        moment = np.sum(dx * (x0 * (2 * f0 + f1) + x1 * (f0 + 2 * f1)), axis=1) / 6.0
        return area, moment

    def centroid(self, degrees: Array) -> Array:
        area, moment = self.area_and_moment(degrees)
        with np.errstate(invalid="ignore", divide="ignore"):
            return moment / area

    def _envelope(self, x: Array, d: Array, m: Array, b: Array) -> Array:
        result = np.zeros_like(x)
        for i in range(len(m)):
            np.maximum(result, self._value(x, d[:, i : i + 1], m[i], b[i]), out=result)
        return result

    def _candidates(self, seg: _Segment, d: Array, m: Array, b: Array, rows: int) -> Array:
        columns: list[Array] = [np.full(rows, seg.start), np.full(rows, seg.end)]
        k = len(seg.terms)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.product:
                for i, j in combinations(range(k), 2):
                    den = d[:, i] * m[i] - d[:, j] * m[j]
                    columns.append((d[:, j] * b[j] - d[:, i] * b[i]) / den)
            else:
                for i, j in combinations(range(k), 2):
                    if m[i] != m[j]:
                        columns.append(np.full(rows, (b[j] - b[i]) / (m[i] - m[j])))
                for i in range(k):
                    if m[i] != 0.0:
                        for j in range(k):
                            columns.append((d[:, j] - b[i]) / m[i])
        points = np.stack(columns, axis=1)
        inside = np.isfinite(points) & (points > seg.start) & (points < seg.end)
        inside[:, :2] = True  # the segment's own ends
        return np.where(inside, points, seg.start)


def _line(seg: _Segment, i: int) -> tuple[float, float]:
    return seg.slopes[i], seg.intercepts[i]
