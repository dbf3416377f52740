"""Exactly-once bookkeeping shared by the stores: which reading ids and batch keys are stored.

- A *canonical* id, the one the contract derives (`wire.reading_id`: uuid5 of
  gateway/node/boot/seq), is recorded as a sequence range of its stream: `streams` numbers
  each (gateway, node, boot) and `seq_ranges` holds, per stream, the disjoint, non-adjacent
  runs [lo, hi] of sequence numbers stored. Same id ⟺ same (gateway, node, boot, seq), so a
  sequence inside a run is an id seen before. A node's batch is one run (or a few, around
  lost readings): a batch costs a few rows per node, not a key per reading (format 2 kept
  `stream << 32 | seq` keys in `reading_ids`, one B-tree insert per reading; the largest
  cost left in the ledger, docs/benchmarks.md).
- Any other id is stored in `reading_ids` with its id text under a *stream key*: a 31-bit
  hash of (gateway, node, boot) above the 32-bit seq. A node's readings get neighbouring
  keys, so a batch's inserts land on a few B-tree pages per node (format 3 keyed them by a
  hash of the id: one random page per reading, every one of them rewritten to the WAL at
  commit; the paper's CSV dumps spent ~15 µs a reading there). A batch whose keys are all
  new takes the fast path; otherwise the real ids are compared, and different ids that share
  a key (a second id for the same node, boot and seq, or two streams whose 31-bit hashes
  meet) are told apart through `reading_id_overflow`, keyed by the id itself.

The one case the two key spaces do not see across: a non-canonical reading whose id is the
canonical id of a *different* (gateway, node, boot, seq). Such an id is not the reading's own
deterministic id (uplink contract, `id`), so both are kept.

Upgrades, by `setup` (once, in its transaction): a format-2 ledger's stream keys are turned
into runs; a format-3 ledger's id-hash keys (negative) move to `reading_ids_v3`. That table
and a format-1 ledger's (every id under a positive hash key), kept as `reading_ids_v1`, are
consulted read-only before each claim, so an id stored before an upgrade stays a
duplicate. `prepare` (canonical check, hashes) needs no database and runs
before the write transaction; `claim` runs inside it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from bisect import bisect_right
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np

from ingest import wire
from ingest.fastwire import Reading

FORMAT = 4
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
    """CREATE TABLE IF NOT EXISTS seq_ranges (
        stream INTEGER NOT NULL,
        lo INTEGER NOT NULL,
        hi INTEGER NOT NULL,
        PRIMARY KEY (stream, lo)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS batches (
        batch_id TEXT PRIMARY KEY,
        gateway_id TEXT NOT NULL,
        received REAL NOT NULL,
        result TEXT NOT NULL
    )""",
)
_CHUNK = 500
_NAMESPACE = wire.READING_NAMESPACE.bytes
_ids = attrgetter("id")
_UUIDS = re.compile(r"(?:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})*+")
_sha1 = hashlib.sha1


def setup(db: sqlite3.Connection) -> bool:
    """Create the ledger's tables in `db` (autocommit connection), moving a format-1 ledger
    aside and a format-2/3 ledger's id-hash keys into `reading_ids_v3`. True when such a
    legacy table holds ids `claim` must consult."""
    db.execute("BEGIN IMMEDIATE")
    try:
        has = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "reading_ids" in has and "ledger_format" not in has:
            db.execute("ALTER TABLE reading_ids RENAME TO reading_ids_v1")
        for statement in _TABLES:
            db.execute(statement)
        version = db.execute("SELECT max(version) FROM ledger_format").fetchone()[0]
        if version is None:
            db.execute("INSERT INTO ledger_format VALUES (?)", (FORMAT,))
        elif version < FORMAT:
            if version == 2:
                _stream_keys_to_ranges(db)
            _hash_keys_aside(db)
            db.execute("UPDATE ledger_format SET version = ?", (FORMAT,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return bool(_legacy_tables(db))


def _legacy_tables(db: sqlite3.Connection) -> list[str]:
    """The earlier formats' id tables that hold rows."""
    names = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
            " AND name IN ('reading_ids_v1', 'reading_ids_v3') ORDER BY name"
        )
    ]
    return [name for name in names if db.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone()]


