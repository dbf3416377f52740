"""Serial source: reads protocol-v1 frames from one port (pyserial) and survives unplugs.

Use the stable /dev/serial/by-id/... path of a USB adapter: it disappears on unplug and comes
back under the same name, and the reader reopens it within `reconnect_seconds` (1 s
default, so well inside 3 s). Opening a real Arduino's port resets the board; whatever
half line was in flight is dropped rather than reported as a bad frame.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import serial

from edge_agent import frames
from edge_agent.committer import Committer
from edge_agent.metrics import Counters
from edge_agent.pipeline.validate import from_frame

log = logging.getLogger(__name__)
READ_SIZE = 4096


class SerialSource:
    def __init__(
        self,
        path: str,
        baud: int,
        committer: Committer,
        counters: Counters,
        reconnect_seconds: float = 1.0,
    ) -> None:
        self.path, self.baud = path, baud
        self.committer, self.counters = committer, counters
        self.reconnect_seconds = reconnect_seconds
        self.name = f"serial:{path}"
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._port: serial.Serial | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        port = self._port
        if port is not None:
            with contextlib.suppress(Exception):
                port.cancel_read()
        self._thread.join(5)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        reported_down = False
        while not self._stop.is_set():
            try:
                port = serial.Serial(self.path, self.baud, timeout=0.5)
            except (serial.SerialException, OSError, ValueError) as exc:
                if not reported_down:
                    log.warning(
                        "%s unavailable, retrying every %.1fs: %s",
                        self.path,
                        self.reconnect_seconds,
                        exc,
                    )
                    self.counters.inc("serial", "errors", "open_failed")
                    reported_down = True
                self._stop.wait(self.reconnect_seconds)
                continue
            log.info("%s connected", self.path)
            reported_down = False
            self._port = port
            self.connected.set()
            try:
                self._read(port)
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial's cancel_read race on close; treated as a disconnect
                if not self._stop.is_set():
                    log.warning("%s disconnected: %s", self.path, exc)
                    self.counters.inc("serial", "errors", "disconnected")
                    reported_down = True
            finally:
                self.connected.clear()
                self._port = None
                with contextlib.suppress(Exception):
                    port.close()
            if not self._stop.is_set():
                self._stop.wait(min(self.reconnect_seconds, 0.2))

    def _read(self, port: serial.Serial) -> None:
        splitter = frames.LineSplitter()
        first = True
        while not self._stop.is_set():
            data = port.read(port.in_waiting or 1)
            if not data:
                continue
            if first:
                first = False
                if not data.startswith(b"$"):
                    splitter.drop_partial()  # the tail of a line cut by the reset-on-open
            overlong = splitter.overlong
            lines = splitter.feed(data)
            if splitter.overlong > overlong:
                self.counters.inc("serial", "received", n=splitter.overlong - overlong)
                self.counters.inc("serial", "discarded", "too_long", splitter.overlong - overlong)
            if lines:
                self._lines(lines)

    def _lines(self, lines: list[bytes]) -> None:
        """Decode a read's complete lines and submit them together (one queue entry)."""
        now = time.time()
        candidates = []
        received = len(lines)
        for raw in lines:
            line = raw
            start = line.rfind(b"$")
            if start > 0:
                # A node reset mid-frame: the cut frame runs into the next one
                # ("$1,R,…,h=6$1,H,…"). Count the cut part, resynchronise on the last '$'.
                received += 1
                self.counters.inc("serial", "discarded", "cut")
                line = line[start:]
            try:
                frame = frames.decode(line)
            except frames.FrameError as exc:
                self.counters.inc("serial", "discarded", exc.reason)
                log.debug("%s: bad frame (%s): %r", self.path, exc, line[:80])
                continue
            candidates.append(from_frame(frame, now, self.name))
        self.counters.inc("serial", "received", n=received)
        if candidates:
            self.committer.submit(candidates)
            self.counters.inc("serial", "sent", n=len(candidates))
