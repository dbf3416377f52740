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
    """What the rules put into one output variable.

    With Maximum aggregation the strengths are merged per (term, implication) as they arrive —
    max over I(term, d_i) equals I(term, max d_i) for any T-norm I — and the 1e-6 firing
    threshold is applied once at the end (the maximum of thresholded values is the
    thresholded maximum). Other aggregations keep every (term, implication, strength) entry.
    """

    aggregation: str | None
    merged: dict[tuple[int, str], Array] = field(default_factory=dict)
    entries: list[tuple[int, str, Array]] = field(default_factory=list)
    accumulated: dict[int, Array] = field(default_factory=dict)

    @property
    def maximum(self) -> bool:
        return self.aggregation == "Maximum"

    def add(self, k: int, implication: str, strength: Array, owned: bool) -> None:
        if self.maximum:
            key = (k, implication)
            previous = self.merged.get(key)
            if previous is None:
                self.merged[key] = strength if owned else strength.copy()
            else:
                np.maximum(previous, strength, out=previous)
            return
        self.entries.append((k, implication, strength))
        previous = self.accumulated.get(k)
        if previous is None:
            self.accumulated[k] = strength
        elif self.aggregation is None:
            self.accumulated[k] = previous + strength
        else:
            self.accumulated[k] = SNORMS[self.aggregation](previous, strength)

    def term_degree(self, k: int) -> Array | None:
        """The aggregated activation of term k so far (what a chained rule reads)."""
        if not self.maximum:
            return self.accumulated.get(k)
        parts = [v for (term, _), v in self.merged.items() if term == k]
        if not parts:
            return None
        top = parts[0] if len(parts) == 1 else np.maximum.reduce(parts)
        return np.where(top >= TOLERANCE, top, 0.0)

    def finish(self) -> list[tuple[int, str, Array]]:
        """Final (term, implication, strength) list, below-threshold strengths zeroed."""
        if not self.maximum:
            return self.entries
        for v in self.merged.values():
            v[v < TOLERANCE] = 0.0
        return [(k, imp, v) for (k, imp), v in self.merged.items()]


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
        acts = {o.name: Activations(o.aggregation) for o in self.spec.outputs}
        rule_degrees: list[Array] = []
        for block in self.spec.rule_blocks:
            if not block.enabled:
                continue
            conj = TNORMS[block.conjunction] if block.conjunction else None
            disj = SNORMS[block.disjunction] if block.disjunction else None
            implication = block.implication or "Minimum"
            for rule in block.rules:
                if not rule.enabled:
                    continue
                degree = self._degree(rule.antecedent, columns, rows, memberships, acts, conj, disj)
                owned = degree is not memberships.get(_single_key(rule.antecedent))
                if rule.weight != 1.0:
                    degree, owned = rule.weight * degree, True
                fired: Array | None = None
                if keep_rule_degrees:
                    fired = degree >= TOLERANCE
                    rule_degrees.append(np.where(fired, degree, 0.0))
                for prop in rule.consequents:
                    out = self.outputs[prop.variable]
                    if not out.enabled or prop.term is None:
                        continue
                    target = acts[out.name]
                    strength = degree
                    if prop.hedges or not target.maximum:
                        if fired is None:
                            fired = degree >= TOLERANCE
                        strength = np.where(fired, apply_hedges(prop.hedges, degree), 0.0)
                    target.add(out.term_index(prop.term), implication, strength, owned)
                    owned = False
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
            y = acts[out.name].term_degree(out.term_index(prop.term))
            if y is None:
                y = np.zeros(rows)
        return apply_hedges(prop.hedges, y) if prop.hedges else y

    # -- defuzzification ---------------------------------------------------------------------

    def defuzzify(self, out: OutputVariable, act: Activations, rows: int) -> tuple[Array, Array]:
        """Crisp values (NaN where nothing fired) and the mask of rows where something fired."""
        entries = act.finish()
        fired = np.zeros(rows, dtype=bool)
        for _, _, strength in entries:
            fired |= strength > 0.0
        if not entries:
            return np.full(rows, np.nan), fired
        exact = self._exact_for(out, entries)
        if exact is not None:
            degrees = np.zeros((rows, len(out.terms)))
            for k, _, strength in entries:
                degrees[:, k] = strength
            value = exact.centroid(degrees)
        else:
            value = self._sampled(out, entries, rows)
        return np.where(fired, value, np.nan), fired

    def _exact_for(self, out: OutputVariable, entries) -> ExactCentroid | None:
        if out.resolution is not None:
            return None
        implications = {imp for _, imp, _ in entries}
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

    def _sampled(self, out: OutputVariable, entries, rows: int) -> Array:
        x, table = self._grid(out)
        defuzzify = sampled(out.defuzzifier)
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


def _single_key(node: Expression) -> tuple[str, str | None] | None:
    """The membership-cache key of a one-proposition antecedent without hedges."""
    if isinstance(node, Proposition) and not node.hedges:
        return (node.variable, node.term)
    return None
