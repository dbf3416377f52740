"""`sqlite:///PATH` — the embedded reading store: WAL, readings stored a block per node per
batch and indexed by node and time, one IMMEDIATE transaction per batch (the batch key,
every new reading and the per-node summary commit together or not at all). URL option:
`?synchronous=full|normal`.

A block (`blocks`) is up to BLOCK_READINGS readings of one gateway's node from one batch,
stored as a JSON array of the readings as received (each an uplink-contract object) with
its first and last timestamp. One row per reading cost ~6 µs of SQLite per reading, a block
costs a few µs per block (docs/ingest.md, "Storage layout"). The view `readings` shows the
blocks one row per reading, for ad hoc SQL; the read API decodes blocks itself
(sqlite_queries.py). A file of the earlier row layout (a `readings` table) is converted at
open, once, in one transaction.

Exactly-once by reading id and batch key: ingest/stores/idledger.py.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import msgspec

from ingest.fastwire import Reading
from ingest.settings import sqlite_path
from ingest.stores import idledger, summary, writegate
from ingest.stores import sqlite_queries as queries
from ingest.stores.base import ReadingQuery, StoreUnavailable, WriteOutcome
from ingest.wire import ts_to_ms

BLOCK_READINGS = 1000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    bid INTEGER PRIMARY KEY,
    gateway_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    ts_lo TEXT NOT NULL,       -- RFC 3339 ms UTC: text order is time order
    ts_hi TEXT NOT NULL,
    n INTEGER NOT NULL,
    data TEXT NOT NULL         -- JSON array of the block's readings
);
CREATE INDEX IF NOT EXISTS blocks_ts ON blocks (ts_lo);
CREATE INDEX IF NOT EXISTS blocks_node_ts ON blocks (node_id, ts_lo);
CREATE TABLE IF NOT EXISTS block_span (ms INTEGER NOT NULL);  -- max(ts_hi - ts_lo) of any block
INSERT INTO block_span SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM block_span);
"""
_VIEW = """
CREATE VIEW IF NOT EXISTS readings AS
SELECT json_extract(r.value, '$.id') AS id, b.gateway_id AS gateway_id, b.node_id AS node_id,
       json_extract(r.value, '$.profile') AS profile, json_extract(r.value, '$.ts') AS ts,
       json_extract(r.value, '$.boot') AS boot, json_extract(r.value, '$.seq') AS seq,
       json_extract(r.value, '$.score') AS score, json_extract(r.value, '$.label') AS label,
       json_extract(r.value, '$.values') AS vals, json_extract(r.value, '$.flags') AS flags
FROM blocks AS b, json_each(b.data) AS r
"""
_INSERT = "INSERT INTO blocks VALUES (NULL, ?, ?, ?, ?, ?, ?)"
_encode = msgspec.json.encode
_ts = attrgetter("ts")


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
        _convert_row_layout(self._db())
        self._db().executescript(_VIEW)
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
            conn = self._local.conn = self._connect(cache_kib=4096)
        return conn

    def _write_db(self) -> sqlite3.Connection:
        """The one connection that writes, used under the gate's lock by whichever thread
        holds it: its page cache (the id ledger's B-tree above all) stays warm from batch to
        batch, where a connection per thread found it invalidated by the others' writes."""
        if self._writer is None:
            self._writer = self._connect(cache_kib=8192, check_same_thread=False)
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
        prepared = _Prepared(claim, blocks(unique), summary.summarize(unique))
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
            rows = blocks(new)
            totals = summary.summarize(new)
        _insert_blocks(db, rows)
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
        first = db.execute("SELECT min(ts_lo) FROM blocks").fetchone()[0]
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


def blocks(readings: list[Reading]) -> list[tuple]:
    """The `blocks` rows for `readings` (+ each block's time span in ms, last): per gateway
    and node, in arrival order, BLOCK_READINGS at most."""
    groups: dict[tuple[str, str], list[Reading]] = {}
    for r in readings:
        groups.setdefault((r.gateway_id, r.node_id), []).append(r)
    rows = []
    for (gateway_id, node_id), group in groups.items():
        for start in range(0, len(group), BLOCK_READINGS):
            part = group[start : start + BLOCK_READINGS]
            stamps = list(map(_ts, part))
            lo, hi = min(stamps), max(stamps)
            span = ts_to_ms(hi) - ts_to_ms(lo)
            rows.append((gateway_id, node_id, lo, hi, len(part), _encode(part).decode(), span))
    return rows


def _convert_row_layout(db: sqlite3.Connection) -> None:
    """A store of the row layout (one `readings` row per reading) → blocks, once."""
    db.execute("BEGIN IMMEDIATE")  # before the check: another worker may be converting it
    try:
        kind = db.execute("SELECT type FROM sqlite_master WHERE name = 'readings'").fetchone()
        if kind is None or kind[0] != "table":
            db.execute("COMMIT")
            return
        rows = db.execute(
            "SELECT id, ts, gateway_id, node_id, boot, seq, vals, profile, score, label, flags"
            " FROM readings ORDER BY gateway_id, node_id, ts, rid"
        )
        batch: list[Reading] = []
        for row in rows:
            batch.append(
                Reading(*row[:6], json.loads(row[6]), *row[7:10], json.loads(row[10] or "[]"))
            )
            if len(batch) >= 50_000:
                _insert_blocks(db, blocks(batch))
                batch = []
        _insert_blocks(db, blocks(batch))
        db.execute("DROP TABLE readings")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _insert_blocks(db: sqlite3.Connection, rows: list[tuple]) -> None:
    db.executemany(_INSERT, [row[:-1] for row in rows])
    if rows:
        db.execute("UPDATE block_span SET ms = max(ms, ?)", (max(row[-1] for row in rows),))
