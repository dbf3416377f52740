"""CPU sampling of a process tree (the server under test and its workers) with psutil."""

from __future__ import annotations

import threading
import time

import psutil


class TreeCpu:
    """Cumulative CPU seconds of a process and all its descendants, sampled in a thread.

    Children are remembered once seen, so a worker's CPU counts even after it exits."""

    def __init__(self, pid: int, period: float = 0.5) -> None:
        self.root = psutil.Process(pid)
        self.period = period
        self._known: dict[int, psutil.Process] = {}
        self._last: dict[int, float] = {}
        self.samples: list[tuple[float, float]] = []  # (monotonic time, cumulative cpu s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _cpu_seconds(self) -> float:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            procs = []
        for proc in procs:
            self._known.setdefault(proc.pid, proc)
        for pid, proc in list(self._known.items()):
            try:
                times = proc.cpu_times()
                self._last[pid] = times.user + times.system
            except psutil.NoSuchProcess:
                self._known.pop(pid)
        return sum(self._last.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self._cpu_seconds()))
            self._stop.wait(self.period)

    def __enter__(self) -> TreeCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.monotonic(), self._cpu_seconds()))

    def core_percent(self, start: float, end: float) -> float:
        """Mean CPU between two monotonic times, in % of one core (100 = one core busy)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return float("nan")
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return 100.0 * (c1 - c0) / (t1 - t0)
