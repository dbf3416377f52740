"""Test helper: one node firmware running in simavr (firmware/sim/run), read with pyserial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import serial

from edge_agent import frames

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
RUN = FIRMWARE / "sim" / "run"


class SimNode:
    """Starts the runner, waits for its pty, and reads decoded frames from it."""

    def __init__(self, node: str, scenario: dict, workdir: Path, eeprom: Path | None = None):
        self.node = node
        self.workdir = workdir
        self.scenario_path = workdir / f"{node}-scenario.json"
        self.scenario_path.write_text(json.dumps(scenario))
        self.pty = workdir / f"{node}.pty"
        self.eeprom = eeprom or workdir / f"{node}.eeprom"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: serial.Serial | None = None
        self.splitter = frames.LineSplitter()
        self.raw_lines: list[bytes] = []

    def start(self) -> SimNode:
        cmd = [sys.executable, str(RUN), "--node", self.node, "--scenario", str(self.scenario_path)]
        cmd += ["--pty", str(self.pty), "--eeprom", str(self.eeprom), "--no-build"]
        log = open(self.workdir / f"{self.node}-runner.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while not self.pty.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"runner did not start: {self.log()}")
            time.sleep(0.02)
        self.port = serial.Serial(str(self.pty), 9600, timeout=0.2)
        self.splitter = frames.LineSplitter()
        self._first = True  # opening mid-line cuts the first line
        return self

    def log(self) -> str:
        return (self.workdir / f"{self.node}-runner.log").read_text(errors="replace")

    def reset(self) -> None:
        """A reboot: SIGUSR1 makes the runner reset the MCU (EEPROM kept)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGUSR1)

    def stop(self) -> None:
        if self.port is not None:
            self.port.close()
            self.port = None
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def lines(self, count: int, timeout: float = 15.0) -> list[bytes]:
        """The next `count` complete lines (a cut first line after opening is skipped)."""
        assert self.port is not None
        out: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(out)}/{count} lines in {timeout}s; log: {self.log()}")
            for line in self.splitter.feed(self.port.read(self.port.in_waiting or 1)):
                if self._first and not line.startswith(b"$"):
                    continue
                self._first = False
                out.append(line)
        self.raw_lines += out
        return out

    def frames(self, count: int, timeout: float = 15.0) -> list[frames.Frame]:
        return [frames.decode(line) for line in self.lines(count, timeout)]

    def until_hello(self, timeout: float = 15.0) -> tuple[frames.Frame, list[frames.Frame]]:
        """Frames up to and including the next hello frame: (hello, frames before it)."""
        before = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no hello frame in {timeout}s; got {before}; log: {self.log()}")
            frame = self.frames(1, remaining)[0]
            if frame.kind == "H":
                return frame, before
            before.append(frame)

    def __enter__(self) -> SimNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def missing_tools() -> list[str]:
    tools = ["avr-gcc", "avr-g++", "avr-size", "make", "gcc"]
    missing = [t for t in tools if not any((Path(d) / t).exists() for d in os.get_exec_path())]
    for path in ("/usr/include/simavr/sim_avr.h", "/usr/share/arduino/hardware/arduino/avr"):
        if not Path(path).exists():
            missing.append(path)
    return missing
