"""The durable store-and-forward buffer: one SQLite database in the state directory.

Durability settings (see docs/edge-agent.md, "Durability"):
- `journal_mode=WAL`: readers (status page, shipper) never block the committer.
- `synchronous=FULL`: every COMMIT fsyncs the WAL before returning, so a reading is on the
  storage device when its ack is sent; with WAL, NORMAL would lose the last commits on a
  power cut, which is exactly what we promise not to do.
- Readings arrive in group commits (one transaction per ≤ `group_commit_ms` of arrivals),
  so the fsync cost is shared by every reading of the group.

Rows are deleted only by `ack_batch`, i.e. after the ingest's 200, or by the disk-quota
policy (counted). A batch id is assigned and committed *before* the first send, so after a
crash the same rows go out again under the same Idempotency-Key.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.metrics import Key

DB_NAME = "buffer.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    n INTEGER PRIMARY KEY AUTOINCREMENT,   -- arrival order
    id TEXT NOT NULL UNIQUE,               -- deterministic reading id (ingest.wire)
    batch_id TEXT,                         -- NULL until claimed into a batch
    line BLOB NOT NULL                     -- the NDJSON line, ready to ship
);
CREATE INDEX IF NOT EXISTS readings_batch ON readings(batch_id);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', -- pending | rejected (a 400: kept, not resent)
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS transfers (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL, batch_id TEXT NOT NULL, rows INTEGER, raw_bytes INTEGER,
    compressed_bytes INTEGER, codec TEXT, stages TEXT, status INTEGER, result TEXT
);
CREATE TABLE IF NOT EXISTS counters (
    component TEXT NOT NULL, event TEXT NOT NULL, reason TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (component, event, reason)
);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY, profile TEXT, boot INTEGER, last_seq INTEGER, last_seen REAL,
    last_values TEXT, score REAL, label TEXT, readings INTEGER NOT NULL DEFAULT 0,
    gaps INTEGER NOT NULL DEFAULT 0, source TEXT
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
TRANSFER_LOG_KEEP = 1000


@dataclass
class Stored:
    """One reading ready for the buffer."""

    id: str
    line: bytes


@dataclass
class WriteResult:
    inserted: int
    duplicates: int
    dropped_for_quota: int
    refused_for_quota: int


@dataclass
class Batch:
    batch_id: str
    lines: list[bytes]
    attempts: int


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    else:
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class Buffer:
    """All database access of the agent; one connection, serialised by a lock."""

    def __init__(self, state_dir: str | Path, quota_bytes: int, quota_policy: str) -> None:
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / DB_NAME
        self.quota_bytes = quota_bytes
        self.quota_policy = quota_policy
        self._lock = threading.Lock()
        self._db = connect(self.path)
        self._db.executescript(SCHEMA)
        _fsync_dir(self.dir)
        row = self._db.execute("SELECT count(*), coalesce(sum(length(line)), 0) FROM readings")
        self._rows, self._bytes = row.fetchone()

    # ---- committer side -------------------------------------------------------------
    def write_group(
        self,
        readings: Sequence[Stored],
        counter_deltas: dict[Key, int],
        nodes: Iterable[dict[str, Any]] = (),
    ) -> WriteResult:
        """Insert readings, counters and node state in one fsync'd transaction."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                incoming = sum(len(r.line) for r in readings)
                dropped = refused = 0
                if self._bytes + incoming > self.quota_bytes:
                    if self.quota_policy == "drop_oldest":
                        dropped = self._drop_oldest(self._bytes + incoming - self.quota_bytes)
                    else:
                        refused, readings = len(readings), []
                before = db.total_changes
                db.executemany(
                    "INSERT OR IGNORE INTO readings (id, line) VALUES (?, ?)",
                    [(r.id, r.line) for r in readings],
                )
                inserted = db.total_changes - before
                self._write_counters(counter_deltas)
                self._write_nodes(nodes)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if inserted == len(readings):
                self._rows += inserted
                self._bytes += sum(len(r.line) for r in readings)
            else:
                self._recount()
            return WriteResult(inserted, len(readings) - inserted, dropped, refused)

    def _drop_oldest(self, need: int) -> int:
        freed = dropped = 0
        cutoff = None
        for n, size in self._db.execute("SELECT n, length(line) FROM readings ORDER BY n"):
            freed += size
            dropped += 1
            cutoff = n
            if freed >= need:
                break
        if cutoff is not None:
            self._db.execute("DELETE FROM readings WHERE n <= ?", (cutoff,))
            self._rows -= dropped
            self._bytes -= freed
        return dropped

    def _write_counters(self, deltas: dict[Key, int]) -> None:
        self._db.executemany(
            "INSERT INTO counters VALUES (?, ?, ?, ?) ON CONFLICT (component, event, reason)"
            " DO UPDATE SET value = value + excluded.value",
            [(*key, value) for key, value in deltas.items()],
        )

    def _write_nodes(self, nodes: Iterable[dict[str, Any]]) -> None:
        self._db.executemany(
            "INSERT INTO nodes (node_id, profile, boot, last_seq, last_seen, last_values, score,"
            " label, readings, gaps, source) VALUES (:node_id, :profile, :boot, :last_seq,"
            " :last_seen, :last_values, :score, :label, :readings, :gaps, :source)"
            " ON CONFLICT (node_id) DO UPDATE SET profile = excluded.profile,"
            " boot = excluded.boot, last_seq = excluded.last_seq, last_seen = excluded.last_seen,"
            " last_values = excluded.last_values, score = excluded.score,"
            " label = excluded.label, readings = excluded.readings, gaps = excluded.gaps,"
            " source = excluded.source",
            list(nodes),
        )

    def _recount(self) -> None:
        row = self._db.execute("SELECT count(*), coalesce(sum(length(line)), 0) FROM readings")
        self._rows, self._bytes = row.fetchone()

    # ---- shipper side ---------------------------------------------------------------
    def claim_batch(self, max_rows: int) -> Batch | None:
        """The oldest unacked pending batch, else a new one over the oldest free rows."""
        with self._lock:
            db = self._db
            row = db.execute(
                "SELECT batch_id, attempts FROM batches WHERE state = 'pending'"
                " ORDER BY created LIMIT 1"
            ).fetchone()
            if row is not None:
                lines = self._lines(row[0])
                if lines:
                    return Batch(row[0], lines, row[1])
                db.execute("DELETE FROM batches WHERE batch_id = ?", (row[0],))  # quota-dropped
            first = db.execute(
                "SELECT n FROM readings WHERE batch_id IS NULL ORDER BY n LIMIT 1"
            ).fetchone()
            if first is None:
                return None
            batch_id = str(uuid.uuid4())
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "UPDATE readings SET batch_id = ? WHERE n IN (SELECT n FROM readings"
                    " WHERE batch_id IS NULL ORDER BY n LIMIT ?)",
                    (batch_id, max_rows),
                )
                db.execute(
                    "INSERT INTO batches (batch_id, created) VALUES (?, ?)", (batch_id, time.time())
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return Batch(batch_id, self._lines(batch_id), 0)

    def _lines(self, batch_id: str) -> list[bytes]:
        rows = self._db.execute(
            "SELECT line FROM readings WHERE batch_id = ? ORDER BY n", (batch_id,)
        )
        return [bytes(r[0]) for r in rows]

    def ack_batch(self, batch_id: str, deltas: dict[Key, int]) -> int:
        """The ingest answered 200: purge the batch's rows (and only now)."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                size = db.execute(
                    "SELECT count(*), coalesce(sum(length(line)), 0) FROM readings"
                    " WHERE batch_id = ?",
                    (batch_id,),
                ).fetchone()
                db.execute("DELETE FROM readings WHERE batch_id = ?", (batch_id,))
                db.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))
                self._write_counters(deltas)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._rows -= size[0]
            self._bytes -= size[1]
            return size[0]

    def note_attempt(self, batch_id: str, error: str, *, rejected: bool = False) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE batches SET attempts = attempts + 1, last_error = ?,"
                " state = CASE WHEN ? THEN 'rejected' ELSE state END WHERE batch_id = ?",
                (error[:500], rejected, batch_id),
            )

    def rekey_batch(self, batch_id: str) -> str:
        """Give a pending batch a new id (same rows): its next upload is a new request."""
        new_id = str(uuid.uuid4())
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("UPDATE batches SET batch_id = ? WHERE batch_id = ?", (new_id, batch_id))
                db.execute(
                    "UPDATE readings SET batch_id = ? WHERE batch_id = ?", (new_id, batch_id)
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return new_id

    def split_batch(self, batch_id: str) -> list[str]:
        """A 413: replace the batch by two halves with new ids (nothing of it was stored)."""
        with self._lock:
            db = self._db
            ns = [
                r[0]
                for r in db.execute(
                    "SELECT n FROM readings WHERE batch_id = ? ORDER BY n", (batch_id,)
                )
            ]
            if len(ns) < 2:
                return []
            halves = [ns[: len(ns) // 2], ns[len(ns) // 2 :]]
            ids = [str(uuid.uuid4()) for _ in halves]
            db.execute("BEGIN IMMEDIATE")
            try:
                created = db.execute(
                    "SELECT created FROM batches WHERE batch_id = ?", (batch_id,)
                ).fetchone()[0]
                for offset, (new_id, half) in enumerate(zip(ids, halves, strict=True)):
                    db.execute(
                        "INSERT INTO batches (batch_id, created) VALUES (?, ?)",
                        (new_id, created + offset * 1e-6),
                    )
                    db.execute(
                        "UPDATE readings SET batch_id = ? WHERE n BETWEEN ? AND ? AND batch_id = ?",
                        (new_id, half[0], half[-1], batch_id),
                    )
                db.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return ids

    def log_transfer(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO transfers (at, batch_id, rows, raw_bytes, compressed_bytes, codec,"
                " stages, status, result) VALUES (:at, :batch_id, :rows, :raw_bytes,"
                " :compressed_bytes, :codec, :stages, :status, :result)",
                {**entry, "stages": json.dumps(entry.get("stages", {}))},
            )
            self._db.execute(
                "DELETE FROM transfers WHERE n <= (SELECT max(n) FROM transfers) - ?",
                (TRANSFER_LOG_KEEP,),
            )

    # ---- settings and introspection -------------------------------------------------
    def get_setting(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                " SET value = excluded.value",
                (key, value),
            )

    def load_counters(self) -> list[tuple[Key, int]]:
        with self._lock:
            rows = self._db.execute("SELECT component, event, reason, value FROM counters")
            return [((c, e, r), v) for c, e, r, v in rows]

    def load_nodes(self) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute("SELECT * FROM nodes")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur]

    def depth(self) -> tuple[int, int]:
        """(pending rows, pending payload bytes)."""
        return self._rows, self._bytes

    def disk_bytes(self) -> int:
        return sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if p.exists()
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _fsync_dir(path: Path) -> None:
    """Make the database file's directory entry itself durable (new state dirs)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
