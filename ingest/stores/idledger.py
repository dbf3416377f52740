"""Exactly-once bookkeeping shared by the stores: which reading ids and batch keys are stored.

`reading_ids` maps an integer key of each stored reading to its id. The key is chosen so that
a batch's inserts land next to each other in the B-tree (a random key dirties one page per
reading, and every dirty page is written to the WAL and checkpointed again: on the paper's
12x set that was over half of the ingest's CPU, docs/benchmarks.md):

- A *canonical* id, the one the contract derives (`wire.reading_id`: uuid5 of
  gateway/node/boot/seq), is keyed by `stream << 32 | seq`, where `streams` numbers each
  (gateway, node, boot). A node's readings then append to their stream's run of keys. Same
  id ⟺ same (gateway, node, boot, seq), so a key seen before is an id seen before.
- Any other id is keyed by a negative 63-bit hash of the id. A batch whose keys are all new
  takes the fast path; otherwise the real ids are compared, and two different ids that share
  a hash (about one pair in 2^63) are told apart through `reading_id_overflow`.

The one case the two key spaces do not see across: a non-canonical reading whose id is the
canonical id of a *different* (gateway, node, boot, seq). Such an id is not the reading's own
deterministic id (uplink contract, `id`), so both are kept.

Ledgers of format 1 (every id under a positive hash key) are kept as `reading_ids_v1` and
consulted, read-only, before each claim, so an id stored before an upgrade stays a
duplicate. `prepare` (canonical check, hashes) needs no database and runs before the write
transaction; `claim` runs inside it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from ingest import wire
from ingest.fastwire import Reading

FORMAT = 2
_TABLES = (
    "CREATE TABLE IF NOT EXISTS ledger_format (version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS reading_ids (h INTEGER PRIMARY KEY, id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS reading_id_overflow (id TEXT PRIMARY KEY) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS streams (
        stream INTEGER PRIMARY KEY,
        gateway_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        boot INTEGER NOT NULL,
        UNIQUE (gateway_id, node_id, boot)
    )""",
    """CREATE TABLE IF NOT EXISTS batches (
        batch_id TEXT PRIMARY KEY,
        gateway_id TEXT NOT NULL,
        received REAL NOT NULL,
        result TEXT NOT NULL
    )""",
)
_CHUNK = 500
_NAMESPACE = wire.READING_NAMESPACE.bytes
_sha1 = hashlib.sha1


