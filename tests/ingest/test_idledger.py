"""The exactly-once ledger (ingest/stores/idledger.py): canonical ids as sequence runs per
stream, other ids under stream keys, key collisions, a format-2 ledger's stream keys turned
into runs, and format-1 and format-3 ledgers kept after an upgrade."""

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


def _runs(env: Env) -> list[tuple[int, int, int]]:
    db = sqlite3.connect(env.settings.var_dir / "readings.sqlite3")
    try:
        return db.execute("SELECT stream, lo, hi FROM seq_ranges ORDER BY stream, lo").fetchall()
    finally:
        db.close()


def test_canonical_ids_are_recorded_as_runs_per_stream(env: Env) -> None:
    """A node's batch is one run, a reboot is a new stream, a gap splits a run and the
    readings that fill it join the runs again; no per-reading key."""
    first = make_readings(3, start_seq=10)
    rebooted = make_readings(2, boot=2)
    assert env.post(first + rebooted).json["accepted"] == 5
    assert _keys(env) == []
    (s1, lo1, hi1), (s2, lo2, hi2) = _runs(env)
    assert s1 != s2 and (lo1, hi1, lo2, hi2) == (10, 12, 0, 1)
    gappy = make_readings(6, start_seq=13)
    del gappy[2]  # seq 15 lost
    assert env.post(gappy).json["accepted"] == 5
    assert [(lo, hi) for s, lo, hi in _runs(env) if s == s1] == [(10, 14), (16, 18)]
    late = make_readings(1, start_seq=15) + make_readings(4, start_seq=8)  # 8, 9 new; 10, 11 old
    result = env.post(late).json
    assert (result["accepted"], result["duplicates"]) == (3, 2)
    assert [(lo, hi) for s, lo, hi in _runs(env) if s == s1] == [(8, 18)]
    assert env.post(make_readings(11, start_seq=8)).json["duplicates"] == 11


def test_canonical_flags_match_is_canonical_reading_by_reading() -> None:
    readings = [Reading(**r) for r in make_readings(6)]
    readings[1] = _reading(id=readings[1].id.upper())
    readings[3] = _reading(seq=readings[3].seq + 100)  # id of another reading
    readings[4] = _reading(id="r-1")
    flags = idledger.canonical_flags(readings)
    assert flags == [idledger.is_canonical(r) for r in readings]
    assert flags == [True, False, True, False, False, True]
    tail = readings[5:]  # all in the UUID form: the bulk comparison, not the fallback
    assert idledger.canonical_flags(tail) == [True]
    assert idledger.canonical_flags([_reading(seq=7, id=readings[0].id)]) == [False]


def test_a_format2_ledger_becomes_runs(tmp_path: Path) -> None:
    """Stream keys of a format-2 ledger are turned into runs once; hash keys move aside."""
    db = sqlite3.connect(tmp_path / "l.sqlite3", isolation_level=None)
    idledger.setup(db)
    db.execute("UPDATE ledger_format SET version = 2")
    db.execute("INSERT INTO streams VALUES (1, 'gw', 'n', 1), (2, 'gw', 'n', 2)")
    keys = [1 << 32 | s for s in (0, 1, 2, 5, 6)] + [2 << 32 | 9, -77]
    db.executemany("INSERT INTO reading_ids VALUES (?, 'x')", [(k,) for k in keys])
    assert idledger.setup(db) is True  # the hash key moved aside is consulted
    assert db.execute("SELECT * FROM seq_ranges ORDER BY stream, lo").fetchall() == [
        (1, 0, 2),
        (1, 5, 6),
        (2, 9, 9),
    ]
    assert db.execute("SELECT h FROM reading_ids").fetchall() == []
    assert db.execute("SELECT h, id FROM reading_ids_v3").fetchall() == [(-77, "x")]
    assert db.execute("SELECT version FROM ledger_format").fetchall() == [(idledger.FORMAT,)]
    db.close()


def test_canonical_and_other_ids_are_each_stored_once(env: Env) -> None:
    canonical = make_readings(4)
    foreign = _foreign(make_readings(4, node="orchid-02"))
    first = env.post(canonical + foreign).json
    assert (first["accepted"], first["duplicates"]) == (8, 0)
    keys = _keys(env)  # the foreign ids: one node's stream keys, neighbours
    assert keys == list(range(keys[0], keys[0] + 4)) and keys[0] >= 0
    again = env.post(foreign[:2] + canonical + make_readings(1, start_seq=4)).json
    assert (again["accepted"], again["duplicates"]) == (1, 6)
    assert env.app.extensions["ingest"].store.stats()["readings"] == 9


def test_foreign_ids_sharing_a_key_are_all_stored(env: Env, monkeypatch) -> None:
    """Two nodes whose stream hashes meet, and a second id for the same node, boot and seq:
    the same key, told apart by the ids."""
    monkeypatch.setattr(idledger, "stream_hash", lambda *stream: 42)  # every stream collides
    readings = _foreign(make_readings(2)) + _foreign(make_readings(2, node="orchid-02"))
    readings += _foreign(make_readings(1), prefix="again")  # node 1's seq 0 under a second id
    assert readings[0]["seq"] == readings[2]["seq"] == readings[4]["seq"]
    first = env.post(readings[:2]).json
    assert (first["accepted"], first["duplicates"]) == (2, 0)
    again = env.post(readings).json
    assert (again["accepted"], again["duplicates"]) == (3, 2)
    assert env.post(readings).json["duplicates"] == 5
    assert env.app.extensions["ingest"].store.stats()["readings"] == 5
    db = sqlite3.connect(env.settings.var_dir / "readings.sqlite3")
    assert db.execute("SELECT count(*) FROM reading_id_overflow").fetchone()[0] == 3
    db.close()


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


def test_format3_hash_keys_stay_duplicates_after_the_upgrade(tmp_path: Path) -> None:
    """Non-canonical ids a format-3 ledger keyed by id hash are found after the upgrade."""
    var = tmp_path / "var"
    var.mkdir()
    old = _foreign(make_readings(5))
    db = sqlite3.connect(var / "readings.sqlite3", isolation_level=None)
    idledger.setup(db)
    db.execute("UPDATE ledger_format SET version = 3")
    rows = [(-1 - idledger.id_hash(r["id"]), r["id"]) for r in old[:3]]
    db.executemany("INSERT INTO reading_ids VALUES (?, ?)", rows)
    db.execute("INSERT INTO reading_id_overflow VALUES (?)", (old[3]["id"],))
    db.close()
    env = build_env(var)
    result = env.post(old).json
    assert (result["accepted"], result["duplicates"]) == (1, 4)
    assert env.post(old).json["duplicates"] == 5
    db = sqlite3.connect(var / "readings.sqlite3")
    assert db.execute("SELECT h, id FROM reading_ids_v3 ORDER BY id").fetchall() == sorted(
        rows, key=lambda row: row[1]
    )
    assert db.execute("SELECT min(h) FROM reading_ids").fetchone()[0] >= 0
    assert db.execute("SELECT version FROM ledger_format").fetchall() == [(idledger.FORMAT,)]
    db.close()


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
