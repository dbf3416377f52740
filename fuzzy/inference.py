"""Rule evaluation and aggregation on one chunk of rows (fuzzylite's "General" activation).

Rules run in order, so a rule whose antecedent names an output variable sees what earlier
rules contributed to it (chained engines). A rule fires on a row when weight × antecedent
degree ≥ 1e-6 (fuzzylite's tolerance); rows where it does not fire contribute nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fuzzy.defuzzifiers import TOLERANCE, sample_points, sampled
from fuzzy.exact import ExactCentroid, supports
from fuzzy.model import EngineSpec, Expression, Operator, OutputVariable, Proposition
from fuzzy.norms import HEDGES, SNORMS, TNORMS

Array = np.ndarray
SAMPLED_CELLS_PER_BLOCK = 1 << 21  # rows × samples evaluated at once when sampling


class EngineError(ValueError):
    """An engine that cannot run (e.g. an `and` without a conjunction operator)."""


def apply_hedges(hedges: tuple[str, ...], y: Array) -> Array:
    for hedge in reversed(hedges):
        y = HEDGES[hedge](y)
    return y


@dataclass
class Activations:
    """What the rules put into one output variable: (term index, implication, degrees)."""

    entries: list[tuple[int, str, Array]] = field(default_factory=list)
    accumulated: dict[int, Array] = field(default_factory=dict)


class Inference:
    """Compiled view of an EngineSpec that evaluates chunks of rows."""

    def __init__(self, spec: EngineSpec):
        self.spec = spec
        self.inputs = {v.name: v for v in spec.inputs}
        self.outputs = {v.name: v for v in spec.outputs}
        self._exact: dict[str, ExactCentroid | None] = {}
        self._grids: dict[str, tuple[Array, Array]] = {}
        self._check()

    def _check(self) -> None:
        for block in self.spec.rule_blocks:
            for rule in block.rules:
                self._check_expression(rule.antecedent, block.conjunction, block.disjunction)
            if block.implication is None and block.rules:
                raise EngineError("a Mamdani rule block needs an implication T-norm")
            for name in (block.conjunction, block.implication):
                if name is not None and name not in TNORMS:
                    raise EngineError(f"unknown T-norm {name!r} (known: {', '.join(TNORMS)})")
            if block.disjunction is not None and block.disjunction not in SNORMS:
                raise EngineError(f"unknown S-norm {block.disjunction!r}")
        for out in self.spec.outputs:
            if out.aggregation is not None and out.aggregation not in SNORMS:
                raise EngineError(f"output {out.name!r}: unknown aggregation {out.aggregation!r}")
            sampled(out.defuzzifier)
            if out.resolution is None and out.defuzzifier != "Centroid":
                raise EngineError(f"output {out.name!r}: only Centroid can be exact")

    def _check_expression(self, node: Expression, conj: str | None, disj: str | None) -> None:
        if isinstance(node, Operator):
            if (node.op == "and" and conj is None) or (node.op == "or" and disj is None):
                raise EngineError(f"rule uses {node.op!r} but its block sets no operator for it")
            self._check_expression(node.left, conj, disj)
            self._check_expression(node.right, conj, disj)

    # -- rules -------------------------------------------------------------------------------

    def activate(
        self, columns: dict[str, Array], rows: int, keep_rule_degrees: bool = False
    ) -> tuple[dict[str, Activations], list[Array]]:
        """Run every rule block on the chunk; returns per-output activations (+ rule degrees)."""
        memberships: dict[tuple[str, str], Array] = {}
        acts = {name: Activations() for name in self.outputs}
        rule_degrees: list[Array] = []
        for block in self.spec.rule_blocks:
            if not block.enabled:
                continue
            conj = TNORMS[block.conjunction] if block.conjunction else None
            disj = SNORMS[block.disjunction] if block.disjunction else None
            for rule in block.rules:
                if not rule.enabled:
                    continue
                degree = rule.weight * self._degree(
                    rule.antecedent, columns, rows, memberships, acts, conj, disj
                )
                fired = degree >= TOLERANCE
                degree = np.where(fired, degree, 0.0)
                if keep_rule_degrees:
                    rule_degrees.append(degree)
                if not fired.any():
                    continue
                for prop in rule.consequents:
                    out = self.outputs[prop.variable]
                    if not out.enabled or prop.term is None:
                        continue
                    strength = np.where(fired, apply_hedges(prop.hedges, degree), 0.0)
                    k = out.term_index(prop.term)
                    target = acts[out.name]
                    target.entries.append((k, block.implication or "Minimum", strength))
                    previous = target.accumulated.get(k)
                    if previous is None:
                        target.accumulated[k] = strength
                    elif out.aggregation is None:
                        target.accumulated[k] = previous + strength
                    else:
                        target.accumulated[k] = SNORMS[out.aggregation](previous, strength)
        return acts, rule_degrees

    def _degree(self, node, columns, rows, memberships, acts, conj, disj) -> Array:
        if isinstance(node, Operator):
            left = self._degree(node.left, columns, rows, memberships, acts, conj, disj)
            right = self._degree(node.right, columns, rows, memberships, acts, conj, disj)
            return conj(left, right) if node.op == "and" else disj(left, right)
        return self._proposition(node, columns, rows, memberships, acts)

    def _proposition(self, prop: Proposition, columns, rows, memberships, acts) -> Array:
        if prop.term is None:  # "any"
            return apply_hedges(prop.hedges, np.ones(rows))
        var = self.inputs.get(prop.variable)
        if var is not None:
            if not var.enabled:
                return np.zeros(rows)
            key = (prop.variable, prop.term)
            y = memberships.get(key)
            if y is None:
                term = var.terms[var.term_index(prop.term)]
                y = memberships[key] = term.membership(columns[prop.variable])
        else:
            out = self.outputs[prop.variable]
            if not out.enabled:
                return np.zeros(rows)
            y = acts[out.name].accumulated.get(out.term_index(prop.term))
            if y is None:
                y = np.zeros(rows)
        return apply_hedges(prop.hedges, y) if prop.hedges else y

    # -- defuzzification ---------------------------------------------------------------------

    def defuzzify(self, out: OutputVariable, act: Activations, rows: int) -> tuple[Array, Array]:
        """Crisp values (NaN where nothing fired) and the mask of rows where something fired."""
        fired = np.zeros(rows, dtype=bool)
        for _, _, strength in act.entries:
            fired |= strength > 0.0
        if not act.entries:
            return np.full(rows, np.nan), fired
        exact = self._exact_for(out, act)
        if exact is not None:
            degrees = np.zeros((rows, len(out.terms)))
            for k, y in act.accumulated.items():
                degrees[:, k] = y
            value = exact.centroid(degrees)
        else:
            value = self._sampled(out, act, rows)
        return np.where(fired, value, np.nan), fired

    def _exact_for(self, out: OutputVariable, act: Activations) -> ExactCentroid | None:
        if out.resolution is not None:
            return None
        implications = {imp for _, imp, _ in act.entries}
        if out.aggregation != "Maximum" or len(implications) != 1:
            raise EngineError(f"output {out.name!r}: exact centroid needs Maximum aggregation")
        implication = implications.pop()
        if out.name not in self._exact:
            if not supports(out.terms):
                raise EngineError(f"output {out.name!r}: exact centroid needs linear terms")
            self._exact[out.name] = ExactCentroid(out.terms, out.minimum, out.maximum, implication)
        return self._exact[out.name]

    def _grid(self, out: OutputVariable) -> tuple[Array, Array]:
        if out.name not in self._grids:
            x = sample_points(out.minimum, out.maximum, int(out.resolution or 100))
            table = np.stack([t.membership(x) for t in out.terms]) if out.terms else np.zeros(0)
            self._grids[out.name] = (x, table)
        return self._grids[out.name]

    def _sampled(self, out: OutputVariable, act: Activations, rows: int) -> Array:
        x, table = self._grid(out)
        defuzzify = sampled(out.defuzzifier)
        if out.aggregation == "Maximum":
            # max over I(term, d_i) == I(term, max d_i) for any T-norm I: merge per term first
            merged: dict[tuple[int, str], Array] = {}
            for k, imp, strength in act.entries:
                prev = merged.get((k, imp))
                merged[(k, imp)] = strength if prev is None else np.maximum(prev, strength)
            entries = [(k, imp, s) for (k, imp), s in merged.items()]
        else:
            entries = act.entries
        block = max(1, SAMPLED_CELLS_PER_BLOCK // len(x))
        result = np.empty(rows)
        for lo in range(0, rows, block):
            hi = min(rows, lo + block)
            aggregated = np.zeros((hi - lo, len(x)))
            for k, imp, strength in entries:
                implied = TNORMS[imp](table[k][None, :], strength[lo:hi, None])
                if out.aggregation is None:
                    aggregated += implied
                else:
                    aggregated = SNORMS[out.aggregation](aggregated, implied)
            result[lo:hi] = defuzzify(aggregated, x)
        return result
