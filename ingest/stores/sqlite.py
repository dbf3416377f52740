"""`sqlite:///PATH` — the embedded reading store: WAL, readings indexed by node and time,
one IMMEDIATE transaction per batch (the batch key, every new reading and the per-node
summary commit together or not at all). URL options: `?synchronous=full|normal`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ingest.settings import sqlite_path
from ingest.stores import sqlite_queries as queries
from ingest.stores.base import Parsed, ReadingQuery, StoreUnavailable, WriteOutcome

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    profile TEXT,
    ts TEXT NOT NULL,          -- RFC 3339 ms UTC: text order is time order
    boot INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    score REAL,
    label TEXT,
    doc TEXT NOT NULL          -- the reading's JSON as received
);
CREATE INDEX IF NOT EXISTS readings_node_ts ON readings (node_id, ts);
CREATE INDEX IF NOT EXISTS readings_ts ON readings (ts);
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
    last_doc TEXT NOT NULL,
    readings INTEGER NOT NULL
);
"""
_INSERT = "INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_UPSERT_NODE = """
INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (node_id) DO UPDATE SET
    readings = readings + excluded.readings,
    gateway_id = CASE WHEN excluded.last_ts > last_ts THEN excluded.gateway_id ELSE gateway_id END,
    profile = CASE WHEN excluded.last_ts > last_ts THEN excluded.profile ELSE profile END,
    last_doc = CASE WHEN excluded.last_ts > last_ts THEN excluded.last_doc ELSE last_doc END,
    last_ts = max(last_ts, excluded.last_ts)
"""
_CHUNK = 500  # ids per IN (...) lookup


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
        row = (
            self._db()
            .execute("SELECT result FROM batches WHERE batch_id = ?", (batch_id,))
            .fetchone()
        )
        return json.loads(row[0]) if row else None

    def write_batch(
        self, batch_id: str, gateway_id: str, items: list[Parsed], rejected: list[dict[str, Any]]
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
        items: list[Parsed],
        rejected: list[dict[str, Any]],
    ) -> WriteOutcome:
        row = db.execute("SELECT result FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        if row:  # a concurrent request with the same key won the race
            return WriteOutcome(result={**json.loads(row[0]), "replayed": True})
        unique = list({p.reading["id"]: p for p in items}.values())
        before = db.total_changes
        db.execute("SAVEPOINT readings")
        db.executemany(_INSERT, (_row(p) for p in unique))
        if db.total_changes - before == len(unique):
            new = unique
        else:  # some ids were stored before: redo with only the new ones
            db.execute("ROLLBACK TO readings")
            seen = _stored_ids(db, [p.reading["id"] for p in unique])
            new = [p for p in unique if p.reading["id"] not in seen]
            db.executemany(_INSERT, (_row(p) for p in new))
        db.execute("RELEASE readings")
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
        return WriteOutcome(result=result, new=[p.reading for p in new])

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


def _row(p: Parsed) -> tuple:
    r = p.reading
    return (
        r["id"],
        r["gateway_id"],
        r["node_id"],
        r.get("profile"),
        r["ts"],
        r["boot"],
        r["seq"],
        r.get("score"),
        r.get("label"),
        p.doc,
    )


def _node_rows(new: list[Parsed]) -> list[tuple]:
    latest: dict[str, Parsed] = {}
    counts: dict[str, int] = {}
    for p in new:
        node = p.reading["node_id"]
        counts[node] = counts.get(node, 0) + 1
        if node not in latest or p.reading["ts"] > latest[node].reading["ts"]:
            latest[node] = p
    return [
        (
            node,
            p.reading["gateway_id"],
            p.reading.get("profile"),
            p.reading["ts"],
            p.doc,
            counts[node],
        )
        for node, p in latest.items()
    ]


def _stored_ids(db: sqlite3.Connection, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        seen.update(
            r[0] for r in db.execute(f"SELECT id FROM readings WHERE id IN ({marks})", chunk)
        )
    return seen
