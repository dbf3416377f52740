"""`sqlite:///PATH` — the embedded reading store: WAL, readings indexed by node and time,
one IMMEDIATE transaction per batch (the batch key, every new reading and the per-node
summary commit together or not at all). URL option: `?synchronous=full|normal`.

Exactly-once by reading id: `reading_ids` maps a 63-bit hash of each stored id to its row (a
compact integer B-tree, far cheaper to insert into than a text index of UUIDs). A hash seen
before sends the batch down a slow path that compares the real ids; two different ids that
share a hash (about one pair in 2^63) are told apart through `reading_id_overflow`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec

from ingest.fastwire import Reading
from ingest.settings import sqlite_path
from ingest.stores import sqlite_queries as queries
from ingest.stores.base import ReadingQuery, StoreUnavailable, WriteOutcome

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    gateway_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    profile TEXT,
    ts TEXT NOT NULL,          -- RFC 3339 ms UTC: text order is time order
    boot INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    score REAL,
    label TEXT,
    vals TEXT NOT NULL,        -- JSON object of values
    flags TEXT                 -- JSON list, NULL when empty
);
CREATE INDEX IF NOT EXISTS readings_node_ts ON readings (node_id, ts);
CREATE TABLE IF NOT EXISTS reading_ids (h INTEGER PRIMARY KEY, rid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reading_id_overflow (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL,
    received REAL NOT NULL,
    result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL,
    profile TEXT,
    last_ts TEXT NOT NULL,
    last_reading TEXT NOT NULL,
    readings INTEGER NOT NULL
);
"""
_INSERT = "INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_UPSERT_NODE = """
INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (node_id) DO UPDATE SET
    readings = readings + excluded.readings,
    gateway_id = CASE WHEN excluded.last_ts > last_ts THEN excluded.gateway_id ELSE gateway_id END,
    profile = CASE WHEN excluded.last_ts > last_ts THEN excluded.profile ELSE profile END,
    last_reading = CASE WHEN excluded.last_ts > last_ts
                   THEN excluded.last_reading ELSE last_reading END,
    last_ts = max(last_ts, excluded.last_ts)
