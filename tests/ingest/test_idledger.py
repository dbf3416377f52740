"""The exactly-once ledger (ingest/stores/idledger.py): canonical ids keyed by stream and
sequence, other ids by hash, hash collisions, and a format-1 ledger kept after an upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ingest import wire
from ingest.fastwire import Reading
from ingest.stores import idledger
from tests.ingest.conftest import GATEWAY, Env, build_env, make_readings


def _reading(**fields: object) -> Reading:
    base = make_readings(1)[0]
    base.update(fields)
    return Reading(**base)


def _foreign(readings: list[dict], prefix: str = "foreign") -> list[dict]:
    """The same readings under ids of another gateway software's own making."""
    return [{**r, "id": f"{prefix}-{r['node_id']}-{r['boot']}-{r['seq']}"} for r in readings]


def _keys(env: Env) -> list[int]:
    db = sqlite3.connect(env.settings.var_dir / "readings.sqlite3")
    try:
        return [row[0] for row in db.execute("SELECT h FROM reading_ids ORDER BY rowid")]
    finally:
        db.close()


def test_only_the_contracts_own_derivation_is_canonical() -> None:
    r = _reading()
    assert r.id == wire.reading_id(r.gateway_id, r.node_id, r.boot, r.seq)
    assert idledger.is_canonical(r)
    assert not idledger.is_canonical(_reading(id=r.id.upper()))
    assert not idledger.is_canonical(_reading(seq=r.seq + 1))  # the id of another reading
    assert not idledger.is_canonical(_reading(id="r-1"))


def test_canonical_ids_are_keyed_by_stream_and_seq(env: Env) -> None:
    """A node's readings get consecutive keys (what keeps the B-tree inserts local); a
    reboot is a new stream."""
    first = make_readings(3, start_seq=10)
    rebooted = make_readings(2, boot=2)
    assert env.post(first + rebooted).json["accepted"] == 5
    keys = _keys(env)
    streams = sorted({k >> 32 for k in keys})
    assert len(streams) == 2 and all(k > 0 for k in keys)
    assert [k & 0xFFFFFFFF for k in keys] == [10, 11, 12, 0, 1]
    assert keys[1] - keys[0] == 1 and keys[2] - keys[1] == 1


def test_canonical_and_other_ids_are_each_stored_once(env: Env) -> None:
    canonical = make_readings(4)
    foreign = _foreign(make_readings(4, node="orchid-02"))
    first = env.post(canonical + foreign).json
    assert (first["accepted"], first["duplicates"]) == (8, 0)
    assert sum(k < 0 for k in _keys(env)) == 4  # the foreign ids: hash keys, negative
    again = env.post(foreign[:2] + canonical + make_readings(1, start_seq=4)).json
    assert (again["accepted"], again["duplicates"]) == (1, 6)
    assert env.app.extensions["ingest"].store.stats()["readings"] == 9


def test_two_foreign_ids_sharing_a_hash_are_both_stored(env: Env, monkeypatch) -> None:
    monkeypatch.setattr(idledger, "id_hash", lambda reading_id: 42)  # every id collides
    readings = _foreign(make_readings(4))
    first = env.post(readings[:2]).json
    assert (first["accepted"], first["duplicates"]) == (2, 0)
    again = env.post(readings).json
    assert (again["accepted"], again["duplicates"]) == (2, 2)
    assert env.post(readings).json["duplicates"] == 4
    assert env.app.extensions["ingest"].store.stats()["readings"] == 4


def _format1_ledger(path: Path, ids: list[str], colliding: list[str]) -> None:
    """A ledger as the ingest wrote it before format 2: every id under its positive hash,
    ids whose hash was taken in the overflow table."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE reading_ids (h INTEGER PRIMARY KEY, id TEXT NOT NULL);
        CREATE TABLE reading_id_overflow (id TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE batches (batch_id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL,
                              received REAL NOT NULL, result TEXT NOT NULL);
        """
    )
    db.executemany("INSERT INTO reading_ids VALUES (?, ?)", [(idledger.id_hash(i), i) for i in ids])
    db.executemany("INSERT INTO reading_id_overflow VALUES (?)", [(i,) for i in colliding])
    db.commit()
    db.close()


def test_ids_stored_before_the_upgrade_stay_duplicates(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    old = make_readings(6)
    _format1_ledger(var / "readings.sqlite3", [r["id"] for r in old[:4]], [old[4]["id"]])
    env = build_env(var)
    result = env.post(old + make_readings(2, start_seq=6)).json
    assert (result["accepted"], result["duplicates"]) == (3, 5)  # old[5] and two new ones
    db = sqlite3.connect(var / "readings.sqlite3")
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"reading_ids_v1", "reading_ids", "ledger_format", "streams"} <= tables
    assert db.execute("SELECT version FROM ledger_format").fetchall() == [(idledger.FORMAT,)]
    db.close()
    assert env.post(old).json["duplicates"] == 6


def test_setup_twice_keeps_the_ledger(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "l.sqlite3", isolation_level=None)
    assert idledger.setup(db) is False
    claim = idledger.prepare([Reading(**r) for r in make_readings(3)])
    db.execute("BEGIN IMMEDIATE")
    assert idledger.claim(db, claim) is None
    db.execute("COMMIT")
    assert idledger.setup(db) is False  # no legacy table: nothing to consult
    db.execute("BEGIN IMMEDIATE")
    assert idledger.claim(db, idledger.prepare(claim.unique)) == []
    db.execute("ROLLBACK")
    db.close()


@pytest.mark.parametrize("gateway", [GATEWAY, "gw:other.1"])
def test_a_forged_canonical_looking_id_is_not_canonical(gateway: str) -> None:
    """An id that is the canonical id of another reading is keyed by hash, not by stream."""
    other = wire.reading_id(gateway, "orchid-01", 1, 99)
    assert not idledger.is_canonical(_reading(id=other, gateway_id=gateway, seq=3))
