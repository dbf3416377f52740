"""Malformed engine files fail with the line (or place) at fault; valid details parse right."""

from __future__ import annotations

import numpy as np
import pytest

from fuzzy.engine import Engine
from fuzzy.fis import FisError, parse_fis
from fuzzy.fll import FllError, parse_fll
from fuzzy.native import NativeFormatError, parse_native

FLL = """Engine: mini
InputVariable: x
  enabled: true
  range: 0.000 10.000
  term: low Triangle 0 0 10
  term: high Triangle 0 10 10 0.5
OutputVariable: y
  range: 0.000 1.000
  aggregation: Maximum
  defuzzifier: Centroid 100
  default: 0.25
  term: a Ramp 1 0
  term: b Ramp 0 1
RuleBlock:
  conjunction: Minimum
  disjunction: Maximum
  implication: Minimum
  rule: if x is low then y is a
  rule: if x is very high then y is b with 0.5
"""


def test_fll_parses_heights_hedges_weights_and_defaults() -> None:
    spec = parse_fll(FLL, "mini.fll")
    assert spec.inputs[0].terms[1].height == 0.5
    assert spec.outputs[0].default == 0.25
    assert spec.rule_blocks[0].rules[1].weight == 0.5
    assert spec.rule_blocks[0].rules[1].antecedent.hedges == ("very",)
    value = Engine(spec).evaluate({"x": np.array([2.0])}).outputs["y"][0]
    assert 0.0 < value < 0.5


@pytest.mark.parametrize(
    ("line", "replacement", "message"),
    [
        ("  range: 0.000 10.000", "  range: 0.000", "mini.fll:4: range takes two numbers"),
        ("  term: low Triangle 0 0 10", "  term: low Trinagle 0 0 10", "mini.fll:5:"),
        ("  term: low Triangle 0 0 10", "  term: low Triangle 0 0", "mini.fll:5:"),
        ("  defuzzifier: Centroid 100", "  defuzzifier: WeightedAverage", "mini.fll:10:"),
        ("  rule: if x is low then y is a", "  rule: if x is lo then y is a", "mini.fll:18:"),
        ("  rule: if x is low then y is a", "  rule: if x low then y is a", "mini.fll:18:"),
        ("  enabled: true", "  enabled: maybe", "mini.fll:3:"),
        ("  implication: Minimum", "  implication: Minimun", "mini.fll"),
        ("  aggregation: Maximum", "  aggregation", "mini.fll:9: expected 'key: value'"),
    ],
)
def test_fll_errors_name_the_line(line: str, replacement: str, message: str) -> None:
    broken = FLL.replace(line, replacement, 1)
    with pytest.raises((FllError, ValueError), match=message.replace("(", r"\(")):
        Engine(parse_fll(broken, "mini.fll"))


FIS = """[System]
Name='mini'
Type='mamdani'
NumInputs=1
NumOutputs=1
AndMethod='min'
OrMethod='max'
ImpMethod='prod'
AggMethod='max'
DefuzzMethod='som'

[Input1]
Name='x'
Range=[0 10]
MF1='low':'gaussmf',[2 0]
MF2='high':'gbellmf',[2 3 10]

[Output1]
Name='y'
Range=[0 1]
MF1='a':'trimf',[0 0.25 0.5]
MF2='b':'trimf',[0.5 0.75 1]

[Rules]
1.05 , 1 (1) : 1
-2.2 , 2 (0.5) : 1
"""


def test_fis_maps_parameter_orders_methods_and_hedge_codes() -> None:
    spec = parse_fis(FIS, "mini.fis")
    low, high = spec.inputs[0].terms
    assert (low.kind, low.params) == ("Gaussian", (0.0, 2.0))  # gaussmf [sigma c]
    assert (high.kind, high.params) == ("Bell", (10.0, 2.0, 3.0))  # gbellmf [a b c]
    assert spec.rule_blocks[0].implication == "AlgebraicProduct"
    assert spec.outputs[0].defuzzifier == "SmallestOfMaximum"
    rules = [r.text for r in spec.rule_blocks[0].rules]
    assert rules == [
        "if x is somewhat low then y is a",
        "if x is not very high then y is b with 0.5",
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("Range=[0 10]", "Range=[0]", "mini.fis:14:"),
        ("MF2='high':'gbellmf',[2 3 10]", "MF2='high':'wibblemf',[2 3 10]", "mini.fis:16:"),
        ("MF2='high':'gbellmf',[2 3 10]", "MF2='high' 'gbellmf' 2 3 10", "mini.fis:16:"),
        ("1.05 , 1 (1) : 1", "1.05 1 (1) : 1", "mini.fis:25:"),
        ("1.05 , 1 (1) : 1", "7 , 1 (1) : 1", "mini.fis:25: term 7 out of range"),
        ("1.05 , 1 (1) : 1", "1.07 , 1 (1) : 1", "mini.fis:25: no hedge"),
        ("1.05 , 1 (1) : 1", "1 2 , 1 (1) : 1", "mini.fis:25: expected 1 input"),
        ("AndMethod='min'", "AndMethod='minimax'", "mini.fis:6: unknown AndMethod"),
        ("Type='mamdani'", "Type='sugeno'", "mini.fis:3: only mamdani"),
        ("[System]", "Name='x'\n[System]", "mini.fis:1: line outside any section"),
    ],
)
def test_fis_errors_name_the_line(old: str, new: str, message: str) -> None:
    with pytest.raises(FisError, match=message):
        parse_fis(FIS.replace(old, new, 1), "mini.fis")


NATIVE = """
[[input]]
name = "x"
range = [0, 10]
terms = [{ name = "low", type = "Triangle", params = [0, 0, 10] }]

[[output]]
name = "y"
range = [0, 1]
terms = [{ name = "a", type = "Triangle", params = [0, 0.5, 1] }]

[[rule_block]]
rules = ["if x is low then y is a"]
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("range = [0, 10]", "range = [10, 0]", r"\[\[input\]\] #1 \(x\): range minimum"),
        ('type = "Triangle", params = [0, 0, 10]', 'type = "Tri", params = [0]', "unknown type"),
        ('"if x is low then y is a"', '"if x is low then z is a"', "rule #1: unknown output"),
        ('name = "y"', 'name = "y"\nresolution = -3', "resolution must be"),
        ("[[rule_block]]", "[[rule_block]\n", "mini.toml"),
    ],
)
def test_native_errors_name_the_place(old: str, new: str, message: str) -> None:
    with pytest.raises(NativeFormatError, match=message):
        parse_native(NATIVE.replace(old, new, 1), "mini.toml")


def test_native_minimal_engine_runs_with_default_resolution() -> None:
    engine = Engine(parse_native(NATIVE, "mini.toml"))
    assert engine.spec.outputs[0].resolution == 1000
    assert engine.evaluate({"x": np.array([5.0])}).outputs["y"][0] == pytest.approx(0.5)
