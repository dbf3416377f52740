"""Importer for MATLAB Fuzzy Logic Toolbox files (.fis), Mamdani engines.

MATLAB names and parameter orders are mapped to fuzzylite's terms (e.g. gaussmf [sigma c] is
Gaussian(c, sigma)); rule hedges use fuzzylite's FIS codes (term index + .01 seldom, .05
somewhat, .2 very, .3 extremely, .4 very very, .99 any; a negative index means `not`).
The FIS format has no place for the defuzzifier's resolution: see `FIS_RESOLUTION`.
Errors name the line they come from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from fuzzy.model import EngineSpec, InputVariable, OutputVariable, Proposition, Rule, RuleBlock
from fuzzy.model import Operator as Op
from fuzzy.rules import rule_text
from fuzzy.terms import Term, TermError

TNORM_NAMES = {
    "min": "Minimum",
    "prod": "AlgebraicProduct",
    "bounded_difference": "BoundedDifference",
    "drastic_product": "DrasticProduct",
    "einstein_product": "EinsteinProduct",
    "hamacher_product": "HamacherProduct",
    "nilpotent_minimum": "NilpotentMinimum",
}
SNORM_NAMES = {
    "max": "Maximum",
    "probor": "AlgebraicSum",
    "sum": "UnboundedSum",
    "bounded_sum": "BoundedSum",
    "normalized_sum": "NormalizedSum",
    "drastic_sum": "DrasticSum",
    "einstein_sum": "EinsteinSum",
    "hamacher_sum": "HamacherSum",
    "nilpotent_maximum": "NilpotentMaximum",
}
DEFUZZIFIER_NAMES = {
    "centroid": "Centroid",
    "bisector": "Bisector",
    "mom": "MeanOfMaximum",
    "som": "SmallestOfMaximum",
    "lom": "LargestOfMaximum",
}
# Samples per defuzzification when the file does not say (it cannot): the resolutions that
# fuzzylite's own FLL versions of these engines declare for each family of defuzzifier.
FIS_RESOLUTION = {"Centroid": 200, "Bisector": 200, "MeanOfMaximum": 500,
                  "SmallestOfMaximum": 500, "LargestOfMaximum": 500}  # fmt: skip
# MATLAB name -> (fuzzylite type, order of MATLAB's parameters in fuzzylite's order)
TERM_NAMES: dict[str, tuple[str, tuple[int, ...] | None]] = {
    "trimf": ("Triangle", None),
    "trapmf": ("Trapezoid", None),
    "rectmf": ("Rectangle", None),
    "rampmf": ("Ramp", None),
    "discretemf": ("Discrete", None),
    "binarymf": ("Binary", None),
    "constant": ("Constant", None),
    "gaussmf": ("Gaussian", (1, 0)),
    "gauss2mf": ("GaussianProduct", (1, 0, 3, 2)),
    "gbellmf": ("Bell", (2, 0, 1)),
    "sigmf": ("Sigmoid", (1, 0)),
    "dsigmf": ("SigmoidDifference", (1, 0, 2, 3)),
    "psigmf": ("SigmoidProduct", (1, 0, 2, 3)),
    "smf": ("SShape", None),
    "zmf": ("ZShape", None),
    "pimf": ("PiShape", None),
    "cosinemf": ("Cosine", None),
    "spikemf": ("Spike", None),
    "concavemf": ("Concave", None),
}
HEDGE_CODES = {1: ("seldom",), 5: ("somewhat",), 20: ("very",), 30: ("extremely",),
               40: ("very", "very"), 99: ("any",)}  # fmt: skip
_TERM = re.compile(r"^'?([^':]+)'?\s*:\s*'?([A-Za-z0-9_]+)'?\s*,\s*\[([^\]]*)\]$")


class FisError(ValueError):
    """A malformed .fis file; the message starts with `<source>:<line>:`."""


@dataclass
class _Section:
    title: str
    line: int
    items: list[tuple[int, str]] = field(default_factory=list)


def _sections(text: str, source: str) -> list[_Section]:
    sections: list[_Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#%":
            continue
        if line.startswith("[") and line.endswith("]") and "=" not in line:
            sections.append(_Section(line[1:-1], number))
        elif not sections:
            raise FisError(f"{source}:{number}: line outside any section: {line!r}")
        else:
            sections[-1].items.append((number, line))
    return sections


def _key_values(section: _Section, source: str):
    for number, line in section.items:
        key, sep, value = line.partition("=")
        if not sep:
            raise FisError(f"{source}:{number}: expected key=value: {line!r}")
        yield number, key.strip(), value.strip().strip("'")


def _method(names: dict[str, str], value: str, number: int, source: str, what: str) -> str:
    if value in names:
        return names[value]
    if value in names.values():  # fuzzylite class names are accepted as they are
        return value
    raise FisError(f"{source}:{number}: unknown {what} {value!r} (known: {', '.join(names)})")


def _variable(section: _Section, source: str, output: bool):
    var = OutputVariable("", -math.inf, math.inf) if output else InputVariable("", 0, 0)
    for number, key, value in _key_values(section, source):
        try:
            if key == "Name":
                var.name = value
            elif key == "Range":
                parts = value.strip("[]").split()
                var.minimum, var.maximum = float(parts[0]), float(parts[1])
            elif key.startswith("MF"):
                var.terms.append(_term(value))
            elif key == "Enabled":
                var.enabled = float(value) == 1.0
            elif key == "LockRange":
                var.lock_range = float(value) == 1.0
            elif output and key == "Default":
                var.default = float(value)
            elif output and key == "LockPrevious":
                var.lock_previous = float(value) == 1.0
            elif key != "NumMFs":
                raise ValueError(f"unknown key {key!r}")
        except (ValueError, IndexError, TermError) as exc:
            raise FisError(f"{source}:{number}: {exc}: {key}={value}") from None
    if not var.name:
        raise FisError(f"{source}:{section.line}: [{section.title}] has no Name")
    return var


def _term(value: str) -> Term:
    match = _TERM.match(value.strip())
    if not match:
        raise ValueError("expected 'name':'type',[parameters]")
    name, kind, raw = match.groups()
    if kind not in TERM_NAMES:
        raise ValueError(f"unknown membership function {kind!r}")
    fl_type, order = TERM_NAMES[kind]
    params = [float(p) for p in raw.replace(",", " ").split()]
    if order is not None and len(params) >= len(order):
        params = [params[i] for i in order] + params[len(order) :]
    return Term.create(name.strip(), fl_type, params)


def _proposition(code: float, var, number: int, source: str) -> Proposition:
    if not math.isfinite(code):
        raise FisError(f"{source}:{number}: rule code must be a finite number, got {code}")
    index = math.floor(abs(code))
    hedge_code = round((abs(code) - index) * 100)
    if hedge_code not in (0, *HEDGE_CODES):
        raise FisError(f"{source}:{number}: no hedge has the FIS code {code}")
    hedges = HEDGE_CODES.get(hedge_code, ())
    if code < 0:
        hedges = ("not", *hedges)
    if hedges and hedges[-1] == "any":
        return Proposition(var.name, None, hedges)
    if not 1 <= index <= len(var.terms):
        raise FisError(f"{source}:{number}: term {index} out of range for {var.name!r}")
    return Proposition(var.name, var.terms[index - 1].name, hedges)


def _rules(section: _Section, spec: EngineSpec, block: RuleBlock, source: str) -> None:
    pattern = re.compile(r"^([^,]*),([^(]*)\(([^)]*)\)\s*:\s*(\d+)\s*$")
    for number, line in section.items:
        match = pattern.match(line)
        if not match:
            raise FisError(f"{source}:{number}: expected 'inputs , outputs (weight) : 1|2'")
        try:
            ins = [float(v) for v in match.group(1).split()]
            outs = [float(v) for v in match.group(2).split()]
            weight = float(match.group(3))
        except ValueError:
            raise FisError(f"{source}:{number}: rule codes must be numbers: {line!r}") from None
        if len(ins) != len(spec.inputs) or len(outs) != len(spec.outputs):
            raise FisError(
                f"{source}:{number}: expected {len(spec.inputs)} input and "
                f"{len(spec.outputs)} output codes: {line!r}"
            )
        connector = {"1": "and", "2": "or"}.get(match.group(4))
        if connector is None:
            raise FisError(f"{source}:{number}: connector must be 1 (and) or 2 (or)")
        props = [
            _proposition(c, v, number, source)
            for c, v in zip(ins, spec.inputs, strict=False)
            if c != 0
        ]
        if not props:
            # fuzzylite exports rules on output variables (chained engines) with an empty
            # antecedent; the FIS format cannot express them, so, like fuzzylite, skip them
            spec.warnings.append(f"{source}:{number}: rule without antecedent skipped: {line}")
            continue
        antecedent = props[0]
        for prop in props[1:]:
            antecedent = Op(connector, antecedent, prop)
        consequents = tuple(
            _proposition(c, v, number, source)
            for c, v in zip(outs, spec.outputs, strict=False)
            if c != 0
        )
        text = rule_text(antecedent, consequents, weight)
        block.rules.append(Rule(antecedent, consequents, weight, text))


def parse_fis(text: str, source: str = "<string>") -> EngineSpec:
    spec = EngineSpec(name=Path(source).stem, inputs=[], outputs=[], rule_blocks=[])
    block = RuleBlock(rules=[])
    methods = {
        "AndMethod": "min",
        "OrMethod": "max",
        "ImpMethod": "min",
        "AggMethod": "max",
        "DefuzzMethod": "centroid",
    }  # MATLAB's defaults
    method_lines: dict[str, int] = {}
    sections = _sections(text, source)
    rule_sections = []
    for section in sections:
        if section.title == "System":
            for number, key, value in _key_values(section, source):
                if key == "Name":
                    spec.name = value
                elif key == "Type" and value.lower() != "mamdani":
                    raise FisError(f"{source}:{number}: only mamdani engines, not {value!r}")
                elif key.endswith("Method"):
                    methods[key], method_lines[key] = value, number
        elif section.title.startswith("Input"):
            spec.inputs.append(_variable(section, source, output=False))
        elif section.title.startswith("Output"):
            spec.outputs.append(_variable(section, source, output=True))
        elif section.title == "Rules":
            rule_sections.append(section)
        else:
            raise FisError(f"{source}:{section.line}: unknown section [{section.title}]")
    if not spec.inputs or not spec.outputs:
        raise FisError(f"{source}: no [Input] or no [Output] section")

    def method(key: str, names: dict[str, str], what: str) -> str:
        return _method(names, methods.get(key, ""), method_lines.get(key, 0), source, what)

    block.conjunction = method("AndMethod", TNORM_NAMES, "AndMethod")
    block.disjunction = method("OrMethod", SNORM_NAMES, "OrMethod")
    block.implication = method("ImpMethod", TNORM_NAMES, "ImpMethod")
    aggregation = method("AggMethod", SNORM_NAMES, "AggMethod")
    defuzzifier = method("DefuzzMethod", DEFUZZIFIER_NAMES, "DefuzzMethod")
    for out in spec.outputs:
        out.aggregation, out.defuzzifier = aggregation, defuzzifier
        out.resolution = FIS_RESOLUTION[defuzzifier]
    for section in rule_sections:
        _rules(section, spec, block, source)
    spec.rule_blocks.append(block)
    return spec


def load_fis(path: str | Path) -> EngineSpec:
    path = Path(path)
    return parse_fis(path.read_text(encoding="utf-8"), str(path))