def _hash_keys_aside(db: sqlite3.Connection) -> None:
    """Format 2/3 → 4: the id-hash keys (negative) of `reading_ids` go to `reading_ids_v3`."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS reading_ids_v3 (h INTEGER PRIMARY KEY, id TEXT NOT NULL)"
    )
    db.execute("INSERT INTO reading_ids_v3 SELECT h, id FROM reading_ids WHERE h < 0")
    db.execute("DELETE FROM reading_ids WHERE h < 0")


def id_hash(reading_id: str) -> int:
    """The format-1 key of an id: a positive 63-bit hash (format 3: -1 - this)."""
    return int.from_bytes(hashlib.blake2b(reading_id.encode(), digest_size=8).digest()) >> 1


def stream_hash(gateway_id: str, node_id: str, boot: int) -> int:
    """The upper 31 bits of a non-canonical reading's key: a hash of its stream."""
    name = f"{gateway_id}/{node_id}/{boot}".encode()
    return int.from_bytes(hashlib.blake2b(name, digest_size=4).digest()) >> 1


def _stream_keys(readings: list[Reading], flags: list[bool]) -> list[int | None]:
    """Per reading: None when canonical, else its `reading_ids` key (stream hash << 32 | seq,
    non-negative), each stream hashed once."""
    hashes: dict[tuple[str, str, int], int] = {}
    keys: list[int | None] = []
    for r, ok in zip(readings, flags, strict=True):
        if ok:
            keys.append(None)
            continue
        triple = (r.gateway_id, r.node_id, r.boot)
        h = hashes.get(triple)
        if h is None:
            h = hashes[triple] = stream_hash(*triple)
        keys.append(h << 32 | r.seq)
    return keys


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
    its `reading_ids` key (non-canonical ids) or None (canonical: a run of its stream)."""

    unique: list[Reading]
    hashed: list[int | None]


def canonical_flags(readings: list[Reading]) -> list[bool]:
    """[is_canonical(r) for r in readings], with the per-reading work cut to one SHA-1: the
    ids are checked for the UUID text form all at once (one regex over the joined ids), turned
    into bytes in one call, and compared with the digests as one array."""
    n = len(readings)
    ids = "".join(map(_ids, readings))
    if not n or len(ids) != 36 * n or _UUIDS.fullmatch(ids) is None:
        return [is_canonical(r) for r in readings]
    given = np.frombuffer(bytes.fromhex(ids.replace("-", "")), np.uint8).reshape(n, 16)
    ns, sha1 = _NAMESPACE, _sha1
    digests = b"".join(
        [
            sha1(ns + f"{r.gateway_id}/{r.node_id}/{r.boot}/{r.seq}".encode()).digest()
            for r in readings
        ]
    )
    want = np.frombuffer(digests, np.uint8).reshape(n, 20)[:, :16].copy()
    want[:, 6] = want[:, 6] & 0x0F | 0x50  # version 5
    want[:, 8] = want[:, 8] & 0x3F | 0x80  # RFC 4122 variant
    return (want == given).all(axis=1).tolist()


def prepare(items: list[Reading]) -> Prepared:
    unique = list({r.id: r for r in items}.values())
    flags = canonical_flags(unique)
    return Prepared(unique, _stream_keys(unique, flags))


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
    seen = _seen_in_legacy(db, unique) if legacy else set()
    streams: dict[tuple[str, str, int], list[int]] = {}
    hashed: list[int] = []
    dropped: list[int] = []  # positions stored before
    for position, (r, h) in enumerate(zip(unique, prepared.hashed, strict=True)):
        if seen and r.id in seen:
            dropped.append(position)
        elif h is None:
            streams.setdefault((r.gateway_id, r.node_id, r.boot), []).append(position)
        else:
            hashed.append(position)
    for triple, positions in streams.items():
        dups = _claim_runs(db, _stream(db, triple), [unique[p].seq for p in positions])
        dropped += [positions[i] for i in dups]
    if hashed:
        dropped += _claim_hashed(db, unique, prepared.hashed, hashed)
    if not dropped:
        return None
    skip = set(dropped)
    return [p for p in range(len(unique)) if p not in skip]


def _stream(db: sqlite3.Connection, triple: tuple[str, str, int]) -> int:
    row = db.execute(
        "SELECT stream FROM streams WHERE gateway_id = ? AND node_id = ? AND boot = ?", triple
    ).fetchone()
    if row is None:
        sql = "INSERT INTO streams (gateway_id, node_id, boot) VALUES (?, ?, ?)"
        return db.execute(sql, triple).lastrowid
    return row[0]


def _claim_runs(db: sqlite3.Connection, stream: int, seqs: list[int]) -> list[int]:
    """Add `seqs` (distinct) to `stream`'s runs; the indexes into `seqs` of those already in
    a run. Runs are disjoint and never adjacent, so the ones that overlap or touch
    [lo - 1, hi + 1] of this batch are the last starting at or before lo and those starting
    in (lo, hi + 1]: two indexed lookups, then one merge."""
    lo, hi = min(seqs), max(seqs)
    near = db.execute(
        "SELECT lo, hi FROM seq_ranges WHERE stream = ? AND lo <= ? ORDER BY lo DESC LIMIT 1",
        (stream, lo),
    ).fetchall()
    near += db.execute(
        "SELECT lo, hi FROM seq_ranges WHERE stream = ? AND lo > ? AND lo <= ? ORDER BY lo",
        (stream, lo, hi + 1),
    ).fetchall()
    near = [run for run in near if run[1] >= lo - 1]
    dups: list[int] = []
    if any(run[1] >= lo and run[0] <= hi for run in near):  # overlap: look seq by seq
        starts = [run[0] for run in near]
        for i, seq in enumerate(seqs):
            k = bisect_right(starts, seq) - 1
            if k >= 0 and seq <= near[k][1]:
                dups.append(i)
        if len(dups) == len(seqs):
            return dups
        gone = set(dups)
        seqs = [seq for i, seq in enumerate(seqs) if i not in gone]
    runs = near + _runs(seqs)
    runs.sort()
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    if near:
        db.executemany(
            "DELETE FROM seq_ranges WHERE stream = ? AND lo = ?", [(stream, a) for a, _ in near]
        )
    db.executemany("INSERT INTO seq_ranges VALUES (?, ?, ?)", [(stream, a, b) for a, b in merged])
    return dups


def _runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Distinct sequence numbers as sorted runs of consecutive ones."""
    lo, hi = min(seqs), max(seqs)
    if hi - lo + 1 == len(seqs):  # one run: a node's batch without gaps
        return [(lo, hi)]
    ordered = np.sort(np.fromiter(seqs, np.int64, len(seqs)))
    cuts = np.flatnonzero(np.diff(ordered) != 1)
    firsts = np.concatenate(([0], cuts + 1))
    lasts = np.concatenate((cuts, [len(ordered) - 1]))
    return list(zip(ordered[firsts].tolist(), ordered[lasts].tolist(), strict=True))


