"""Parser for fuzzylite's rule text, shared by the FLL and native formats.

    if <antecedent> then <var> is [hedges] <term> [and ...] [with <weight>]

The antecedent combines propositions `<var> is [hedges] <term>` (or `<var> is [hedges] any`)
with `and`, `or` and parentheses; `and` binds tighter than `or`, both associate to the left.
"""

from __future__ import annotations

import re

from fuzzy.model import EngineSpec, Expression, Operator, Proposition, Rule
from fuzzy.norms import HEDGES


class RuleError(ValueError):
    """A rule that does not parse or names unknown variables/terms."""


_TOKEN = re.compile(r"\(|\)|[^\s()]+")


class _Parser:
    def __init__(self, text: str, spec: EngineSpec):
        self.text = text
        self.spec = spec
        self.tokens = _TOKEN.findall(text)
        self.pos = 0

    def fail(self, message: str) -> RuleError:
        return RuleError(f"{message} in rule {self.text.strip()!r}")

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str) -> str:
        """Consume the keyword `expected`."""
        token = self.take_any(repr(expected))
        if token != expected:
            raise self.fail(f"expected {expected!r} but found {token!r}")
        return token

    def take_any(self, what: str) -> str:
        token = self.peek()
        if token is None:
            raise self.fail(f"unexpected end, expected {what}")
        self.pos += 1
        return token

    def rule(self) -> Rule:
        self.take("if")
        antecedent = self.disjunction()
        self.take("then")
        consequents = [self.proposition(output=True)]
        while self.peek() == "and":
            self.take("and")
            consequents.append(self.proposition(output=True))
        weight = 1.0
        if self.peek() == "with":
            self.take("with")
            raw = self.take_any("a weight")
            try:
                weight = float(raw)
            except ValueError:
                raise self.fail(f"weight {raw!r} is not a number") from None
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r}")
        return Rule(
            antecedent, tuple(consequents), weight, rule_text(antecedent, consequents, weight)
        )

    def disjunction(self) -> Expression:
        node = self.conjunction()
        while self.peek() == "or":
            self.take("or")
            node = Operator("or", node, self.conjunction())
        return node

    def conjunction(self) -> Expression:
        node = self.factor()
        while self.peek() == "and":
            self.take("and")
            node = Operator("and", node, self.factor())
        return node

    def factor(self) -> Expression:
        if self.peek() == "(":
            self.take("(")
            node = self.disjunction()
            self.take(")")
            return node
        return self.proposition(output=False)

    def proposition(self, output: bool) -> Proposition:
        name = self.take_any("a variable")
        names = [v.name for v in (self.spec.outputs if output else self.spec.variables_all())]
        if name not in names:
            kind = "output variable" if output else "variable"
            raise self.fail(f"unknown {kind} {name!r} (known: {', '.join(names)})")
        self.take("is")
        hedges: list[str] = []
        while self.peek() in HEDGES:
            hedges.append(self.take_any("a hedge"))
            if hedges[-1] == "any":
                return Proposition(name, None, tuple(hedges))
        term = self.take_any("a term")
        variable = self.spec.variable(name)
        if term not in [t.name for t in variable.terms]:
            known = ", ".join(t.name for t in variable.terms)
            raise self.fail(f"variable {name!r} has no term {term!r} (terms: {known})")
        return Proposition(name, term, tuple(hedges))


def parse_rule(text: str, spec: EngineSpec) -> Rule:
    """Parse one rule against the variables of `spec` (which must already hold them)."""
    return _Parser(text, spec).rule()


def expression_text(node: Expression, parent: str | None = None) -> str:
    if isinstance(node, Proposition):
        return node.text()
    text = f"{expression_text(node.left, node.op)} {node.op} {expression_text(node.right, node.op)}"
    return f"({text})" if parent is not None and parent != node.op else text


def rule_text(antecedent: Expression, consequents, weight: float) -> str:
    """Canonical text of a rule (the same whatever file format it came from)."""
    then = " and ".join(p.text() for p in consequents)
    text = f"if {expression_text(antecedent)} then {then}"
    return text if weight == 1.0 else f"{text} with {weight:g}"
