#!/usr/bin/env python3
"""Benchmark: how fast the simavr runner simulates each node, beside stock `simavr`.

    python3 firmware/sim/bench_speed.py [--seconds 20]

For each node's sim build (1 s report interval) it runs our runner unthrottled (--fast) for
SECONDS of simulated time and times it, then runs stock simavr on the same ELF for the same
wall time and counts the reading frames it printed (one per simulated second). Anchor: the
project's notes say stock simavr runs 5-7x faster than real time. It also prints the peak
stack the runner saw, with the static RAM from avr-size, as the measured RAM margin.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIRMWARE = HERE.parent
BUILD = FIRMWARE / "build"
sys.path.insert(0, str(HERE))

import sensors  # noqa: E402

RAM = 2048


def static_ram(elf: Path) -> int:
    out = subprocess.run(["avr-size", "-A", str(elf)], capture_output=True, text=True).stdout
    sizes = dict(re.findall(r"^\.(data|bss)\s+(\d+)", out, re.M))
    return sum(int(v) for v in sizes.values())


def ours(node: str, seconds: float, tmp: Path) -> tuple[float, int]:
    timeline = tmp / f"{node}.timeline"
    timeline.write_text(sensors.timeline(node, sensors.parse_scenario({})))
    cmd = [str(BUILD / "simavr-runner"), "--elf", str(BUILD / "sim" / f"{node}.elf")]
    cmd += ["--timeline", str(timeline), "--pty", str(tmp / f"{node}.pty"), "--fast"]
    cmd += ["--seconds", str(seconds)]
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - start
    stack = int(re.search(r"peak stack (\d+) B", out.stderr).group(1))
    return seconds / wall, stack


def stock(node: str, wall: float) -> float:
    elf = BUILD / "sim" / f"{node}.elf"
    cmd = ["simavr", "-m", "atmega328p", "-f", "16000000", str(elf)]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=wall)
        text = out.stdout + out.stderr
    except subprocess.TimeoutExpired as exc:
        text = (exc.stdout or b"") + (exc.stderr or b"")
    frames = len(re.findall(rb"\$1,[RE],", text))
    return frames / wall  # the sim build reports once per simulated second


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="simulated seconds per node")
    args = ap.parse_args()
    subprocess.run(["make", "-s", "-C", str(FIRMWARE), "sim", "runner"], check=True)
    header = f"{'node':9} {'runner x real-time':>18} {'stock simavr':>13} {'ratio':>6}"
    print(header + "  RAM (static + peak stack)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for node in ("orchid", "rice", "watering"):
            speed, stack = ours(node, args.seconds, Path(tmp))
            anchor = stock(node, args.seconds / speed)
            static = static_ram(BUILD / "sim" / f"{node}.elf")
            used = static + stack
            print(
                f"{node:9} {speed:17.2f}x {anchor:12.2f}x {speed / anchor:6.2f}  "
                f"{static} + {stack} = {used} B of {RAM} ({100 * used / RAM:.0f}%)"
            )
            results[node] = {"runner_x": speed, "stock_x": anchor, "static": static, "stack": stack}
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
