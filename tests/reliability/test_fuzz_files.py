"""Fuzz the file formats people hand-edit: fuzzylite .fll and MATLAB .fis engines (fuzzy/)
and the edge agent's TOML config (edge_agent/config.py). Any text ends in a usable result or
in the module's own error with a message; never in another exception."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent import config as cfg
from fuzzy.engine import Engine
from fuzzy.fis import FisError, parse_fis
from fuzzy.fll import FllError, parse_fll
from tests.reliability.fuzzcount import FUZZ, tried

TIPPER_FLL = """Engine: tipper
InputVariable: service
  enabled: true
  range: 0.000 10.000
  term: poor Gaussian 0.000 1.500
  term: good Gaussian 5.000 1.500
  term: excellent Gaussian 10.000 1.500
InputVariable: food
  enabled: true
  range: 0.000 10.000
  term: rancid Trapezoid 0.000 0.000 1.000 3.000
  term: delicious Trapezoid 7.000 9.000 10.000 10.000
OutputVariable: tip
  enabled: true
  range: 0.000 30.000
  aggregation: Maximum
  defuzzifier: Centroid 200
  default: nan
  term: cheap Triangle 0.000 5.000 10.000
  term: average Triangle 10.000 15.000 20.000
  term: generous Triangle 20.000 25.000 30.000
RuleBlock: mamdani
  enabled: true
  conjunction: Minimum
  disjunction: Maximum
  implication: Minimum
  activation: General
  rule: if service is poor or food is rancid then tip is cheap
  rule: if service is good then tip is average
  rule: if service is excellent or food is delicious then tip is generous
"""

TIPPER_FIS = """[System]
Name='tipper'
Type='mamdani'
Version=2.0
NumInputs=2
NumOutputs=1
NumRules=3
AndMethod='min'
OrMethod='max'
ImpMethod='min'
AggMethod='max'
DefuzzMethod='centroid'

[Input1]
Name='service'
Range=[0 10]
NumMFs=3
MF1='poor':'gaussmf',[1.5 0]
MF2='good':'gaussmf',[1.5 5]
MF3='excellent':'gaussmf',[1.5 10]

[Input2]
Name='food'
Range=[0 10]
NumMFs=2
MF1='rancid':'trapmf',[0 0 1 3]
MF2='delicious':'trapmf',[7 9 10 10]

[Output1]
Name='tip'
Range=[0 30]
NumMFs=3
MF1='cheap':'trimf',[0 5 10]
MF2='average':'trimf',[10 15 20]
MF3='generous':'trimf',[20 25 30]

[Rules]
1 1, 1 (1) : 2
2 0, 2 (1) : 1
3 2, 3 (1) : 2
"""

CONFIG = Path(__file__).resolve().parents[2] / "edge_agent" / "edge-agent.example.toml"


def _mutations(seed: str) -> st.SearchStrategy[str]:
    """The seed file with lines deleted, duplicated, swapped or with tokens replaced."""
    lines = seed.splitlines()
    token = st.sampled_from(["", "nan", "inf", "-1", "1e309", "0", "'", "[", "]", ":", ",",
                             "=", "#", "if", "then", "is", "not", "very", "x" * 300, "é",
                             "\x00", "99", "-0.5", "(", ")"])  # fmt: skip

    def mutate(
        edits: list[tuple[int, int, str, int]],
    ) -> str:
        out = list(lines)
        for op, where, tok, pos in edits:
            if not out:
                break
            i = where % len(out)
            if op == 0:
                del out[i]
            elif op == 1:
                out.insert(i, out[i])
            elif op == 2:
                out[i], out[-1 - i] = out[-1 - i], out[i]
            else:
                words = out[i].split(" ")
                words[pos % len(words)] = tok
                out[i] = " ".join(words)
        return "\n".join(out)

    edit = st.tuples(st.integers(0, 3), st.integers(0, 10_000), token, st.integers(0, 50))
    return st.lists(edit, min_size=1, max_size=6).map(mutate)


def _build(parse, error: type[Exception], text: str, target: str) -> None:
    tried(target)
    try:
        spec = parse(text, "fuzz")
    except error as exc:
        assert str(exc).startswith("fuzz"), str(exc)
        return
    try:
        engine = Engine(spec)
    except ValueError as exc:  # EngineError, TermError...: all ValueErrors with a message
        assert type(exc).__module__.startswith("fuzzy."), repr(exc)
        assert str(exc)
        return
    assert engine is not None


def test_seeds_are_valid_engines() -> None:
    for parse in (parse_fll, parse_fis):
        spec = parse(TIPPER_FLL if parse is parse_fll else TIPPER_FIS, "seed")
        Engine(spec)


@FUZZ
@given(_mutations(TIPPER_FLL))
def test_fll_mutated(text: str) -> None:
    _build(parse_fll, FllError, text, "fuzzy.parse_fll")


@FUZZ
@given(st.text(max_size=400))
def test_fll_any_text(text: str) -> None:
    _build(parse_fll, FllError, text, "fuzzy.parse_fll")


@FUZZ
@given(_mutations(TIPPER_FIS))
def test_fis_mutated(text: str) -> None:
    _build(parse_fis, FisError, text, "fuzzy.parse_fis")


@FUZZ
@given(st.text(max_size=400))
def test_fis_any_text(text: str) -> None:
    _build(parse_fis, FisError, text, "fuzzy.parse_fis")


def _load_config(path: Path) -> None:
    tried("edge_agent.config")
    try:
        config = cfg.validate(cfg.load(path))
    except cfg.ConfigError as exc:
        assert str(exc)
        return
    assert _durations_finite(config), config


def _durations_finite(config: cfg.Config) -> bool:
    sections = cfg.as_dict(config).values()
    return all(math.isfinite(v) for s in sections for v in s.values() if isinstance(v, float))


@FUZZ
@given(_mutations(CONFIG.read_text()))
def test_config_mutated(text: str) -> None:
    path = Path("/tmp") / f"fuzz-config-{id(text)}.toml"
    try:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _load_config(path)
    finally:
        path.unlink(missing_ok=True)


@FUZZ
@given(st.binary(max_size=300))
def test_config_any_bytes(data: bytes) -> None:
    path = Path("/tmp") / f"fuzz-config-{id(data)}.toml"
    try:
        path.write_bytes(data)
        _load_config(path)
    finally:
        path.unlink(missing_ok=True)


# Crashes this suite found (docs/reliability.md, findings 10 and 11), fixed and kept as
# regression tests.


@pytest.mark.parametrize("code", ["inf", "nan"])
def test_fis_rule_code_not_finite(code: str) -> None:
    text = TIPPER_FIS.replace("1 1, 1 (1) : 2", f"{code} 1, 1 (1) : 2")
    with pytest.raises(FisError, match=r"^fuzz:\d+:"):
        parse_fis(text, "fuzz")


def test_config_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b'[agent]\ngateway_id = "\x80"\n')
    with pytest.raises(cfg.ConfigError, match=r"bad\.toml"):
        cfg.load(path)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_config_non_finite_interval_is_refused(value: str) -> None:
    config = cfg.from_dict(
        {
            "agent": {"gateway_id": "gw-1"},
            "uplink": {
                "ingest_url": "http://127.0.0.1:1",
                "token": "t",
                "batch_interval": float(value),
            },
        }
    )
    with pytest.raises(cfg.ConfigError, match="batch_interval"):
        cfg.validate(config)
