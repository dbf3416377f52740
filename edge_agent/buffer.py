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
crash the same rows go out again under the same Idempotency-Key; only a 200 that does not
account for every line makes the shipper give the rows a new batch id (`rekey_batch`).

Full disk (edge_agent/reserve.py): the buffer keeps a reserve file and a WAL bounded to a
quarter of it. The first write that fails with SQLITE_FULL releases the reserve and puts
the buffer in disk-full mode: new readings are refused (not acknowledged, so their nodes
resend them), batches are claimed and purged in chunks that fit in the freed space, and
the transfer log is not written. The mode ends when the reserve can be allocated again.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
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
from edge_agent.reserve import Reserve, reserve_size

log = logging.getLogger(__name__)

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
    refused_for_disk: int = 0  # disk-full mode: not stored, not acknowledged


@dataclass
class Batch:
    """A claimed batch: its NDJSON body (the rows' lines joined, in order) and row count.
    The body is built row by row into one buffer, not as a list of 5,000 line objects
    first, so a catch-up's back-to-back batches do not churn the object allocator."""

    batch_id: str
    body: bytes | bytearray
    rows: int
    attempts: int


CACHE_KIB = 512  # SQLite page cache of the writing connection


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    else:
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        # A small page cache (default 2 MiB): while the ingest is down the table grows and the
        # cache would fill to its cap, ~1.5 MB more resident for the outage's length. The
        # pages it misses are in the kernel's page cache; appends touch few pages anyway.
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def _disk_guard(method: Any) -> Any:
    """A write method of Buffer: on SQLITE_FULL, switch to disk-full mode, then re-raise."""

    @functools.wraps(method)
    def guarded(self: Buffer, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode == sqlite3.SQLITE_FULL:
                with self._lock:
                    self._enter_disk_full(exc)
            raise

    return guarded


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
        # Headroom: a reserve file, and a WAL checkpointed before it outgrows a quarter of it
        # (a checkpoint may have to extend the database by what the WAL holds).
        self.reserve = Reserve(self.dir, reserve_size(self.dir))
        page = self._db.execute("PRAGMA page_size").fetchone()[0]
        wal_pages = max(16, min(1000, self.reserve.size // 4 // page))
        self._db.execute(f"PRAGMA wal_autocheckpoint={wal_pages}")
        self._wal_bytes = wal_pages * page
        self._next_restore = 0.0
        self.disk_full = not self.reserve.take()
        if self.disk_full:
            log.error(
                "disk full at start: no room for the %d-byte reserve in %s; refusing new"
                " readings until there is",
                self.reserve.size,
                self.dir,
            )

    # ---- disk errors ------------------------------------------------------------------
    def _rollback(self) -> None:
        """Undo the open transaction unless SQLite already did: a COMMIT that fails on a full
        disk rolls back by itself, and a second ROLLBACK would raise 'no transaction is
        active' instead of the real error."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _enter_disk_full(self, exc: Exception) -> None:
        """Lock held. Release the reserve so that the WAL can be checkpointed and acknowledged
        batches purged; refuse new readings until the reserve is back."""
        if self.disk_full:
            return
        self.disk_full = True
        self._next_restore = time.monotonic() + 1.0
        released = self.reserve.release()
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        log.error(
            "disk full (%s): %s; refusing new readings (not acknowledged: nodes resend) and"
            " shipping in chunks of <= %d rows until the reserve fits again",
            exc,
            f"released the {self.reserve.size}-byte reserve" if released else "no reserve left",
            self._disk_full_rows(),
        )

    def _restore_reserve(self) -> bool:
        """Lock held, disk-full mode: leave it if the reserve can be allocated again with room
        left for the WAL. Tried at most once a second."""
        now = time.monotonic()
        if now < self._next_restore:
            return False
        self._next_restore = now + 1.0
        if self._bytes <= self.reserve.size // 4 and self._free_pages() >= self.reserve.size:
            # drained: give the free pages the purges left back to the filesystem (the copy
            # is small now: built in memory, not in a temp file on this full disk, then
            # written through the WAL, which is truncated below)
            self._db.execute("PRAGMA temp_store=MEMORY")
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("VACUUM")
            self._db.execute("PRAGMA temp_store=DEFAULT")
        wal = Path(f"{self.path}-wal")
        # the WAL's space back too; it grows again to about the size it had
        regrow = max(self._wal_bytes, wal.stat().st_size if wal.exists() else 0)
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # room for the reserve, the WAL and as much again for new readings (on the disk or in
        # free pages of the file), or it would only fill up again at once
        if self.reserve.free_bytes() + self._free_pages() < 2 * self.reserve.size + regrow:
            return False
        if not self.reserve.take():
            return False
        self.disk_full = False
        log.warning(
            "disk space is back: %d-byte reserve allocated again; accepting new readings",
            self.reserve.size,
        )
        return True

    def _free_pages(self) -> int:
        """Bytes in the database file's free pages (left by deletes, reused by inserts)."""
        pages = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return pages * self._db.execute("PRAGMA page_size").fetchone()[0]

    def _disk_full_rows(self) -> int:
        """Rows per claim and per purge transaction on a full disk: a quarter of the reserve
        in payload, so each transaction's WAL fits in the space the reserve freed."""
        average = self._bytes / self._rows if self._rows else 1.0
        return max(1, int(self.reserve.size / 4 / max(average, 1.0)))

    # ---- committer side -------------------------------------------------------------
    @_disk_guard
    def write_group(
        self,
        readings: Sequence[Stored],
        counter_deltas: dict[Key, int],
        nodes: Iterable[dict[str, Any]] = (),
    ) -> WriteResult:
        """Insert readings, counters and node state in one fsync'd transaction."""
        with self._lock:
            refused_for_disk = 0
            if readings and self.disk_full and not self._restore_reserve():
                refused_for_disk, readings = len(readings), []
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
                self._rollback()
                raise
            if inserted == len(readings):
                self._rows += inserted
                self._bytes += sum(len(r.line) for r in readings)
            else:
                self._recount()
            return WriteResult(
                inserted, len(readings) - inserted, dropped, refused, refused_for_disk
            )

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
    @_disk_guard
    def claim_batch(self, max_rows: int) -> Batch | None:
        """The oldest unacked pending batch, else a new one over the oldest free rows."""
        with self._lock:
            db = self._db
            row = db.execute(
                "SELECT batch_id, attempts FROM batches WHERE state = 'pending'"
                " ORDER BY created LIMIT 1"
            ).fetchone()
            if row is not None:
                body, rows = self._body(row[0])
                if rows:
                    return Batch(row[0], body, rows, row[1])
                db.execute("DELETE FROM batches WHERE batch_id = ?", (row[0],))  # quota-dropped
            first = db.execute(
                "SELECT n FROM readings WHERE batch_id IS NULL ORDER BY n LIMIT 1"
            ).fetchone()
            if first is None:
                if self.disk_full:
                    self._restore_reserve()
                return None
            if self.disk_full:
                max_rows = min(max_rows, self._disk_full_rows())
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
                self._rollback()
                raise
            return Batch(batch_id, *self._body(batch_id), 0)

    def _body(self, batch_id: str) -> tuple[bytearray, int]:
        body, rows = bytearray(), 0
        for (line,) in self._db.execute(
            "SELECT line FROM readings WHERE batch_id = ? ORDER BY n", (batch_id,)
        ):
            body += line
            rows += 1
        return body, rows

    @_disk_guard
    def ack_batch(self, batch_id: str, deltas: dict[Key, int]) -> int:
        """The ingest answered 200: purge the batch's rows (and only now). In disk-full mode
        in several transactions of `_disk_full_rows()` each; if one fails, the shipper
        retries the purge, and after a crash the rest of the batch goes out again (the
        ingest dedupes by reading id)."""
        purged = 0
        with self._lock:
            db = self._db
            while True:
                chunk = self._disk_full_rows() if self.disk_full else -1  # -1: no LIMIT
                db.execute("BEGIN IMMEDIATE")
                try:
                    rows, size, last = db.execute(
                        "SELECT count(*), coalesce(sum(length(line)), 0), max(n) FROM (SELECT"
                        " n, line FROM readings WHERE batch_id = ? ORDER BY n LIMIT ?)",
                        (batch_id, chunk),
                    ).fetchone()
                    db.execute(
                        "DELETE FROM readings WHERE batch_id = ? AND n <= ?", (batch_id, last)
                    )
                    done = chunk < 0 or rows < chunk
                    if done:
                        db.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))
                        self._write_counters(deltas)
                    db.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
                self._rows -= rows
                self._bytes -= size
                purged += rows
                if done:
                    return purged

    @_disk_guard
    def note_attempt(self, batch_id: str, error: str, *, rejected: bool = False) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE batches SET attempts = attempts + 1, last_error = ?,"
                " state = CASE WHEN ? THEN 'rejected' ELSE state END WHERE batch_id = ?",
                (error[:500], rejected, batch_id),
            )

    @_disk_guard
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
                self._rollback()
                raise
        return new_id

    @_disk_guard
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
                self._rollback()
                raise
            return ids

    @_disk_guard
    def log_transfer(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if self.disk_full:
                return  # the log is for diagnosis; on a full disk the space goes to purges
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

    @_disk_guard
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

    def release_memory(self) -> None:
        """Empty SQLite's page cache (it refills as pages are read again): called when a
        backlog has drained, so the cache a catch-up filled does not stay resident."""
        with self._lock:
            self._db.execute("PRAGMA shrink_memory")

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
