"""Exactly-once bookkeeping shared by the stores: which reading ids and batch keys are stored.

`reading_ids` maps a 63-bit hash of each stored id to the id (a compact integer B-tree: far
cheaper to insert into than a text index of UUIDs). A batch whose hashes are all new takes
the fast path; otherwise the real ids are compared, and two different ids that share a hash
(about one pair in 2^63) are told apart through `reading_id_overflow`. `prepare` (hashes)
needs no database and runs before the write transaction; `claim` runs inside it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from typing import Any

from ingest.fastwire import Reading

SCHEMA = """
CREATE TABLE IF NOT EXISTS reading_ids (h INTEGER PRIMARY KEY, id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reading_id_overflow (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL,
    received REAL NOT NULL,
    result TEXT NOT NULL
);
"""
_CHUNK = 500


def id_hash(reading_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(reading_id.encode(), digest_size=8).digest()) >> 1


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


def prepare(items: list[Reading]) -> tuple[list[Reading], list[int]]:
    """`items` each id once (in order) and their hashes: the part of a claim that needs no
    database, done before the write transaction."""
    unique = list({r.id: r for r in items}.values())
    return unique, [id_hash(r.id) for r in unique]


def claim(db: sqlite3.Connection, unique: list[Reading], hashes: list[int]) -> list[int] | None:
    """Record the ids of `unique` (from `prepare`) not stored before: None when all were
    new, else the positions of the new ones."""
    before = db.total_changes
    db.execute("SAVEPOINT claim")
    db.executemany(
        "INSERT OR IGNORE INTO reading_ids VALUES (?, ?)",
        zip(hashes, (r.id for r in unique), strict=True),
    )
    if db.total_changes - before == len(unique):
        db.execute("RELEASE claim")
        return None
    db.execute("ROLLBACK TO claim")
    db.execute("RELEASE claim")
    return _claim_slowly(db, unique, hashes)


def _claim_slowly(db: sqlite3.Connection, unique: list[Reading], hashes: list[int]) -> list[int]:
    stored: dict[int, str] = {}
    overflow: set[str] = set()
    for start in range(0, len(unique), _CHUNK):
        chunk_h = hashes[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk_h))
        stored.update(
            db.execute(f"SELECT h, id FROM reading_ids WHERE h IN ({marks})", chunk_h).fetchall()
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
    for position, (reading, h) in enumerate(zip(unique, hashes, strict=True)):
        if stored.get(h) == reading.id or reading.id in overflow:
            continue
        if h in stored:
            overflow_rows.append((reading.id,))
        else:
            id_rows.append((h, reading.id))
            stored[h] = reading.id
        new.append(position)
    db.executemany("INSERT INTO reading_ids VALUES (?, ?)", id_rows)
    db.executemany("INSERT INTO reading_id_overflow VALUES (?)", overflow_rows)
    return new