"""
_CHUNK = 500  # keys per IN (...) lookup
_encode = msgspec.json.encode


def id_hash(reading_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(reading_id.encode(), digest_size=8).digest()) >> 1


class SqliteStore:
    def __init__(self, path: Path | str, synchronous: str = "full") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if synchronous not in ("full", "normal"):
            raise ValueError(f"synchronous must be full or normal, got {synchronous!r}")
        self.synchronous = synchronous
        self._local = threading.local()
        self._db().executescript(_SCHEMA)

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        query = parse_qs(urlsplit(url).query)
        path = str(sqlite_path(url)).split("?", 1)[0]
        return cls(path, synchronous=query.get("synchronous", ["full"])[0])

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA cache_size=-65536")
            self._local.conn = conn
        return conn

    def find_batch(self, batch_id: str) -> dict[str, Any] | None:
        try:
            row = (
                self._db()
                .execute("SELECT result FROM batches WHERE batch_id = ?", (batch_id,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite store unreadable: {exc}") from exc
        return json.loads(row[0]) if row else None

    def write_batch(
        self, batch_id: str, gateway_id: str, items: list[Reading], rejected: list[dict[str, Any]]
    ) -> WriteOutcome:
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite store busy or unwritable: {exc}") from exc
        try:
            outcome = self._write_locked(db, batch_id, gateway_id, items, rejected)
            db.execute("COMMIT")
            return outcome
        except BaseException as exc:
            db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreUnavailable(f"sqlite store write failed: {exc}") from exc
            raise

    def _write_locked(
        self,
        db: sqlite3.Connection,
        batch_id: str,
        gateway_id: str,
        items: list[Reading],
        rejected: list[dict[str, Any]],
    ) -> WriteOutcome:
        row = db.execute("SELECT result FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        if row:  # a concurrent request with the same key won the race
            return WriteOutcome(result={**json.loads(row[0]), "replayed": True})
        unique = list({r.id: r for r in items}.values())
        hashes = [id_hash(r.id) for r in unique]
        base = db.execute("SELECT coalesce(max(rid), 0) FROM readings").fetchone()[0] + 1
        before = db.total_changes
        db.execute("SAVEPOINT ids")
        db.executemany(
            "INSERT OR IGNORE INTO reading_ids VALUES (?, ?)",
            zip(hashes, range(base, base + len(unique)), strict=True),
        )
        if db.total_changes - before == len(unique):
            new = unique
            db.execute("RELEASE ids")
        else:
            db.execute("ROLLBACK TO ids")
            db.execute("RELEASE ids")
            new = _insert_ids_slowly(db, unique, hashes, base)
        db.executemany(_INSERT, (_row(rid, r) for rid, r in enumerate(new, start=base)))
        db.executemany(_UPSERT_NODE, _node_rows(new))
        result = {
            "batch_id": batch_id,
            "accepted": len(new),
            "duplicates": len(items) - len(new),
            "rejected": rejected,
            "replayed": False,
        }
        db.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?)",
            (batch_id, gateway_id, time.time(), json.dumps(result)),
        )
        return WriteOutcome(result=result, new=new)

    def nodes(self) -> list[dict[str, Any]]:
        return queries.nodes(self._db())

    def readings(self, query: ReadingQuery) -> tuple[list[dict[str, Any]], str | None]:
        return queries.readings(self._db(), query)

    def stats(self) -> dict[str, Any]:
        return queries.stats(self._db())

    def ping(self) -> None:
        try:
            self._db().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite store unreachable: {exc}") from exc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _insert_ids_slowly(
    db: sqlite3.Connection, unique: list[Reading], hashes: list[int], base: int
) -> list[Reading]:
    """Some hashes were seen before: keep only readings whose id is really new, and record
    their ids (in the overflow table when another id already holds the hash)."""
    stored: dict[int, str] = {}
    overflow: set[str] = set()
    for start in range(0, len(unique), _CHUNK):
        chunk_h = hashes[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk_h))
        stored.update(
            db.execute(
                "SELECT i.h, r.id FROM reading_ids i JOIN readings r ON r.rid = i.rid"
                f" WHERE i.h IN ({marks})",
                chunk_h,
            ).fetchall()
        )
        chunk_ids = [r.id for r in unique[start : start + _CHUNK]]
        overflow.update(
            row[0]
            for row in db.execute(
                f"SELECT id FROM reading_id_overflow WHERE id IN ({marks})", chunk_ids
            )
        )
    new: list[Reading] = []
    id_rows: list[tuple[int, int]] = []
    overflow_rows: list[tuple[str]] = []
    for reading, h in zip(unique, hashes, strict=True):
        if stored.get(h) == reading.id or reading.id in overflow:
            continue
        if h in stored:
            overflow_rows.append((reading.id,))
        else:
            id_rows.append((h, base + len(new)))
            stored[h] = reading.id
        new.append(reading)
    db.executemany("INSERT INTO reading_ids VALUES (?, ?)", id_rows)
    db.executemany("INSERT INTO reading_id_overflow VALUES (?)", overflow_rows)
    return new


def _row(rid: int, r: Reading) -> tuple:
    return (
        rid,
        r.id,
        r.gateway_id,
        r.node_id,
        r.profile,
        r.ts,
        r.boot,
        r.seq,
        r.score,
        r.label,
        _encode(r.values).decode(),
        _encode(r.flags).decode() if r.flags else None,
    )


def _node_rows(new: list[Reading]) -> list[tuple]:
    latest: dict[str, Reading] = {}
    counts: dict[str, int] = {}
    for r in new:
        counts[r.node_id] = counts.get(r.node_id, 0) + 1
        if r.node_id not in latest or r.ts > latest[r.node_id].ts:
            latest[r.node_id] = r
    return [
        (node, r.gateway_id, r.profile, r.ts, _encode(r).decode(), counts[node])
        for node, r in latest.items()
    ]
