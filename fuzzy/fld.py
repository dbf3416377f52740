"""FuzzyLite Dataset (.fld) files and comparing an engine against one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fuzzy.engine import Engine

TOLERANCE = 1e-3  # what fuzzylite's own benchmark accepts


class FldError(ValueError):
    """A malformed .fld file, or one whose columns do not fit the engine."""


@dataclass
class Dataset:
    names: list[str]
    values: np.ndarray  # (rows, columns)

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]


def read_fld(path: str | Path) -> Dataset:
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise FldError(f"{path}: empty file")
    names = lines[0].split()
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != len(names):
            raise FldError(f"{path}:{number}: expected {len(names)} values, got {len(parts)}")
        try:
            rows.append([float(p) for p in parts])
        except ValueError:
            raise FldError(f"{path}:{number}: not a number in {line.strip()!r}") from None
    return Dataset(names, np.array(rows, dtype=float).reshape(len(rows), len(names)))


@dataclass
class Comparison:
    max_abs_error: float
    per_output: dict[str, float]
    worst_row: int
    rows: int

    @property
    def ok(self) -> bool:
        return self.max_abs_error <= TOLERANCE


def compare(engine: Engine, data: Dataset) -> Comparison:
    """Evaluate the dataset's input columns; NaN expected and NaN computed count as equal."""
    missing = [n for n in engine.input_names + engine.output_names if n not in data.names]
    if missing:
        raise FldError(f"dataset lacks column(s) {', '.join(missing)} of the engine")
    engine.reset()
    result = engine.evaluate({n: data.column(n) for n in engine.input_names})
    errors = np.zeros(len(data.values))
    per_output = {}
    for name in engine.output_names:
        ours, expected = result.outputs[name], data.column(name)
        both_nan = np.isnan(ours) & np.isnan(expected)
        error = np.where(both_nan, 0.0, np.abs(ours - expected))
        error = np.where(np.isnan(error), np.inf, error)
        per_output[name] = float(error.max(initial=0.0))
        errors = np.maximum(errors, error)
    worst = int(errors.argmax()) if len(errors) else -1
    return Comparison(float(errors.max(initial=0.0)), per_output, worst, len(errors))
