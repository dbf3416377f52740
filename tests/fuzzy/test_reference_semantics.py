"""The vectorised engine against a plain one-row-at-a-time interpreter of fuzzylite's rules.

Covers what the fuzzylite example engines leave out: every T-norm as conjunction and
implication, every S-norm as disjunction and aggregation (folded in rule order), hedges in
antecedents and consequents, weights, and a chained output read by a later rule.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

from fuzzy.defuzzifiers import sample_points
from fuzzy.engine import Engine
from fuzzy.fll import parse_fll
from fuzzy.model import Operator
from fuzzy.norms import HEDGES, SNORMS, TNORMS

ENGINE = """Engine: semantics
InputVariable: x
  range: 0 1
  term: low Triangle -0.5 0 0.6
  term: mid Gaussian 0.5 0.2
  term: high Ramp 0.4 1
InputVariable: z
  range: 0 1
  term: small ZShape 0.1 0.7
  term: big Bell 1 0.4 2
OutputVariable: y
  range: 0 1
  aggregation: {snorm}
  defuzzifier: Centroid 60
  default: nan
  term: a Triangle 0 0.2 0.5
  term: b Trapezoid 0.3 0.45 0.6 0.8
  term: c Discrete 0.5 0 0.8 1 1 0.4
OutputVariable: w
  range: 0 1
  aggregation: Maximum
  defuzzifier: Centroid 60
  default: 0.5
  term: lo Ramp 1 0
  term: hi Ramp 0 1
RuleBlock:
  conjunction: {tnorm}
  disjunction: {snorm}
  implication: {tnorm}
  rule: if x is low and z is not big then y is a
  rule: if x is mid or z is somewhat small then y is b with 0.8
  rule: if x is very high and (z is big or x is seldom mid) then y is extremely c
  rule: if x is extremely mid then y is very a and w is hi
  rule: if y is b or y is not c then w is lo with 0.7
"""


def _reference(engine: Engine, row: dict[str, float]) -> dict[str, float]:
    spec = engine.spec
    activated: dict[str, list[tuple[int, float, str]]] = {o.name: [] for o in spec.outputs}
    outputs = {o.name: o for o in spec.outputs}

    def fold(out, k: int) -> float:
        total = 0.0
        for term, degree, _ in activated[out.name]:
            if term == k:
                total = (
                    total + degree
                    if out.aggregation is None
                    else float(SNORMS[out.aggregation](np.float64(total), np.float64(degree)))
                )
        return total

    def degree(node, block) -> float:
        if isinstance(node, Operator):
            left, right = degree(node.left, block), degree(node.right, block)
            op = TNORMS[block.conjunction] if node.op == "and" else SNORMS[block.disjunction]
            return float(op(np.float64(left), np.float64(right)))
        if node.variable in outputs:
            out = outputs[node.variable]
            value = fold(out, out.term_index(node.term))
        else:
            var = spec.variable(node.variable)
            value = float(
                var.terms[var.term_index(node.term)].membership(np.array([row[var.name]]))[0]
            )
        for hedge in reversed(node.hedges):
            value = float(HEDGES[hedge](np.float64(value)))
        return value

    for block in spec.rule_blocks:
        for rule in block.rules:
            strength = rule.weight * degree(rule.antecedent, block)
            if strength < 1e-6:
                continue
            for prop in rule.consequents:
                value = strength
                for hedge in reversed(prop.hedges):
                    value = float(HEDGES[hedge](np.float64(value)))
                out = outputs[prop.variable]
                activated[out.name].append((out.term_index(prop.term), value, block.implication))
    result = {}
    for out in spec.outputs:
        if not activated[out.name]:
            result[out.name] = out.default
            continue
        x = sample_points(out.minimum, out.maximum, out.resolution)
        y = np.zeros_like(x)
        for k, value, implication in activated[out.name]:
            implied = TNORMS[implication](out.terms[k].membership(x), np.float64(value))
            y = y + implied if out.aggregation is None else SNORMS[out.aggregation](y, implied)
        with np.errstate(invalid="ignore"):  # an all-zero set: NaN, as in fuzzylite
            result[out.name] = float((y @ x) / y.sum())
    return result


@pytest.mark.parametrize(
    ("tnorm", "snorm"), list(itertools.product(sorted(TNORMS), sorted(SNORMS)))
)
def test_engine_equals_row_by_row_interpreter(tnorm: str, snorm: str) -> None:
    engine = Engine(parse_fll(ENGINE.format(tnorm=tnorm, snorm=snorm), "semantics.fll"))
    rng = np.random.default_rng(zlib.crc32(f"{tnorm}{snorm}".encode()))
    rows = {"x": rng.uniform(0, 1, 40), "z": rng.uniform(0, 1, 40)}
    rows["x"][:3] = [0.0, 0.5, 1.0]
    result = engine.evaluate(rows)
    for i in range(40):
        expected = _reference(engine, {"x": rows["x"][i], "z": rows["z"][i]})
        for name, value in expected.items():
            got = result.outputs[name][i]
            assert got == pytest.approx(value, abs=1e-9, nan_ok=True), (name, i)
