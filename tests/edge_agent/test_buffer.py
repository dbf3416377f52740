"""The SQLite buffer: durable settings, batch claim/ack/split, quota policies."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge_agent.buffer import DB_NAME, Buffer, Stored


def rows(n: int, start: int = 0, size: int = 100) -> list[Stored]:
    return [Stored(f"id-{i}", b"x" * (size - 1) + b"\n") for i in range(start, start + n)]


def test_wal_and_synchronous_full_are_in_force(tmp_path: Path) -> None:
    buf = Buffer(tmp_path, 2**30, "drop_oldest")
    assert buf._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert buf._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_rows_leave_only_on_ack_and_a_claimed_batch_survives_reopen(tmp_path: Path) -> None:
    buf = Buffer(tmp_path, 2**30, "drop_oldest")
    result = buf.write_group(rows(10), {("t", "received", ""): 10})
    assert (result.inserted, result.duplicates) == (10, 0)
    assert buf.write_group(rows(2), {}).duplicates == 2  # same ids: ignored
    batch = buf.claim_batch(4)
    assert batch is not None and batch.rows == 4 and len(batch.body) == 400
    buf.close()
    again = Buffer(tmp_path, 2**30, "drop_oldest")  # "restart": same batch, same id
    same = again.claim_batch(4)
    assert same is not None and same.batch_id == batch.batch_id and same.body == batch.body
    assert again.ack_batch(batch.batch_id, {}) == 4
    assert again.depth() == (6, 600)
    nxt = again.claim_batch(100)
    assert nxt is not None and nxt.batch_id != batch.batch_id and nxt.rows == 6
    assert dict(again.load_counters()) == {("t", "received", ""): 10}


def test_split_replaces_a_batch_by_two_halves_in_order(tmp_path: Path) -> None:
    buf = Buffer(tmp_path, 2**30, "drop_oldest")
    buf.write_group(rows(5), {})
    batch = buf.claim_batch(5)
    first, second = buf.split_batch(batch.batch_id)
    a, b = buf.claim_batch(5), None
    assert a.batch_id == first and a.rows == 2
    buf.ack_batch(first, {})
    b = buf.claim_batch(5)
    assert b.batch_id == second and b.rows == 3


def test_rejected_batch_is_kept_but_not_claimed_again(tmp_path: Path) -> None:
    buf = Buffer(tmp_path, 2**30, "drop_oldest")
    buf.write_group(rows(3), {})
    batch = buf.claim_batch(3)
    buf.note_attempt(batch.batch_id, "400 bad", rejected=True)
    assert buf.claim_batch(3) is None
    assert buf.depth()[0] == 3


def test_quota_drop_oldest_keeps_the_newest(tmp_path: Path) -> None:
    buf = Buffer(tmp_path, 1000, "drop_oldest")  # room for 10 rows of 100 bytes
    buf.write_group(rows(8), {})
    result = buf.write_group(rows(5, start=8), {})
    assert result.dropped_for_quota == 3 and result.inserted == 5
    assert buf.depth() == (10, 1000)
    db = sqlite3.connect(tmp_path / DB_NAME)
    ids = [r[0] for r in db.execute("SELECT id FROM readings ORDER BY n")]
    assert ids == [f"id-{i}" for i in range(3, 13)]


def test_quota_refuse_new_keeps_the_oldest(tmp_path: Path) -> None:
    buf = Buffer(tmp_path, 1000, "refuse_new")
    buf.write_group(rows(8), {})
    result = buf.write_group(rows(5, start=8), {})
    assert result.refused_for_quota == 5 and result.inserted == 0
    assert buf.depth() == (8, 800)
