"""Pure-Python sensor node speaking serial frame protocol v1 over a pseudo-terminal.

For machines without simavr: it writes the same frames as the firmware (hello at boot, then a
reading every interval) to a pty whose slave end is symlinked at --pty, so the edge agent (or
`edge-agent probe`) opens it like a USB serial port. It owns the scenario format; it must not
touch the agent's state.

    python -m edge_agent.simulate --node orchid --scenario s.json --pty /tmp/orchid0
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import itertools
import json
import os
import signal
import sys
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_agent import frames

FIRMWARE_VERSION = "1.0.0"

# scenario key -> reading name
SCENARIO_KEYS = {
    "temperature_c": "temperature",
    "humidity_pct": "humidity",
    "light_lux": "light",
    "soil_moisture_pct": "soil_moisture",
    "gas_ppm": "gas",
    "soil_ph": "soil_ph",
    "lat": "lat",
    "lon": "lon",
}
# Values used when a scenario leaves a sensor out: a mild morning in a Balinese orchid house.
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
NODE_SENSORS = {
    "orchid": ("temperature_c", "humidity_pct", "light_lux", "soil_moisture_pct"),
    "rice": (
        "temperature_c",
        "humidity_pct",
        "gas_ppm",
        "soil_ph",
        "soil_moisture_pct",
        "lat",
        "lon",
    ),
    "watering": ("soil_moisture_pct",),
}
# DHT11 reports whole degrees and whole %RH: the simulator quantises the same way.
WHOLE_NUMBERS = {"temperature", "humidity"}
PUMP_ON_RAW = 700  # the watering paper's flowchart: pump on above 700 (dry)

Series = Callable[[float], float]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the key."""


def _series(key: str, spec: Any) -> Series:
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        value = float(spec)
        return lambda _t: value
    if not isinstance(spec, list) or not spec:
        raise ScenarioError(f"{key}: expected a number or a list of [seconds, value] points")
    points: list[tuple[float, float]] = []
    for point in spec:
        if (
            not isinstance(point, list)
            or len(point) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in point)
        ):
            raise ScenarioError(f"{key}: point {point!r} is not [seconds, value]")
        points.append((float(point[0]), float(point[1])))
    if any(b[0] <= a[0] for a, b in itertools.pairwise(points)):
        raise ScenarioError(f"{key}: point times must increase")

    def at(t: float) -> float:
        if t <= points[0][0]:
            return points[0][1]
        for (t0, v0), (t1, v1) in itertools.pairwise(points):
            if t <= t1:
                return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
        return points[-1][1]

    return at


def load_scenario(path: str | None) -> dict[str, Series]:
    """Scenario JSON -> {scenario key: function of seconds since start}."""
    data: dict[str, Any] = {}
    if path:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ScenarioError(f"cannot read scenario {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ScenarioError("a scenario is a JSON object")
        unknown = sorted(set(data) - set(SCENARIO_KEYS))
        if unknown:
            raise ScenarioError(f"unknown scenario keys {unknown}; known: {sorted(SCENARIO_KEYS)}")
    return {key: _series(key, data.get(key, DEFAULTS[key])) for key in SCENARIO_KEYS}


def soil_raw_from_pct(pct: float) -> int:
    """HW-080 reads high when dry: 0 % moisture -> 1023, 100 % -> 0."""
    return max(0, min(1023, round(1023 * (1 - pct / 100))))


class Node:
    """Builds the node's frames: hello first, then readings (and events for watering)."""

    def __init__(self, kind: str, node_id: str, boot: int, scenario: dict[str, Series]) -> None:
        self.kind, self.node_id, self.boot, self.scenario = kind, node_id, boot, scenario
        self.seq = 0
        self.pump = 0

    def hello(self, interval: float) -> bytes:
        info = {"k": self.kind, "iv": f"{interval:g}s"}
        return frames.encode(
            frames.Frame("H", self.node_id, FIRMWARE_VERSION, self.boot, 0, {}, (), info)
        )

    def _frame(self, kind: str, values: dict[str, float]) -> bytes:
        self.seq += 1
        frame = frames.Frame(kind, self.node_id, FIRMWARE_VERSION, self.boot, self.seq, values)
        return frames.encode(frame)

    def next_frames(self, t: float) -> list[bytes]:
        sensors = NODE_SENSORS[self.kind]
        if self.kind == "watering":
            raw = soil_raw_from_pct(self.scenario["soil_moisture_pct"](t))
            out = []
            pump = int(raw > PUMP_ON_RAW)
            if pump != self.pump:
                self.pump = pump
                out.append(self._frame("E", {"soil_raw": raw, "water_pump": pump}))
            out.append(self._frame("R", {"soil_raw": raw, "water_pump": self.pump}))
            return out
        values = {}
        for key in sensors:
            name = SCENARIO_KEYS[key]
            value = self.scenario[key](t)
            values[name] = float(round(value)) if name in WHOLE_NUMBERS else value
        return [self._frame("R", values)]


def open_pty(link: str) -> tuple[int, int]:
    """A raw pty pair with the slave symlinked at `link`; returns (master, slave) fds.

    The slave stays open here so the pty outlives readers that close and reopen it; the master
    is non-blocking so nobody reading never stalls the node (a real UART just drops bytes).
    """
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    path = Path(link)
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(os.ttyname(slave))
    return master, slave


def write_frame(master: int, line: bytes) -> bool:
    try:
        os.write(master, line)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EIO):
            return False
        raise


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    node = Node(args.node, args.node_id or f"{args.node}-sim", args.boot, scenario)
    master, _slave = open_pty(args.pty)
    print(f"{node.node_id}: writing frames to {args.pty} -> {os.ttyname(_slave)}", flush=True)
    stop = False

    def on_signal(_signum: int, _frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    start = time.monotonic()
    write_frame(master, node.hello(args.interval))
    sent = 0
    next_at = start + args.interval
    while not stop:
        time.sleep(max(0.0, min(0.2, next_at - time.monotonic())))
        if time.monotonic() < next_at or (args.count is not None and sent >= args.count):
            continue
        for line in node.next_frames(time.monotonic() - start):
            write_frame(master, line)
        sent += 1
        next_at += args.interval
    with contextlib.suppress(FileNotFoundError):
        Path(args.pty).unlink()
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m edge_agent.simulate",
        description="Simulated Arduino sensor node: writes protocol-v1 frames to a pty.",
    )
    parser.add_argument("--node", choices=sorted(NODE_SENSORS), required=True, help="node type")
    parser.add_argument("--scenario", help="scenario JSON (keys: " + ", ".join(SCENARIO_KEYS) + ")")
    parser.add_argument("--pty", required=True, help="path of the symlink to the pty to create")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between readings (1)")
    parser.add_argument("--count", type=int, help="stop sending after N readings (stay open)")
    parser.add_argument("--node-id", help="node id in the frames (default: NODE-sim)")
    parser.add_argument("--boot", type=int, default=1, help="boot counter to report (1)")
    args = parser.parse_args(argv)
    if args.interval <= 0:
        parser.error("--interval must be > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except ScenarioError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
