"""Scenario handling of the simavr runs: validation, defaults, and the runner's timeline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent import frames, simulate
from tests.firmware.simnode import FIRMWARE, RUN

sys.path.insert(0, str(FIRMWARE / "sim"))
import sensors


def test_defaults_and_keys_match_the_python_simulator() -> None:
    assert sensors.DEFAULTS == simulate.DEFAULTS
    assert set(sensors.SCENARIO_KEYS) == set(simulate.SCENARIO_KEYS)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"temp": 3}, "unknown scenario key 'temp'"),
        ({"gas_ppm": [[0, 1], [-1, 2]]}, "gas_ppm: time -1"),
        ({"gas_ppm": [[2, 1], [1, 2]]}, "gas_ppm: times must not decrease"),
        ({"soil_ph": [[0]]}, r"soil_ph: point \[0\] is not \[seconds, value\]"),
        ({"soil_ph": "7"}, "soil_ph: value '7' is not a finite number"),
        ({"lat": []}, "lat: empty list"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_scenarios_are_named(data: object, message: str) -> None:
    with pytest.raises(sensors.ScenarioError, match=message):
        sensors.parse_scenario(data)


def test_values_interpolate_and_null_holds_then_fails() -> None:
    points = sensors.parse_scenario({"gas_ppm": [[0, 2], [10, 4], [20, None], [30, 6]]})["gas_ppm"]
    assert sensors.value_at(points, 5) == pytest.approx(3.0)
    assert sensors.value_at(points, 15) == 4.0  # held up to the failure
    assert sensors.value_at(points, 25) is None
    assert sensors.value_at(points, 99) == 6.0


def parse_timeline(text: str) -> dict[str, list[tuple[float, float]]]:
    series: dict[str, list[tuple[float, float]]] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("series "):
            _, name, _kind, n = line.split()
            series[name] = [tuple(map(float, next(lines).split())) for _ in range(int(n))]
    return series


def test_timeline_follows_the_curves_and_marks_failures() -> None:
    scenario = sensors.parse_scenario(
        {"gas_ppm": [[0, 4], [10, 400]], "temperature_c": [[0, 25], [5, None]], "lat": None}
    )
    text = sensors.timeline("rice", scenario)
    assert "dht D 2" in text and "gps D 4 9600" in text
    series = parse_timeline(text)
    # the gas curve is sampled finely, so the runner's linear interpolation follows it
    gas = series["adc0"]
    assert len(gas) == sensors.SUBDIVIDE + 1
    for t, mv in gas:
        ppm = 4 + (400 - 4) * t / 10
        assert sensors.mq2_ppm(sensors.count_of((mv - sensors.HALF_LSB_MV) / 1000)) == (
            pytest.approx(ppm, rel=0.05)
        )
    assert series["dht_ok"] == [(0.0, 1.0), (5.0, 0.0)]
    assert series["gps_fix"] == [(0.0, 0.0)]


def test_run_refuses_a_bad_scenario_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text(json.dumps({"light_lux": [[0, "bright"]]}))
    out = subprocess.run(
        [
            *[sys.executable, str(RUN), "--node", "orchid", "--scenario", str(bad)],
            *["--pty", str(tmp_path / "p"), "--no-build"],
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert "light_lux: value 'bright' is not a finite number" in out.stderr


def test_runner_refuses_a_bad_timeline_with_the_line(firmware_build: Path, tmp_path: Path) -> None:
    timeline = tmp_path / "t"
    timeline.write_text("dht D 2\nseries adc0 linear 2\n0 100\nnot a point\n")
    out = subprocess.run(
        [
            str(firmware_build / "simavr-runner"),
            "--elf",
            str(firmware_build / "sim" / "orchid.elf"),
            "--timeline",
            str(timeline),
            "--pty",
            str(tmp_path / "p"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert f"{timeline}:4: bad timeline line: not a point" in out.stderr


def test_python_watering_node_switches_like_the_firmware() -> None:
    # the firmware: on above raw 700, off below 400, unchanged in between
    moisture = iter([20.0, 50.0, 70.0, 50.0])  # raw 818, 512, 307, 512
    node = simulate.Node("watering", "w1", 1, {"soil_moisture_pct": lambda t: next(moisture)})
    pumps = []
    for t in range(4):
        got = [frames.decode(f) for f in node.next_frames(t)]
        pumps.append([(f.kind, f.values["water_pump"]) for f in got])
        assert got[-1].values["soil_moisture"] == pytest.approx(
            sensors.hw080_pct(int(got[-1].values["soil_raw"])), abs=0.05
        )
    assert pumps == [[("E", 1), ("R", 1)], [("R", 1)], [("E", 0), ("R", 0)], [("R", 0)]]
