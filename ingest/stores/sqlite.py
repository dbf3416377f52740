"""`sqlite:///PATH` — the embedded reading store: WAL, readings indexed by node and time,
one IMMEDIATE transaction per batch (the batch key, every new reading and the per-node
summary commit together or not at all). URL option: `?synchronous=full|normal`.

Exactly-once by reading id and batch key: ingest/stores/idledger.py.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import msgspec

from ingest.fastwire import Reading
from ingest.settings import sqlite_path
from ingest.stores import idledger, summary, writegate
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
"""
_INSERT = "INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_encode = msgspec.json.encode


class SqliteStore:
    def __init__(self, path: Path | str, synchronous: str = "full") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if synchronous not in ("full", "normal"):
            raise ValueError(f"synchronous must be full or normal, got {synchronous!r}")
        self.synchronous = synchronous
        self._local = threading.local()
        self._gate = writegate.gate(self.path)
        self._writer: sqlite3.Connection | None = None
        self._db().executescript(_SCHEMA + summary.SCHEMA)
        self._legacy_ledger = idledger.setup(self._db())

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        query = parse_qs(urlsplit(url).query)
        path = str(sqlite_path(url)).split("?", 1)[0]
        return cls(path, synchronous=query.get("synchronous", ["full"])[0])

    def _connect(self, cache_kib: int, **options: Any) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, **options)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute(f"PRAGMA cache_size=-{cache_kib}")
        return conn

    def _db(self) -> sqlite3.Connection:
        """This thread's connection, for reads."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(cache_kib=16384)
        return conn

    def _write_db(self) -> sqlite3.Connection:
        """The one connection that writes, used under the gate's lock by whichever thread
        holds it: its page cache (the id ledger's B-tree above all) stays warm from batch to
        batch, where a connection per thread found it invalidated by the others' writes."""
        if self._writer is None:
            self._writer = self._connect(cache_kib=65536, check_same_thread=False)
        return self._writer

    def find_batch(self, batch_id: str) -> dict[str, Any] | None:
        try:
            return idledger.find_batch(self._db(), batch_id)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite store unreadable: {exc}") from exc

    def write_batch(
        self,
        batch_id: str,
        gateway_id: str,
        items: list[Reading],
        rejected: list[dict[str, Any]],
        rejected_total: int | None = None,
    ) -> WriteOutcome:
        claim = idledger.prepare(items)  # what needs no database: before the lock
        unique = claim.unique
        prepared = _Prepared(claim, [_row(r) for r in unique], summary.summarize(unique))
        with self._gate.lock:
            db = self._write_db()
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"sqlite store busy or unwritable: {exc}") from exc
            try:
                outcome = self._write_locked(db, batch_id, gateway_id, items, rejected, prepared)
                if rejected_total is not None and not outcome.result["replayed"]:
                    outcome.result["rejected_total"] = rejected_total
                    idledger.update_result(db, batch_id, outcome.result)
                db.execute("COMMIT")
            except BaseException as exc:
                db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreUnavailable(f"sqlite store write failed: {exc}") from exc
                raise
        return outcome

    def _write_locked(
        self,
        db: sqlite3.Connection,
        batch_id: str,
        gateway_id: str,
        items: list[Reading],
        rejected: list[dict[str, Any]],
        prepared: _Prepared,
    ) -> WriteOutcome:
        previous = idledger.find_batch(db, batch_id)
        if previous is not None:  # a concurrent request with the same key won the race
            return WriteOutcome(result={**previous, "replayed": True})
        positions = idledger.claim(db, prepared.claim, self._legacy_ledger)
        if positions is None:  # all new: the common case
            new, rows, totals = prepared.claim.unique, prepared.rows, prepared.summary
        else:
            new = [prepared.claim.unique[i] for i in positions]
            rows = [prepared.rows[i] for i in positions]
            totals = summary.summarize(new)
        db.executemany(_INSERT, rows)  # rid NULL: SQLite numbers them max(rid) + 1, ...
        summary.apply(db, totals)
        result = idledger.new_result(batch_id, items, new, rejected)
        idledger.record_batch(db, batch_id, gateway_id, result)
        return WriteOutcome(result=result, new=new)

    def nodes(self) -> list[dict[str, Any]]:
        return summary.nodes(self._db())

    def readings(self, query: ReadingQuery) -> tuple[list[dict[str, Any]], str | None]:
        return queries.readings(self._db(), query)

    def stats(self) -> dict[str, Any]:
        db = self._db()
        first = db.execute("SELECT min(ts) FROM readings").fetchone()[0]
        return {**summary.stats(db), "first_ts": first}

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
        with self._gate.lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None


class _Prepared(NamedTuple):
    claim: idledger.Prepared
    rows: list[tuple]
    summary: summary.Summary


def _row(r: Reading) -> tuple:
    return (
        None,
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
