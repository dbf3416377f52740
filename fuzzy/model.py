"""The engine as plain data: variables, terms, rules. Parsers build these; `engine.py` runs them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fuzzy.terms import Term


@dataclass
class Variable:
    name: str
    minimum: float
    maximum: float
    terms: list[Term] = field(default_factory=list)
    enabled: bool = True
    lock_range: bool = False
    unit: str = ""

    def term_index(self, name: str) -> int:
        for i, term in enumerate(self.terms):
            if term.name == name:
                return i
        known = ", ".join(t.name for t in self.terms)
        raise KeyError(f"variable {self.name!r} has no term {name!r} (terms: {known})")


@dataclass
class InputVariable(Variable):
    optimal: tuple[float, float] | None = None


@dataclass(frozen=True)
class LabelBand:
    """`label` applies to scores below `below` (the last band has below = +inf)."""

    label: str
    below: float = math.inf


@dataclass
class OutputVariable(Variable):
    aggregation: str | None = "Maximum"
    defuzzifier: str = "Centroid"
    resolution: int | None = 100  # None: exact (analytic) where the defuzzifier supports it
    default: float = math.nan
    lock_previous: bool = False
    labels: list[LabelBand] = field(default_factory=list)
    label_column: str | None = None

    def label_for(self, value: float) -> str | None:
        if not self.labels or math.isnan(value):
            return None
        for band in self.labels:
            if value < band.below:
                return band.label
        return self.labels[-1].label


@dataclass(frozen=True)
class Proposition:
    variable: str
    term: str | None  # None with the hedge "any"
    hedges: tuple[str, ...] = ()

    def text(self) -> str:
        words = [self.variable, "is", *self.hedges]
        if self.term is not None:
            words.append(self.term)
        return " ".join(words)


@dataclass(frozen=True)
class Operator:
    op: str  # "and" | "or"
    left: Expression
    right: Expression


Expression = Proposition | Operator


@dataclass(frozen=True)
class Rule:
    antecedent: Expression
    consequents: tuple[Proposition, ...]
    weight: float = 1.0
    text: str = ""
    enabled: bool = True


@dataclass
class RuleBlock:
    rules: list[Rule]
    conjunction: str | None = "Minimum"
    disjunction: str | None = "Maximum"
    implication: str | None = "Minimum"
    activation: str = "General"
    enabled: bool = True
    name: str = ""


@dataclass
class EngineSpec:
    name: str
    inputs: list[InputVariable]
    outputs: list[OutputVariable]
    rule_blocks: list[RuleBlock]
    description: str = ""
    warnings: list[str] = field(default_factory=list)  # what an importer had to drop

    def variables_all(self) -> list[Variable]:
        return [*self.inputs, *self.outputs]

    def variable(self, name: str) -> Variable:
        for var in self.variables_all():
            if var.name == name:
                return var
        raise KeyError(f"unknown variable {name!r}")
