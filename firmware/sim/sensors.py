"""Sensor physics for the simavr runs: scenario values -> pin voltages, and back.

The firmware's curves (firmware/common/curves.h) turn ADC counts into physical values; this
module inverts them, reading the same CURVE_* constants from the header so the two cannot
drift apart. `timeline()` turns a scenario (docs: firmware/README.md) into the line format
that the C runner (runner.c) reads. Pure: no I/O except reading curves.h once.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CURVES_H = Path(__file__).resolve().parent.parent / "common" / "curves.h"
VREF_MV = 5000.0
ADC_MAX = 1023  # simavr: count = floor(mV * 1023 / 5000); firmware: V = count * 5 / 1023
HALF_LSB_MV = VREF_MV / ADC_MAX / 2  # ideal ADC: transitions half an LSB early
SUBDIVIDE = 16  # linear scenario segments are sampled this finely through the curves

SCENARIO_KEYS = (
    "temperature_c",
    "humidity_pct",
    "light_lux",
    "soil_moisture_pct",
    "gas_ppm",
    "soil_ph",
    "lat",
    "lon",
)
# used when a scenario leaves a key out (the same as edge_agent/simulate.py's; a test checks)
DEFAULTS = {
    "temperature_c": 26.0,
    "humidity_pct": 70.0,
    "light_lux": 14000.0,
    "soil_moisture_pct": 55.0,
    "gas_ppm": 4.0,
    "soil_ph": 6.5,
    "lat": -8.588182,
    "lon": 115.10207,
}


class ScenarioError(ValueError):
    """A scenario that cannot be simulated; the message names the key and what is wrong."""


def _curve_constants(path: Path = CURVES_H) -> dict[str, float]:
    text = path.read_text()
    found = re.findall(r"#define (CURVE_\w+) \(?(-?[0-9.]+)f?\)?", text)
    return {name: float(value.rstrip("f")) for name, value in found}


C = _curve_constants()


def volts_from_count(count: float) -> float:
    return count * VREF_MV / 1000.0 / ADC_MAX


# ---- inverse curves: physical value -> pin voltage (V); None = the sensor failed ----------
def ldr_volts(lux: float | None) -> float:
    if lux is None:
        return 5.0  # shorted LDR: the firmware reports NA
    if lux <= 0:
        return 0.0
    r = C["CURVE_LDR_R10"] * (lux / 10.0) ** (-C["CURVE_LDR_GAMMA"])
    return 5.0 * C["CURVE_LDR_R_FIXED"] / (C["CURVE_LDR_R_FIXED"] + r)


def sen0011_volts(pct: float | None) -> float:
    pct = 0.0 if pct is None else min(max(pct, 0.0), 100.0)
    return volts_from_count(pct * C["CURVE_SEN0011_WET"] / 100.0)


def capacitive_volts(pct: float | None) -> float:
    if pct is None:
        return 0.0  # unplugged: below any real output, NA
    pct = min(max(pct, 0.0), 100.0)
    dry, wet = C["CURVE_CAP_DRY"], C["CURVE_CAP_WET"]
    return volts_from_count(dry - pct * (dry - wet) / 100.0)


def mq2_volts(ppm: float | None) -> float:
    if ppm is None or ppm <= 0:
        return 0.0  # open sensor: NA
    ratio = (ppm / C["CURVE_MQ2_A"]) ** (1.0 / C["CURVE_MQ2_B"])
    rs = ratio * C["CURVE_MQ2_R0"]
    return 5.0 * C["CURVE_MQ2_RL"] / (C["CURVE_MQ2_RL"] + rs)


def ph_volts(ph: float | None) -> float:
    if ph is None:
        return 0.0  # open probe: NA
    return min(max((ph - C["CURVE_PH_OFFSET"]) / C["CURVE_PH_SLOPE"], 0.0), 5.0)


def hw080_volts(pct: float | None) -> float:
    pct = 0.0 if pct is None else min(max(pct, 0.0), 100.0)
    return volts_from_count(ADC_MAX - pct * ADC_MAX / 100.0)


# ---- forward curves (as the firmware computes them), for tests' tolerances -------------
def count_of(volts: float) -> int:
    """The count simavr's ADC returns for a voltage the runner drives (half-LSB offset)."""
    mv = round(volts * 1000.0 + HALF_LSB_MV)
    return min(ADC_MAX, int(mv * ADC_MAX // VREF_MV))


def ldr_lux(count: int) -> float | None:
    if count >= C["CURVE_LDR_SHORTED"]:
        return None
    if count == 0:
        return 0.0
    r = C["CURVE_LDR_R_FIXED"] * (ADC_MAX - count) / count
    return 10.0 * (r / C["CURVE_LDR_R10"]) ** (-1.0 / C["CURVE_LDR_GAMMA"])


def sen0011_pct(count: int) -> float:
    return min(max(count * 100.0 / C["CURVE_SEN0011_WET"], 0.0), 100.0)


def capacitive_pct(count: int) -> float | None:
    if count < C["CURVE_CAP_OPEN"]:
        return None
    dry, wet = C["CURVE_CAP_DRY"], C["CURVE_CAP_WET"]
    return min(max((dry - count) * 100.0 / (dry - wet), 0.0), 100.0)


def mq2_ppm(count: int) -> float | None:
    if count <= 0 or count >= ADC_MAX:
        return None
    rs = C["CURVE_MQ2_RL"] * (ADC_MAX - count) / count
    return min(C["CURVE_MQ2_A"] * (rs / C["CURVE_MQ2_R0"]) ** C["CURVE_MQ2_B"], MQ2_MAX_PPM)


MQ2_MAX_PPM = 100000.0  # the firmware clips here (curves.cpp)


def ph_value(count: int) -> float | None:
    if count <= 0 or count >= ADC_MAX:
        return None
    return C["CURVE_PH_SLOPE"] * volts_from_count(count) + C["CURVE_PH_OFFSET"]


def hw080_pct(count: int) -> float:
    return (ADC_MAX - count) * 100.0 / ADC_MAX


@dataclass(frozen=True)
class Analog:
    key: str  # scenario key
    channel: int  # ADC channel (A0 = 0)
    volts: Callable[[float | None], float]
    value: Callable[[int], float | None]  # the firmware's curve, count -> value


@dataclass(frozen=True)
class NodeKind:
    name: str
    elf: str
    dht: tuple[str, int] | None  # (port, bit)
    gps: tuple[str, int, int] | None  # (port, bit, baud)
    analog: tuple[Analog, ...]


NODES = {
    "orchid": NodeKind(
        "orchid",
        "orchid.elf",
        dht=("D", 2),
        gps=None,
        analog=(
            Analog("soil_moisture_pct", 0, sen0011_volts, sen0011_pct),
            Analog("light_lux", 1, ldr_volts, ldr_lux),
        ),
    ),
    "rice": NodeKind(
        "rice",
        "rice.elf",
        dht=("D", 2),
        gps=("D", 4, 9600),
        analog=(
            Analog("gas_ppm", 0, mq2_volts, mq2_ppm),
            Analog("soil_moisture_pct", 1, capacitive_volts, capacitive_pct),
            Analog("soil_ph", 2, ph_volts, ph_value),
        ),
    ),
    "watering": NodeKind(
        "watering",
        "watering.elf",
        dht=None,
        gps=None,
        analog=(Analog("soil_moisture_pct", 0, hw080_volts, hw080_pct),),
    ),
}


# ---- scenarios ------------------------------------------------------------------------
Points = list[tuple[float, float | None]]


def parse_scenario(data: object) -> dict[str, Points]:
    """Validates a scenario (a JSON object) into sorted point lists; None = sensor failed."""
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a JSON object of sensor keys")
    out: dict[str, Points] = {}
    for key, spec in data.items():
        if key not in SCENARIO_KEYS:
            raise ScenarioError(f"unknown scenario key {key!r}; known: {', '.join(SCENARIO_KEYS)}")
        out[key] = _points(key, spec)
    return out


def _number(key: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{key}: value {value!r} is not a finite number (or null = failed)")
    return float(value)


def _points(key: str, spec: object) -> Points:
    if not isinstance(spec, list):
        return [(0.0, _number(key, spec))]
    if not spec:
        raise ScenarioError(f"{key}: empty list of [seconds, value] points")
    points: Points = []
    for item in spec:
        if not (isinstance(item, list) and len(item) == 2):
            raise ScenarioError(f"{key}: point {item!r} is not [seconds, value]")
        t = _number(key, item[0])
        if t is None or t < 0:
            raise ScenarioError(f"{key}: time {item[0]!r} must be a number >= 0")
        if points and t < points[-1][0]:
            raise ScenarioError(f"{key}: times must not decrease ({t} after {points[-1][0]})")
        points.append((t, _number(key, item[1])))
    return points


def value_at(points: Points, t: float) -> float | None:
    """Linear interpolation between numbers, held before/after the ends and next to a null."""
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t < t1:
            if v0 is None or v1 is None or t1 == t0:
                return v0
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


def _sampled(points: Points, fn: Callable[[float | None], float]) -> list[tuple[float, float]]:
    """(t, fn(value)) through the curve, fine enough to follow it, jumps kept."""
    out = [(points[0][0], fn(points[0][1]))]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if v0 is not None and v1 is not None and t1 > t0:
            for k in range(1, SUBDIVIDE):
                t = t0 + (t1 - t0) * k / SUBDIVIDE
                out.append((t, fn(v0 + (v1 - v0) * k / SUBDIVIDE)))
            out.append((t1, fn(v1)))
        else:
            out.append((t1, fn(v0)))  # held up to t1 ...
            out.append((t1, fn(v1)))  # ... then the jump
    return out


def _series(name: str, kind: str, pts: list[tuple[float, float]]) -> list[str]:
    lines = [f"series {name} {kind} {len(pts)}"]
    lines += [f"{t:.6f} {v:.6f}" for t, v in pts]
    return lines


def timeline(node: str, scenario: dict[str, Points]) -> str:
    """The runner's timeline file for one node kind."""
    kind = NODES[node]

    def pts(key: str) -> Points:
        return scenario.get(key) or [(0.0, DEFAULTS[key])]

    lines = [f"# node {node}"]
    if kind.dht:
        lines.append(f"dht {kind.dht[0]} {kind.dht[1]}")
        t, h = pts("temperature_c"), pts("humidity_pct")
        lines += _series("dht_t", "linear", _sampled(t, lambda v: 0.0 if v is None else v))
        lines += _series("dht_h", "linear", _sampled(h, lambda v: 0.0 if v is None else v))
        times = sorted({p[0] for p in t} | {p[0] for p in h})
        ok = [(x, 0.0 if value_at(t, x) is None or value_at(h, x) is None else 1.0) for x in times]
        lines += _series("dht_ok", "step", ok)
    if kind.gps:
        lines.append(f"gps {kind.gps[0]} {kind.gps[1]} {kind.gps[2]}")
        la, lo = pts("lat"), pts("lon")
        lines += _series("gps_lat", "linear", _sampled(la, lambda v: 0.0 if v is None else v))
        lines += _series("gps_lon", "linear", _sampled(lo, lambda v: 0.0 if v is None else v))
        times = sorted({p[0] for p in la} | {p[0] for p in lo})
        fix = [
            (x, 0.0 if value_at(la, x) is None or value_at(lo, x) is None else 1.0) for x in times
        ]
        lines += _series("gps_fix", "step", fix)
    for a in kind.analog:
        mv = [(t, v * 1000.0 + HALF_LSB_MV) for t, v in _sampled(pts(a.key), a.volts)]
        lines += _series(f"adc{a.channel}", "linear", mv)
    return "\n".join(lines) + "\n"
