"""Importer for fuzzylite's FuzzyLite Language (.fll), Mamdani engines. Written from the format
description, not from fuzzylite's (GPL) sources. Errors name the line they come from."""

from __future__ import annotations

import math
from pathlib import Path

from fuzzy.model import EngineSpec, InputVariable, OutputVariable, RuleBlock
from fuzzy.norms import SNORMS, TNORMS
from fuzzy.rules import RuleError, parse_rule
from fuzzy.terms import Term, TermError

SAMPLED_DEFUZZIFIERS = ("Centroid", "Bisector", "MeanOfMaximum", "SmallestOfMaximum",
                        "LargestOfMaximum")  # fmt: skip
DEFAULT_RESOLUTION = 100  # fuzzylite's default when a defuzzifier line gives none


class FllError(ValueError):
    """A malformed .fll file; the message starts with `<source>:<line>:`."""


def _number(text: str) -> float:
    value = text.strip().lower()
    if value in ("nan", "-nan"):
        return math.nan
    if value in ("inf", "+inf", "infinity"):
        return math.inf
    if value in ("-inf", "-infinity"):
        return -math.inf
    return float(value)


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise ValueError(f"expected true or false, got {text.strip()!r}")
    return value == "true"


def _norm(text: str, known: dict) -> str | None:
    value = text.strip()
    if value in ("", "none"):
        return None
    if value not in known:
        raise ValueError(f"unknown operator {value!r} (known: {', '.join(known)})")
    return value


def parse_fll(text: str, source: str = "<string>") -> EngineSpec:
    spec = EngineSpec(name=Path(source).stem, inputs=[], outputs=[], rule_blocks=[])
    current: InputVariable | OutputVariable | RuleBlock | None = None
    pending_rules: list[tuple[int, RuleBlock, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue

        def fail(message: str, line_no: int = number, text: str = raw) -> FllError:
            return FllError(f"{source}:{line_no}: {message}: {text.strip()!r}")

        key, sep, value = line.partition(":")
        if not sep:
            raise fail("expected 'key: value'")
        key, value = key.strip(), value.strip()
        try:
            if key == "Engine":
                spec.name = value or spec.name
            elif key == "InputVariable":
                current = InputVariable(value, -math.inf, math.inf)
                spec.inputs.append(current)
            elif key == "OutputVariable":
                current = OutputVariable(value, -math.inf, math.inf, resolution=None)
                spec.outputs.append(current)
            elif key == "RuleBlock":
                current = RuleBlock(rules=[], name=value)
                spec.rule_blocks.append(current)
            elif key == "description":
                if current is None:
                    spec.description = value
            elif current is None:
                raise fail(f"{key!r} outside a variable or rule block")
            elif isinstance(current, RuleBlock):
                _rule_block_key(current, key, value, number, pending_rules, fail)
            else:
                _variable_key(current, key, value, fail)
        except (ValueError, TermError) as exc:
            if isinstance(exc, FllError):
                raise
            raise fail(str(exc)) from None
    for var in [*spec.inputs, *spec.outputs]:
        if not math.isfinite(var.minimum) or not math.isfinite(var.maximum):
            raise FllError(f"{source}: variable {var.name!r} has no finite 'range'")
    for out in spec.outputs:
        if out.resolution is None:
            out.resolution = DEFAULT_RESOLUTION
    for number, block, rule_text in pending_rules:
        try:
            block.rules.append(parse_rule(rule_text, spec))
        except RuleError as exc:
            raise FllError(f"{source}:{number}: {exc}") from None
    if not spec.inputs or not spec.outputs:
        raise FllError(f"{source}: no input or no output variable")
    return spec


def _variable_key(var, key: str, value: str, fail) -> None:
    if key == "enabled":
        var.enabled = _boolean(value)
    elif key == "range":
        parts = value.split()
        if len(parts) != 2:
            raise fail("range takes two numbers")
        var.minimum, var.maximum = _number(parts[0]), _number(parts[1])
    elif key == "lock-range":
        var.lock_range = _boolean(value)
    elif key == "term":
        parts = value.split()
        if len(parts) < 2:
            raise fail("term takes a name, a type and parameters")
        var.terms.append(Term.create(parts[0], parts[1], [_number(p) for p in parts[2:]]))
    elif isinstance(var, OutputVariable):
        _output_key(var, key, value, fail)
    else:
        raise fail(f"unknown input variable property {key!r}")


def _output_key(var: OutputVariable, key: str, value: str, fail) -> None:
    if key == "aggregation" or key == "accumulation":
        var.aggregation = _norm(value, SNORMS)
    elif key == "defuzzifier":
        parts = value.split()
        if not parts or parts[0] == "none":
            raise fail("a Mamdani output needs a defuzzifier")
        if parts[0] not in SAMPLED_DEFUZZIFIERS:
            raise fail(f"unsupported defuzzifier {parts[0]!r} (Mamdani engines only)")
        var.defuzzifier = parts[0]
        var.resolution = int(parts[1]) if len(parts) > 1 else DEFAULT_RESOLUTION
    elif key == "default":
        var.default = _number(value)
    elif key in ("lock-previous", "lock-valid"):
        var.lock_previous = _boolean(value)
    else:
        raise fail(f"unknown output variable property {key!r}")


def _rule_block_key(block: RuleBlock, key: str, value: str, number: int, pending, fail) -> None:
    if key == "enabled":
        block.enabled = _boolean(value)
    elif key == "conjunction":
        block.conjunction = _norm(value, TNORMS)
    elif key == "disjunction":
        block.disjunction = _norm(value, SNORMS)
    elif key == "implication" or (key == "activation" and value in ("Minimum", "AlgebraicProduct")):
        block.implication = _norm(value, TNORMS)  # fuzzylite 5 called the implication "activation"
    elif key == "activation":
        if value not in ("General", "none", ""):
            raise fail(f"unsupported activation method {value!r} (only General)")
    elif key == "rule":
        pending.append((number, block, value))
    else:
        raise fail(f"unknown rule block property {key!r}")


def load_fll(path: str | Path) -> EngineSpec:
    path = Path(path)
    return parse_fll(path.read_text(encoding="utf-8"), str(path))
