"""One write transaction at a time per SQLite file within a process, and WAL checkpoints
by size. Shared by the sqlite store, the influx store's ledger and the notify state.

Why: gunicorn's threads of one worker used to meet at `BEGIN IMMEDIATE`, where SQLite's
busy handler sleeps in steps of up to 100 ms before it retries, so a thread often slept long
after the lock was free; a `threading.Lock` wakes the next writer at once (SQLite's own lock
still guards against other processes). And SQLite's automatic checkpoint ran inside nearly
every `COMMIT` of a big batch (past 1000 pages of WAL), each time copying pages into the
database file and fsyncing it twice; here the WAL is checkpointed and truncated once it
passes `CHECKPOINT_BYTES`, so a page changed by several batches is copied once and the
fsyncs of checkpoints are paid once per 16 MiB of WAL. Durability is unchanged: with
`synchronous=FULL` each `COMMIT` still fsyncs the WAL before it returns; a checkpoint only
moves committed pages into the database file.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

CHECKPOINT_BYTES = 16 * 2**20
log = logging.getLogger("ingest.sqlite")
_gates: dict[Path, WriteGate] = {}
_gates_lock = threading.Lock()


class WriteGate:
    def __init__(self, path: Path) -> None:
        self.wal = Path(f"{path}-wal")
        self.lock = threading.Lock()  # held from BEGIN IMMEDIATE to COMMIT/ROLLBACK

    @staticmethod
    def prepare(conn: sqlite3.Connection) -> None:
        """A writing connection leaves checkpoints to `after_commit`."""
        conn.execute("PRAGMA wal_autocheckpoint=0")

    def after_commit(self, conn: sqlite3.Connection) -> None:
        """Checkpoint the WAL into the database and truncate it once it has grown past
        CHECKPOINT_BYTES. Call after COMMIT, without holding `lock`."""
        try:
            if os.stat(self.wal).st_size < CHECKPOINT_BYTES:
                return
        except OSError:
            return
        with self.lock:
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.Error as exc:  # the next commit retries; the data is in the WAL
                log.warning("checkpoint of %s failed: %s", self.wal, exc)


def gate(path: Path | str) -> WriteGate:
    """The gate of the database file at `path` (one per file per process)."""
    key = Path(path).resolve()
    with _gates_lock:
        if key not in _gates:
            _gates[key] = WriteGate(key)
        return _gates[key]
