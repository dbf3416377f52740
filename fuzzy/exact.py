"""Exact centroid for piecewise-linear output terms (Minimum/AlgebraicProduct, Maximum).

Between consecutive term vertices every term is one straight line, so each clipped (Minimum)
or scaled (AlgebraicProduct) term is a set of straight lines and the aggregated maximum is
their upper envelope. Between consecutive crossings of those lines the envelope is itself one
line, so sorting the crossings and integrating line by line gives the area and first moment
exactly — no sampling grid, and the same answer as a grid refined without end.
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
            d = degrees[:, seg.terms]  # (rows, k)
            m = np.asarray(seg.slopes)
            b = np.asarray(seg.intercepts)
            points = self._candidates(seg, d, m, b, rows)
            points.sort(axis=1)
            f = self._envelope(points, d, m, b)
            dx = np.diff(points, axis=1)
            x0, x1 = points[:, :-1], points[:, 1:]
            f0, f1 = f[:, :-1], f[:, 1:]
            area += np.sum(dx * (f0 + f1), axis=1) / 2.0
            moment += np.sum(dx * (x0 * (2 * f0 + f1) + x1 * (f0 + 2 * f1)), axis=1) / 6.0
        return area, moment

    def centroid(self, degrees: Array) -> Array:
        area, moment = self.area_and_moment(degrees)
        with np.errstate(invalid="ignore", divide="ignore"):
            return moment / area

    def _envelope(self, x: Array, d: Array, m: Array, b: Array) -> Array:
        lines = x[:, :, None] * m + b  # (rows, points, k)
        clipped = lines * d[:, None, :] if self.product else np.minimum(lines, d[:, None, :])
        return clipped.max(axis=2)

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
