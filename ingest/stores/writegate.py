"""One write transaction at a time per SQLite file within a process. Shared by the sqlite
store, the influx store's ledger and the notify state.

Why: gunicorn's threads of one worker used to meet at `BEGIN IMMEDIATE`, where SQLite's
busy handler sleeps in steps of up to 100 ms before it retries, so a thread often slept long
after the lock was free; a `threading.Lock` wakes the next writer at once (SQLite's own lock
still guards against other processes). Checkpoints stay SQLite's automatic ones: a
`TRUNCATE` checkpoint by WAL size under this lock was tried and the paper's small dumps took
longer with it (docs/benchmarks.md, run A; the cause was not pinned down). Durability is
unchanged: with `synchronous=FULL` each `COMMIT` fsyncs the WAL before it returns.
"""

from __future__ import annotations

import threading
from pathlib import Path

_gates: dict[Path, WriteGate] = {}
_gates_lock = threading.Lock()


class WriteGate:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # held from BEGIN IMMEDIATE to COMMIT/ROLLBACK


def gate(path: Path | str) -> WriteGate:
    """The gate of the database file at `path` (one per file per process)."""
    key = Path(path).resolve()
    with _gates_lock:
        if key not in _gates:
            _gates[key] = WriteGate()
        return _gates[key]
