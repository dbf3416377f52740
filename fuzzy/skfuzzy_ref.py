"""Build a scikit-fuzzy ControlSystemSimulation from an EngineSpec (the benchmark's anchor).

Only what scikit-fuzzy's control API can express: Triangle/Trapezoid terms, min/max
operators, one rule block, Centroid. Universes are sampled finely and contain every term
vertex, so scikit-fuzzy's piecewise-linear interpolation reproduces the terms exactly.
"""

from __future__ import annotations

import operator

import numpy as np

from fuzzy.model import EngineSpec, Expression, Operator, Variable

SAMPLES = 1001


class UnsupportedBySkfuzzy(ValueError):
    """The engine uses something scikit-fuzzy's control API cannot express."""


def _universe(var: Variable) -> np.ndarray:
    vertices = [v for t in var.terms for v in t.vertices() if var.minimum <= v <= var.maximum]
    return np.union1d(np.linspace(var.minimum, var.maximum, SAMPLES), vertices)


def _membership(skfuzzy, universe: np.ndarray, term) -> np.ndarray:
    if term.kind == "Triangle":
        return skfuzzy.trimf(universe, list(term.params))
    if term.kind == "Trapezoid":
        return skfuzzy.trapmf(universe, list(term.params))
    raise UnsupportedBySkfuzzy(f"term type {term.kind} (only Triangle and Trapezoid)")


def build_simulation(spec: EngineSpec):
    """A scikit-fuzzy ControlSystemSimulation equivalent to `spec` (clamp inputs yourself)."""
    import skfuzzy
    from skfuzzy import control as ctrl

    if len(spec.rule_blocks) != 1:
        raise UnsupportedBySkfuzzy("exactly one rule block")
    block = spec.rule_blocks[0]
    if (block.conjunction, block.disjunction, block.implication) != (
        "Minimum",
        "Maximum",
        "Minimum",
    ):
        raise UnsupportedBySkfuzzy("operators other than Minimum/Maximum/Minimum")
    variables = {}
    for var in spec.inputs:
        universe = _universe(var)
        antecedent = ctrl.Antecedent(universe, var.name)
        for term in var.terms:
            antecedent[term.name] = _membership(skfuzzy, universe, term)
        variables[var.name] = antecedent
    for out in spec.outputs:
        if out.defuzzifier != "Centroid" or out.aggregation != "Maximum":
            raise UnsupportedBySkfuzzy("outputs other than Maximum + Centroid")
        universe = _universe(out)
        consequent = ctrl.Consequent(universe, out.name, defuzzify_method="centroid")
        for term in out.terms:
            consequent[term.name] = _membership(skfuzzy, universe, term)
        variables[out.name] = consequent

    def expression(node: Expression):
        if isinstance(node, Operator):
            combine = operator.and_ if node.op == "and" else operator.or_
            return combine(expression(node.left), expression(node.right))
        if node.hedges or node.term is None:
            raise UnsupportedBySkfuzzy("hedges")
        return variables[node.variable][node.term]

    rules = []
    for rule in block.rules:
        if rule.weight != 1.0:
            raise UnsupportedBySkfuzzy("rule weights")
        consequents = [variables[p.variable][p.term] for p in rule.consequents]
        target = consequents[0] if len(consequents) == 1 else consequents
        rules.append(ctrl.Rule(expression(rule.antecedent), target))
    return ctrl.ControlSystemSimulation(ctrl.ControlSystem(rules), cache=False)


def evaluate(simulation, spec: EngineSpec, rows: dict[str, np.ndarray]) -> np.ndarray:
    """The first output for each row, clamping inputs into their ranges like the engine."""
    n = len(next(iter(rows.values())))
    first = spec.outputs[0].name
    result = np.empty(n)
    for i in range(n):
        simulation.inputs(
            {v.name: float(np.clip(rows[v.name][i], v.minimum, v.maximum)) for v in spec.inputs}
        )
        simulation.compute()
        result[i] = simulation.output[first]
    return result
