"""The pure-Python node simulator: scenarios, quantisation, and frames read back from its pty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from edge_agent import frames, simulate


def test_scenario_interpolates_linearly(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"temperature_c": [[0, 20], [10, 30]], "soil_ph": 6.1}))
    scenario = simulate.load_scenario(str(path))
    assert scenario["temperature_c"](5) == pytest.approx(25.0)
    assert scenario["temperature_c"](99) == 30.0
    assert scenario["soil_ph"](3) == 6.1
    assert scenario["light_lux"](0) == simulate.DEFAULTS["light_lux"]


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"temp": 3}', "unknown scenario keys"),
        ('{"gas_ppm": [[0, 1], [0, 2]]}', "must increase"),
        ('{"gas_ppm": [[0]]}', r"is not \[seconds, value\]"),
        ("[1, 2]", "JSON object"),
        ("{", "cannot read scenario"),
    ],
)
def test_bad_scenarios_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(simulate.ScenarioError, match=message):
        simulate.load_scenario(str(path))


def test_dht11_values_are_whole_numbers_and_seq_counts_up() -> None:
    node = simulate.Node(
        "orchid", "o1", 4, simulate.load_scenario(None) | {"temperature_c": lambda t: 26.6}
    )
    first, second = (frames.decode(node.next_frames(t)[0]) for t in (1.0, 2.0))
    assert first.values["temperature"] == 27.0
    assert (first.boot, first.seq, second.seq) == (4, 1, 2)
    assert set(first.values) == {"temperature", "humidity", "light", "soil_moisture"}


def test_watering_node_reports_pump_changes_as_events() -> None:
    moisture = iter([50.0, 10.0, 10.0])
    node = simulate.Node("watering", "w1", 1, {"soil_moisture_pct": lambda t: next(moisture)})
    wet = [frames.decode(f) for f in node.next_frames(0)]
    dry = [frames.decode(f) for f in node.next_frames(1)]
    assert [f.kind for f in wet] == ["R"] and wet[0].values["water_pump"] == 0
    assert [f.kind for f in dry] == ["E", "R"] and dry[0].values["water_pump"] == 1
    assert dry[0].values["soil_raw"] > simulate.PUMP_ON_RAW


@pytest.mark.slow
def test_frames_arrive_over_the_pty_through_pyserial(tmp_path: Path) -> None:
    link = tmp_path / "node0"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge_agent.simulate",
            "--node",
            "rice",
            "--pty",
            str(link),
            "--interval",
            "0.2",
            "--count",
            "3",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # printed once the pty exists
        with serial.Serial(os.fspath(link), 9600, timeout=0.5) as port:
            deadline = time.monotonic() + 5
            got = []
            while sum(f.kind == "R" for f in got) < 3 and time.monotonic() < deadline:
                line = port.readline()
                if line:
                    got.append(frames.decode(line))
        # pyserial flushes the input queue when it opens the port (as an Arduino resets on
        # open), so the hello frame written before that may be gone; the readings may not.
        readings = [f for f in got if f.kind == "R"]
        assert [f.seq for f in readings] == [1, 2, 3]
        assert all(f.kind == "H" and f.seq == 0 for f in got if f.kind != "R")
    finally:
        proc.terminate()
        proc.wait(5)
    assert not link.exists()


def test_hello_names_the_profile_and_interval() -> None:
    hello = frames.decode(simulate.Node("rice", "r1", 2, simulate.load_scenario(None)).hello(5))
    assert (hello.kind, hello.seq, hello.boot) == ("H", 0, 2)
    assert hello.info == {"k": "rice", "iv": "5s"}
