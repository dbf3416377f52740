"""The public engine: arrays in, arrays out, in bounded-memory chunks; records in, scores out.

    engine = Engine(spec)
    result = engine.evaluate({"temperature": t, "humidity": h, "light": l})
    result.outputs["growth_score"], result.no_rule_fired["growth_score"], result.nan_rows

A row with a NaN input gets NaN outputs (and is flagged); a row where no rule fires gets the
output's default value (NaN unless set), or with `lock_previous` the last valid value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fuzzy.inference import Inference
from fuzzy.model import EngineSpec, OutputVariable

Array = np.ndarray
DEFAULT_CHUNK_ROWS = 1 << 14  # 16k rows: the working set stays in cache


class InputError(ValueError):
    """Inputs that do not match the engine's input variables."""


@dataclass
class Evaluation:
    outputs: dict[str, Array]
    no_rule_fired: dict[str, Array]
    nan_rows: Array
    rule_degrees: list[Array] | None = None  # per rule, (rows,), only with explain=True


@dataclass
class Engine:
    spec: EngineSpec
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    _inference: Inference = field(init=False, repr=False)
    _previous: dict[str, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._inference = Inference(self.spec)
        self._previous = {}

    # -- description -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def input_names(self) -> list[str]:
        return [v.name for v in self.spec.inputs]

    @property
    def output_names(self) -> list[str]:
        return [v.name for v in self.spec.outputs]

    @property
    def optimal_bands(self) -> dict[str, tuple[float, float]]:
        return {v.name: v.optimal for v in self.spec.inputs if v.optimal is not None}

    @property
    def rule_texts(self) -> list[str]:
        return [r.text for b in self.spec.rule_blocks if b.enabled for r in b.rules if r.enabled]

    def output(self, name: str) -> OutputVariable:
        for out in self.spec.outputs:
            if out.name == name:
                return out
        raise KeyError(f"unknown output {name!r} (outputs: {', '.join(self.output_names)})")

    def reset(self) -> None:
        """Forget the previous values used by outputs with lock_previous."""
        self._previous.clear()

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, inputs: Mapping[str, Any] | Array, *, explain: bool = False) -> Evaluation:
        """Evaluate many rows: a mapping name → 1-D array, or a (rows, inputs) array."""
        columns = self._columns(inputs)
        rows = len(next(iter(columns.values()))) if columns else 0
        outputs = {o: np.empty(rows) for o in self.output_names}
        unfired = {o: np.zeros(rows, dtype=bool) for o in self.output_names}
        nan_rows = np.zeros(rows, dtype=bool)
        for col in columns.values():
            nan_rows |= np.isnan(col)
        degrees: list[list[Array]] = []
        for lo in range(0, rows, self.chunk_rows):
            hi = min(rows, lo + self.chunk_rows)
            chunk = {name: col[lo:hi] for name, col in columns.items()}
            values, fired, rule_deg = self._chunk(chunk, nan_rows[lo:hi], explain)
            for name in self.output_names:
                outputs[name][lo:hi] = values[name]
                unfired[name][lo:hi] = ~fired[name] & ~nan_rows[lo:hi]
            degrees.append(rule_deg)
        rule_degrees = None
        if explain:
            count = len(self.rule_texts)
            rule_degrees = [
                np.concatenate([d[i] for d in degrees]) if degrees else np.zeros(0)
                for i in range(count)
            ]
        return Evaluation(outputs, unfired, nan_rows, rule_degrees)

    def _columns(self, inputs: Mapping[str, Any] | Array) -> dict[str, Array]:
        names = self.input_names
        if isinstance(inputs, np.ndarray) and inputs.ndim == 2:
            if inputs.shape[1] != len(names):
                raise InputError(
                    f"expected {len(names)} input columns ({', '.join(names)}), "
                    f"got {inputs.shape[1]}"
                )
            return {n: np.asarray(inputs[:, i], dtype=float) for i, n in enumerate(names)}
        missing = [n for n in names if n not in inputs]
        if missing:
            raise InputError(
                f"missing input variable(s) {', '.join(missing)}; "
                f"the engine expects: {', '.join(names)}"
            )
        columns = {n: np.atleast_1d(np.asarray(inputs[n], dtype=float)) for n in names}
        lengths = {len(c) for c in columns.values()}
        if len(lengths) > 1:
            raise InputError(f"input columns differ in length: {sorted(lengths)}")
        return columns

    def _chunk(self, chunk: dict[str, Array], nan_rows: Array, explain: bool):
        rows = len(nan_rows)
        prepared = {}
        for var in self.spec.inputs:
            x = chunk[var.name]
            if nan_rows.any():
                x = np.where(np.isnan(x), var.minimum, x)
            if var.lock_range:
                x = np.clip(x, var.minimum, var.maximum)
            prepared[var.name] = x
        acts, rule_degrees = self._inference.activate(prepared, rows, keep_rule_degrees=explain)
        values, fired = {}, {}
        for out in self.spec.outputs:
            if not out.enabled:
                values[out.name] = np.full(rows, np.nan)
                fired[out.name] = np.zeros(rows, dtype=bool)
                continue
            value, ok = self._inference.defuzzify(out, acts[out.name], rows)
            value = self._fill_unfired(out, value, ok, nan_rows)
            if out.lock_range:
                value = np.clip(value, out.minimum, out.maximum)
            values[out.name], fired[out.name] = np.where(nan_rows, np.nan, value), ok
        if explain:
            rule_degrees = [np.where(nan_rows, np.nan, d) for d in rule_degrees]
        return values, fired, rule_degrees

    def _fill_unfired(self, out: OutputVariable, value: Array, ok: Array, nan_rows: Array):
        empty = ~ok & ~nan_rows
        if not out.lock_previous:
            return np.where(empty, out.default, value)
        value = np.where(empty, np.nan, value)
        if out.lock_range:
            value = np.clip(value, out.minimum, out.maximum)
        # the previous value is the last finite value of an earlier evaluated row
        finite = np.isfinite(value) & ~nan_rows
        index = np.where(finite, np.arange(len(value)), -1)
        np.maximum.accumulate(index, out=index)
        carried = self._previous.get(out.name, math.nan)
        previous = np.where(index >= 0, value[np.maximum(index, 0)], carried)
        previous = np.where(np.isnan(previous), out.default, previous)
        filled = np.where(empty, previous, value)
        last = np.flatnonzero(np.isfinite(filled) & ~nan_rows)
        if last.size:
            self._previous[out.name] = float(filled[last[-1]])
        return filled

    # -- labels, records, explanations -------------------------------------------------------

    def labels(self, output: str, values: Array) -> list[str | None]:
        out = self.output(output)
        return [out.label_for(float(v)) for v in values]

    def score_records(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Score dict records with the primary (first) output; never raises on bad values."""
        names = self.input_names
        rows = len(records)
        columns = {n: np.full(rows, np.nan) for n in names}
        flags: list[list[str]] = [[] for _ in range(rows)]
        for i, record in enumerate(records):
            for n in names:
                raw = record.get(n)
                if raw is None:
                    flags[i].append(f"missing_input:{n}")
                    continue
                try:
                    value = float(raw)
                except (TypeError, ValueError):
                    value = math.nan
                if math.isnan(value):
                    flags[i].append(f"nan_input:{n}")
                else:
                    columns[n][i] = value
        primary = self.spec.outputs[0]
        result = self.evaluate(columns)
        scores = result.outputs[primary.name]
        unfired = result.no_rule_fired[primary.name]
        scored = []
        for i in range(rows):
            score = float(scores[i])
            if unfired[i]:
                flags[i].append("no_rule_fired")
            if math.isnan(score):
                scored.append({"score": None, "label": None, "flags": flags[i]})
            else:
                scored.append(
                    {"score": score, "label": primary.label_for(score), "flags": flags[i]}
                )
        return scored

    def explain(
        self, inputs: Mapping[str, Any] | Array, min_degree: float = 0.0
    ) -> list[list[tuple[str, float]]]:
        """Per row: the rules that fired and their activation degree, strongest first."""
        result = self.evaluate(inputs, explain=True)
        texts = self.rule_texts
        degrees = np.stack(result.rule_degrees, axis=1) if texts else np.zeros((0, 0))
        explained = []
        for row in degrees:
            fired = [(texts[i], float(d)) for i, d in enumerate(row) if d > min_degree]
            explained.append(sorted(fired, key=lambda item: -item[1]))
        return explained

    def score_one(self, **values: float) -> dict[str, Any]:
        return self.score_records([values])[0]


def records_to_columns(records: Iterable[Mapping[str, Any]], names: list[str]) -> dict[str, Array]:
    rows = list(records)
    return {n: np.array([float(r.get(n, math.nan)) for r in rows]) for n in names}