def _stream_keys_to_ranges(db: sqlite3.Connection) -> None:
    """Format 2 → 3: the stream keys (`stream << 32 | seq`, positive) of `reading_ids`
    become runs in `seq_ranges`; the hash keys (negative) stay (for `_hash_keys_aside`)."""
    current: list[int] | None = None
    rows: list[tuple[int, int, int]] = []
    for (key,) in db.execute("SELECT h FROM reading_ids WHERE h >= 0 ORDER BY h"):
        stream, seq = key >> 32, key & 0xFFFFFFFF
        if current and current[0] == stream and current[2] + 1 == seq:
            current[2] = seq
            continue
        if current:
            rows.append((current[0], current[1], current[2]))
        current = [stream, seq, seq]
    if current:
        rows.append((current[0], current[1], current[2]))
    db.executemany("INSERT INTO seq_ranges VALUES (?, ?, ?)", rows)
    db.execute("DELETE FROM reading_ids WHERE h >= 0")


def _claim_hashed(
    db: sqlite3.Connection, unique: list[Reading], hashes: list[int | None], positions: list[int]
) -> list[int]:
    """Record the non-canonical readings at `positions` under their stream keys; the
    positions of those stored before."""
    readings = [unique[p] for p in positions]
    keys = [hashes[p] for p in positions]
    before = db.total_changes
    db.execute("SAVEPOINT claim")
    db.executemany(
        "INSERT OR IGNORE INTO reading_ids VALUES (?, ?)",
        zip(keys, (r.id for r in readings), strict=True),
    )
    if db.total_changes - before == len(readings):
        db.execute("RELEASE claim")
        return []
    db.execute("ROLLBACK TO claim")
    db.execute("RELEASE claim")
    new = set(_claim_slowly(db, readings, keys, set()))
    return [p for i, p in enumerate(positions) if i not in new]


def _seen_in_legacy(db: sqlite3.Connection, unique: list[Reading]) -> set[str]:
    """Ids of `unique` that an earlier format's id table already holds: format 1 under
    `id_hash`, format 3 under `-1 - id_hash`, either's collisions in the overflow table."""
    tables = _legacy_tables(db)
    seen: set[str] = set()
    for start in range(0, len(unique), _CHUNK):
        ids = [r.id for r in unique[start : start + _CHUNK]]
        marks = ",".join("?" * len(ids))
        for table in tables:
            sign = 1 if table == "reading_ids_v1" else -1
            hashed = {(id_hash(i) if sign > 0 else -1 - id_hash(i)): i for i in ids}
            rows = db.execute(f"SELECT h, id FROM {table} WHERE h IN ({marks})", list(hashed))
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
