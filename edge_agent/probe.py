"""`edge-agent probe`: the installer's first tool in the field.

Opens a serial port, prints every decoded reading as one JSON line (`node_id`, `boot`, `seq`,
`values` by reading name, plus `kind` and `failed`), and at the end one summary line with the
count of rejected frames by reason. Hello frames go to stderr. It never dies on bad input:
garbage, truncated, overlong or wrong-baud lines are counted and skipped, and a port that
disappears (unplugged) is reopened until the time is up.

    python -m edge_agent probe --port /dev/ttyUSB0 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from edge_agent import frames

DEFAULT_BAUD = 9600
REOPEN_DELAY_S = 0.5


@dataclass
class ProbeState:
    """Pure line accounting: bytes in, JSON-able records out. No I/O."""

    splitter: frames.LineSplitter = field(default_factory=frames.LineSplitter)
    decoded: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    partial: int = 0
    opened: int = 0
    _first_line: bool = True

    def reopened(self) -> None:
        """A (re)opened port may start mid-line: its first line, if broken, is not an error."""
        self.splitter = frames.LineSplitter()
        self._first_line = True
        self.opened += 1

    def feed(self, data: bytes) -> list[frames.Frame]:
        before = self.splitter.overlong
        lines = self.splitter.feed(data)
        if self.splitter.overlong > before:
            self.rejected["too_long"] += self.splitter.overlong - before
            self._first_line = False
        out = []
        for line in lines:
            first, self._first_line = self._first_line, False
            try:
                frame = frames.decode(line)
            except frames.FrameError as exc:
                if first:
                    self.partial += 1
                else:
                    self.rejected[exc.reason] += 1
                continue
            self.decoded += 1
            out.append(frame)
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "decoded": self.decoded,
            "rejected": sum(self.rejected.values()),
            "reasons": dict(sorted(self.rejected.items())),
            "partial_first_lines": self.partial,
        }


def reading_record(frame: frames.Frame) -> dict[str, Any]:
    return {
        "node_id": frame.node_id,
        "kind": frame.kind,
        "boot": frame.boot,
        "seq": frame.seq,
        "values": frame.values,
        "failed": list(frame.failed),
    }


def hello_text(frame: frames.Frame) -> str:
    info = " ".join(f"{k}={v}" for k, v in frame.info.items())
    return f"hello: {frame.node_id} firmware {frame.firmware} boot {frame.boot} {info}".rstrip()


def run(
    port: str,
    seconds: float | None,
    baud: int = DEFAULT_BAUD,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    clock: Callable[[], float] = time.monotonic,
) -> ProbeState:
    import serial  # pyserial; imported here so the pure parts need no serial port library

    state = ProbeState()
    deadline = None if seconds is None else clock() + seconds
    ser = None
    try:
        while deadline is None or clock() < deadline:
            if ser is None:
                try:
                    ser = serial.Serial(port, baud, timeout=0.2)
                except (serial.SerialException, OSError) as exc:
                    print(f"probe: cannot open {port}: {exc}; retrying", file=err, flush=True)
                    time.sleep(REOPEN_DELAY_S)
                    continue
                state.reopened()
            try:
                data = ser.read(ser.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                print(f"probe: {port} lost: {exc}; reopening", file=err, flush=True)
                ser.close()
                ser = None
                continue
            for frame in state.feed(data):
                if frame.kind == "H":
                    print(hello_text(frame), file=err, flush=True)
                else:
                    print(json.dumps(reading_record(frame)), file=out, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        if ser is not None:
            ser.close()
    print(json.dumps(state.summary()), file=out, flush=True)
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="edge-agent probe",
        description="Print the decoded frames a node sends on a serial port, as JSON lines.",
    )
    parser.add_argument("--port", required=True, help="serial device, e.g. /dev/ttyUSB0")
    parser.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    parser.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="baud rate (9600)")
    args = parser.parse_args(argv)
    if args.seconds is not None and args.seconds <= 0:
        parser.error("--seconds must be > 0")
    state = run(args.port, args.seconds, args.baud)
    return 0 if state.opened else 1


if __name__ == "__main__":
    sys.exit(main())