def setup(db: sqlite3.Connection) -> bool:
    """Create the ledger's tables in `db` (autocommit connection), moving a format-1 ledger
    aside. True when that legacy ledger holds ids `claim` must consult."""
    db.execute("BEGIN IMMEDIATE")
    try:
        has = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "reading_ids" in has and "ledger_format" not in has:
            db.execute("ALTER TABLE reading_ids RENAME TO reading_ids_v1")
        for statement in _TABLES:
            db.execute(statement)
        if db.execute("SELECT count(*) FROM ledger_format").fetchone()[0] == 0:
            db.execute("INSERT INTO ledger_format VALUES (?)", (FORMAT,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    legacy = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='reading_ids_v1'"
    ).fetchone()
    return bool(legacy and db.execute("SELECT 1 FROM reading_ids_v1 LIMIT 1").fetchone())


def id_hash(reading_id: str) -> int:
    """The format-1 key of an id: a positive 63-bit hash."""
    return int.from_bytes(hashlib.blake2b(reading_id.encode(), digest_size=8).digest()) >> 1


def is_canonical(r: Reading) -> bool:
    """r.id == wire.reading_id(r.gateway_id, r.node_id, r.boot, r.seq), computed without
    building UUID objects (this runs once per reading)."""
    name = f"{r.gateway_id}/{r.node_id}/{r.boot}/{r.seq}".encode()
    d = bytearray(_sha1(_NAMESPACE + name).digest()[:16])
    d[6] = d[6] & 0x0F | 0x50  # version 5
    d[8] = d[8] & 0x3F | 0x80  # RFC 4122 variant
    x = d.hex()
    return r.id == f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


@dataclass
class Prepared:
    """The part of a claim that needs no database: each id once, in order, and per reading
    its negative hash key (non-canonical ids) or None (canonical: keyed by stream)."""

    unique: list[Reading]
    hashed: list[int | None]


def prepare(items: list[Reading]) -> Prepared:
    unique = list({r.id: r for r in items}.values())
    return Prepared(unique, [None if is_canonical(r) else -1 - id_hash(r.id) for r in unique])


def find_batch(db: sqlite3.Connection, batch_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT result FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
    return json.loads(row[0]) if row else None


def record_batch(db: sqlite3.Connection, batch_id: str, gateway_id: str, result: dict) -> None:
    db.execute(
        "INSERT INTO batches VALUES (?, ?, ?, ?)",
        (batch_id, gateway_id, time.time(), json.dumps(result)),
    )


def new_result(
    batch_id: str, items: list[Reading], new: list[Reading], rejected: list[dict[str, Any]]
) -> dict[str, Any]:
    """The 200 body of a batch stored now (not a replay)."""
    return {
        "batch_id": batch_id,
        "accepted": len(new),
        "duplicates": len(items) - len(new),
        "rejected": rejected,
        "replayed": False,
    }


def update_result(db: sqlite3.Connection, batch_id: str, result: dict) -> None:
    db.execute("UPDATE batches SET result = ? WHERE batch_id = ?", (json.dumps(result), batch_id))


def claim(db: sqlite3.Connection, prepared: Prepared, legacy: bool = False) -> list[int] | None:
    """Record the ids of `prepared.unique` not stored before: None when all were new, else
    the positions of the new ones. `legacy`: what `setup` returned."""
    unique = prepared.unique
    keys = _keys(db, prepared)
    seen = _seen_in_legacy(db, unique) if legacy else set()
    if not seen:
        before = db.total_changes
        db.execute("SAVEPOINT claim")
        db.executemany(
            "INSERT OR IGNORE INTO reading_ids VALUES (?, ?)",
            zip(keys, (r.id for r in unique), strict=True),
        )
        if db.total_changes - before == len(unique):
            db.execute("RELEASE claim")
            return None
        db.execute("ROLLBACK TO claim")
        db.execute("RELEASE claim")
    return _claim_slowly(db, unique, keys, seen)


def _keys(db: sqlite3.Connection, prepared: Prepared) -> list[int]:
    streams: dict[tuple[str, str, int], int] = {}
    for r, h in zip(prepared.unique, prepared.hashed, strict=True):
        if h is None:
            streams.setdefault((r.gateway_id, r.node_id, r.boot), 0)
    for triple in streams:
        row = db.execute(
            "SELECT stream FROM streams WHERE gateway_id = ? AND node_id = ? AND boot = ?", triple
        ).fetchone()
        if row is None:
            row = (db.execute("INSERT INTO streams (gateway_id, node_id, boot) VALUES (?, ?, ?)",
                              triple).lastrowid,)  # fmt: skip
        streams[triple] = row[0]
    return [
        streams[(r.gateway_id, r.node_id, r.boot)] << 32 | r.seq if h is None else h
        for r, h in zip(prepared.unique, prepared.hashed, strict=True)
    ]


def _seen_in_legacy(db: sqlite3.Connection, unique: list[Reading]) -> set[str]:
    """Ids of `unique` that a format-1 ledger already holds."""
    seen: set[str] = set()
    for start in range(0, len(unique), _CHUNK):
        ids = [r.id for r in unique[start : start + _CHUNK]]
        marks = ",".join("?" * len(ids))
        hashed = {id_hash(i): i for i in ids}
        rows = db.execute(f"SELECT h, id FROM reading_ids_v1 WHERE h IN ({marks})", list(hashed))
        seen.update(i for h, i in rows if hashed.get(h) == i)
        seen.update(
            row[0]
            for row in db.execute(f"SELECT id FROM reading_id_overflow WHERE id IN ({marks})", ids)
        )
    return seen


def _claim_slowly(
    db: sqlite3.Connection, unique: list[Reading], keys: list[int], seen: set[str]
) -> list[int]:
    stored: dict[int, str] = {}
    overflow: set[str] = set(seen)
    for start in range(0, len(unique), _CHUNK):
        chunk_k = keys[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk_k))
        stored.update(
            db.execute(f"SELECT h, id FROM reading_ids WHERE h IN ({marks})", chunk_k).fetchall()
        )
        chunk_ids = [r.id for r in unique[start : start + _CHUNK]]
        overflow.update(
            row[0]
            for row in db.execute(
                f"SELECT id FROM reading_id_overflow WHERE id IN ({marks})", chunk_ids
            )
        )
    new: list[int] = []
    id_rows: list[tuple[int, str]] = []
    overflow_rows: list[tuple[str]] = []
    for position, (reading, key) in enumerate(zip(unique, keys, strict=True)):
        if stored.get(key) == reading.id or reading.id in overflow:
            continue
        if key in stored:
            overflow_rows.append((reading.id,))
        else:
            id_rows.append((key, reading.id))
            stored[key] = reading.id
        new.append(position)
    db.executemany("INSERT INTO reading_ids VALUES (?, ?)", id_rows)
    db.executemany("INSERT INTO reading_id_overflow VALUES (?)", overflow_rows)
    return new
