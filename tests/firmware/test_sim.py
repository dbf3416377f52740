"""The compiled firmware running in simavr, read through pyserial from the runner's pty.

Each test boots a node with a scenario, resets it once it has the port open (like an Arduino
resetting when the gateway opens its USB port) so the hello frame is seen, and checks what
comes back against the scenario within the sensors' resolution.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent import frames
from tests.firmware.simnode import FIRMWARE, SimNode

sys.path.insert(0, str(FIRMWARE / "sim"))
import sensors

pytestmark = pytest.mark.integration

DECIMALS = {name: dec for _key, (name, _unit, dec) in frames.FIELDS.items()}
READING_OF = {
    "temperature_c": "temperature",
    "humidity_pct": "humidity",
    "light_lux": "light",
    "soil_moisture_pct": "soil_moisture",
    "gas_ppm": "gas",
    "soil_ph": "soil_ph",
    "lat": "lat",
    "lon": "lon",
}


def expected_analog(node: str, key: str, value: float) -> tuple[float, float]:
    """(what the firmware must report, one ADC step in physical units around it)."""
    analog = next(a for a in sensors.NODES[node].analog if a.key == key)
    count = sensors.count_of(analog.volts(value))
    reported = analog.value(count)
    assert reported is not None
    steps = [analog.value(c) for c in (count - 1, count + 1) if 0 < c < sensors.ADC_MAX]
    step = max(abs(s - reported) for s in steps if s is not None)
    return reported, step


def check_analog(node: str, frame: frames.Frame, scenario: dict[str, float]) -> None:
    for analog in sensors.NODES[node].analog:
        name = READING_OF[analog.key]
        want = scenario[analog.key]
        reported, step = expected_analog(node, analog.key, want)
        got = frame.values[name]
        # the firmware's value is the curve at the ADC count, rounded to the protocol decimals
        assert got == pytest.approx(reported, abs=0.51 * 10 ** -DECIMALS[name] + 1e-9), name
        # ... and that is within one quantisation step of the scenario's value
        assert abs(got - want) <= step + 10 ** -DECIMALS[name], (name, got, want, step)


def boot_and_read(node: SimNode, readings: int) -> tuple[frames.Frame, list[frames.Frame]]:
    node.frames(1)  # the node is up and talking
    node.reset()
    hello, _ = node.until_hello()
    return hello, node.frames(readings)


def test_orchid_values_come_back_within_sensor_resolution(
    firmware_build: Path, tmp_path: Path
) -> None:
    scenario = {
        "temperature_c": 24.3,
        "humidity_pct": 66.6,
        "light_lux": 15230.0,
        "soil_moisture_pct": 41.2,
    }
    with SimNode("orchid", scenario, tmp_path) as node:
        hello, readings = boot_and_read(node, 3)
    assert hello.info == {"k": "orchid", "iv": "1s"}
    assert (hello.node_id, hello.firmware, hello.seq) == ("orchid-01", "1.0.0", 0)
    assert [f.seq for f in readings] == [1, 2, 3]
    for frame in readings:
        assert frame.kind == "R" and frame.boot == hello.boot and frame.failed == ()
        # DHT11: whole degrees and whole %RH
        assert abs(frame.values["temperature"] - 24.3) <= 0.5
        assert abs(frame.values["humidity"] - 66.6) <= 0.5
        check_analog("orchid", frame, scenario)


def test_rice_values_and_gps_position_come_back(firmware_build: Path, tmp_path: Path) -> None:
    scenario = {
        "temperature_c": 29.0,
        "humidity_pct": 95.0,
        "gas_ppm": 3.99,
        "soil_moisture_pct": 37.5,
        "soil_ph": 6.8,
        "lat": -8.588197,
        "lon": 115.10209,
    }
    with SimNode("rice", scenario, tmp_path) as node:
        hello, readings = boot_and_read(node, 3)
    assert hello.info == {"k": "rice", "iv": "1s"}
    for frame in readings:
        assert frame.failed == ()
        assert frame.values["temperature"] == 29.0 and frame.values["humidity"] == 95.0
        check_analog("rice", frame, scenario)
        # NMEA ddmm.mmmmm (1.7e-7 deg) parsed to 1e-6 deg
        assert frame.values["lat"] == pytest.approx(-8.588197, abs=1.01e-6)
        assert frame.values["lon"] == pytest.approx(115.10209, abs=1.01e-6)


def test_scenario_ramps_are_followed(firmware_build: Path, tmp_path: Path) -> None:
    # humidity climbs 1 %RH per second; light falls: readings move with simulated time
    scenario = {"humidity_pct": [[0, 50], [60, 110]], "light_lux": [[0, 20000], [60, 2000]]}
    with SimNode("orchid", scenario, tmp_path) as node:
        readings = node.frames(6)[1:]
    hums = [f.values["humidity"] for f in readings]
    lights = [f.values["light"] for f in readings]
    assert all(b > a for a, b in itertools.pairwise(hums)), hums
    assert all(b < a for a, b in itertools.pairwise(lights)), lights


def test_failed_sensors_are_marked_na_never_zero(firmware_build: Path, tmp_path: Path) -> None:
    # DHT11 silent, MQ-2 open, pH probe open, GPS without a fix
    scenario = {"temperature_c": None, "gas_ppm": None, "soil_ph": None, "lat": None}
    with SimNode("rice", scenario, tmp_path) as node:
        node.frames(1)
        lines = node.lines(2)
    for line in lines:
        frame = frames.decode(line)
        assert set(frame.failed) == {"temperature", "humidity", "gas", "soil_ph", "lat", "lon"}
        assert set(frame.values) == {"soil_moisture"}
        assert b"t=NA" in line and b"la=NA" in line


def test_sequence_numbers_are_continuous(firmware_build: Path, tmp_path: Path) -> None:
    with SimNode("orchid", {}, tmp_path) as node:
        readings = node.frames(6)
    seqs = [f.seq for f in readings]
    assert seqs == list(range(seqs[0], seqs[0] + 6))
    assert len({f.boot for f in readings}) == 1


def test_reboot_increments_the_boot_counter(firmware_build: Path, tmp_path: Path) -> None:
    eeprom = tmp_path / "orchid.eeprom"
    with SimNode("orchid", {}, tmp_path, eeprom=eeprom) as node:
        first = node.frames(1)[0]
        node.reset()
        hello, _ = node.until_hello()
        after = node.frames(2)
    assert hello.boot == first.boot + 1
    assert [f.seq for f in after] == [1, 2] and {f.boot for f in after} == {hello.boot}
    # power cycle: a new runner process with the same EEPROM image
    with SimNode("orchid", {}, tmp_path, eeprom=eeprom) as node:
        node.reset()
        again, _ = node.until_hello()
    assert again.boot == hello.boot + 2  # the restart booted once, the reset once more


def test_corrupted_firmware_frames_are_rejected_by_the_crc(
    firmware_build: Path, tmp_path: Path
) -> None:
    with SimNode("rice", {}, tmp_path) as node:
        line = node.lines(2)[1]
    frames.decode(line)  # the real line is valid
    body_end = line.rindex(b"*")
    for i in range(1, body_end):
        for replacement in (ord("0"), ord("9"), ord("A"), ord(","), line[i] ^ 0x01):
            if replacement == line[i]:
                continue
            corrupted = line[:i] + bytes([replacement]) + line[i + 1 :]
            with pytest.raises(frames.FrameError) as err:
                frames.decode(corrupted)
            assert err.value.reason == "bad_crc", corrupted


def test_watering_controller_reports_every_actuator_change(
    firmware_build: Path, tmp_path: Path
) -> None:
    # wet -> dry (pump on above raw 700) -> wet (pump off below raw 400); the sim build's
    # clock reaches Sunday 06:00 two seconds after power-up: fertilizer on for 3 s
    scenario = {"soil_moisture_pct": [[0, 60], [2, 20], [5, 20], [6, 80]]}
    with SimNode("watering", scenario, tmp_path) as node:
        got = node.frames(12, timeout=20)
    events = [f for f in got if f.kind == "E"]
    changes = [(k, v) for f in events for k, v in f.values.items() if k.endswith("_pump")]
    assert ("water_pump", 1.0) in changes and ("water_pump", 0.0) in changes
    assert ("fertilizer_pump", 1.0) in changes and ("fertilizer_pump", 0.0) in changes
    pump_on = next(f for f in events if f.values.get("water_pump") == 1.0)
    assert pump_on.values["soil_raw"] > 700
    pump_off = next(f for f in events if f.values.get("water_pump") == 0.0)
    assert pump_off.values["soil_raw"] < 400
    seqs = [f.seq for f in got]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # R and E share the sequence
    state = {"water_pump": 0.0, "fertilizer_pump": 0.0}
    for f in got:  # every reading agrees with the events before it
        if f.kind == "E":
            state.update({k: v for k, v in f.values.items() if k in state})
        elif f.kind == "R":
            assert {k: f.values[k] for k in state} == state


def test_probe_prints_the_firmware_readings(firmware_build: Path, tmp_path: Path) -> None:
    with SimNode("orchid", {"temperature_c": 22}, tmp_path) as node:
        node.frames(1)
        node.port.close()
        node.port = None
        out = subprocess.run(
            [sys.executable, "-m", "edge_agent.probe", "--port", str(node.pty), "--seconds", "3.5"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert out.returncode == 0, out.stderr

    lines = [json.loads(x) for x in out.stdout.splitlines()]
    readings, summary = lines[:-1], lines[-1]
    assert len(readings) >= 2 and summary["decoded"] == len(readings)
    assert summary["rejected"] == 0
    for r in readings:
        assert r["node_id"] == "orchid-01" and r["values"]["temperature"] == 22.0
        assert set(r) >= {"node_id", "boot", "seq", "values"}
