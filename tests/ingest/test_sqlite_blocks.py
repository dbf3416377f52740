"""The sqlite store's block layout (ingest/stores/sqlite.py, sqlite_queries.py): a block per
node per batch, the read API's pages over blocks against a brute-force model of the
contract (sorted by ts then id, filtered, cursor-paged, bucketed), and a store of the
earlier row layout converted at open."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ingest import wire
from ingest.stores import sqlite as sqlite_store
from tests.ingest.conftest import Env, build_env, make_readings

T0 = 1746857410.0


def _db(env: Env) -> sqlite3.Connection:
    return sqlite3.connect(env.settings.var_dir / "readings.sqlite3")


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Env, list[dict[str, Any]]]:
    """Batches whose time ranges overlap: two nodes side by side, one node's readings that
    arrive late (earlier than what is stored), and a long catch-up batch of a day. (Rate
    limit off: paging one reading at a time takes hundreds of requests.)"""
    env = build_env(tmp_path / "var", rate_limit=0)
    posted: list[dict[str, Any]] = []

    def post(readings: list[dict[str, Any]]) -> None:
        assert env.post(readings).json["accepted"] == len(readings)
        posted.extend(readings)

    post(make_readings(40, node="orchid-01", start_seq=100, start=T0 + 500, every=10))
    post(make_readings(40, node="orchid-02", start=T0 + 505, every=10))
    post(make_readings(30, node="orchid-01", start_seq=70, start=T0 + 200, every=10))  # late
    post(make_readings(50, node="rice-03", profile="rice", start=T0 - 86400, every=1728))
    post(make_readings(5, node="orchid-02", start_seq=40, start=T0 + 505, every=10))  # same ts
    return env, posted


def _pages(env: Env, query: str, limit: int) -> list[dict[str, Any]]:
    seen, cursor = [], None
    for _ in range(1000):
        url = f"/v1/readings?limit={limit}{query}" + (f"&after={cursor}" if cursor else "")
        response = env.get(url)
        body = response.json
        assert response.status_code == 200, body
        assert len(body["readings"]) <= limit
        seen += body["readings"]
        cursor = body["next"]
        if cursor is None:
            return seen
    raise AssertionError("pages never ended")


@pytest.mark.parametrize("limit", [1, 7, 50, 1000])
@pytest.mark.parametrize(
    "node, start, end",
    [
        (None, None, None),
        ("orchid-01", None, None),
        (None, T0 + 300, T0 + 700),
        ("rice-03", T0 - 40000, T0 + 100),
        ("orchid-02", T0 + 505, T0 + 506),
    ],
)
def test_raw_pages_over_blocks_are_the_contracts_order_and_filter(
    mixed: tuple[Env, list[dict[str, Any]]],
    node: str | None,
    start: float | None,
    end: float | None,
    limit: int,
) -> None:
    env, posted = mixed
    lo = wire.format_ts(start) if start is not None else None
    hi = wire.format_ts(end) if end is not None else None
    want = sorted(
        (
            r
            for r in posted
            if (node is None or r["node_id"] == node)
            and (lo is None or r["ts"] >= lo)
            and (hi is None or r["ts"] < hi)
        ),
        key=lambda r: (r["ts"], r["id"]),
    )
    query = (f"&node={node}" if node else "") + (f"&from={lo}" if lo else "")
    query += f"&to={hi}" if hi else ""
    got = _pages(env, query, limit)
    assert [r["id"] for r in got] == [r["id"] for r in want]
    assert want and got[0] == {**want[0], "flags": []}  # as stored: every field back


@pytest.mark.parametrize("limit", [1, 3, 1000])
def test_bucketed_pages_over_blocks_match_a_brute_force_mean(
    mixed: tuple[Env, list[dict[str, Any]]], limit: int
) -> None:
    env, posted = mixed
    every = 300
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in posted:
        bucket = int(wire.parse_ts(r["ts"])) // every * every
        groups.setdefault((bucket, r["node_id"]), []).append(r)
    seen, cursor = [], None
    while True:
        url = f"/v1/readings?every={every}&limit={limit}" + (f"&after={cursor}" if cursor else "")
        body = env.get(url).json
        seen += body["readings"]
        cursor = body["next"]
        if cursor is None:
            break
    assert [(wire.parse_ts(b["ts"]), b["node_id"]) for b in seen] == sorted(groups)
    for b in seen:
        rows = groups[(int(wire.parse_ts(b["ts"])), b["node_id"])]
        assert b["count"] == len(rows)
        temps = [r["values"]["temperature"] for r in rows]
        assert b["values"]["temperature"] == pytest.approx(sum(temps) / len(temps))
        assert b["label"] == max((r["ts"], r["label"]) for r in rows)[1]


def test_a_batch_is_one_block_per_node_and_the_view_shows_its_rows(env: Env) -> None:
    n = sqlite_store.BLOCK_READINGS
    readings = make_readings(n + 5, node="orchid-01") + make_readings(3, node="orchid-02")
    assert env.post(readings).json["accepted"] == n + 8
    db = _db(env)
    try:
        blocks = db.execute("SELECT node_id, n FROM blocks ORDER BY bid").fetchall()
        assert blocks == [("orchid-01", n), ("orchid-01", 5), ("orchid-02", 3)]
        rows = db.execute("SELECT id, node_id, seq, vals, flags FROM readings").fetchall()
    finally:
        db.close()
    assert sorted(r[0] for r in rows) == sorted(r["id"] for r in readings)
    assert json.loads(rows[0][3]) == readings[0]["values"] and rows[0][4] is None


_ROW_LAYOUT = """
CREATE TABLE readings (
    rid INTEGER PRIMARY KEY, id TEXT NOT NULL, gateway_id TEXT NOT NULL, node_id TEXT NOT NULL,
    profile TEXT, ts TEXT NOT NULL, boot INTEGER NOT NULL, seq INTEGER NOT NULL, score REAL,
    label TEXT, vals TEXT NOT NULL, flags TEXT
);
CREATE INDEX readings_node_ts ON readings (node_id, ts);
"""


def test_a_store_of_the_row_layout_is_converted_at_open(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    old = make_readings(12, node="orchid-01") + make_readings(4, node="rice-02", profile=None)
    old[3]["flags"] = ["out_of_range:humidity"]
    db = sqlite3.connect(var / "readings.sqlite3")
    db.executescript(_ROW_LAYOUT)
    db.executemany(
        "INSERT INTO readings VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (r["id"], r["gateway_id"], r["node_id"], r.get("profile"), r["ts"], r["boot"],
             r["seq"], r.get("score"), r.get("label"), json.dumps(r["values"]),
             json.dumps(r["flags"]) if r["flags"] else None)
            for r in old
        ],
    )  # fmt: skip
    db.commit()
    db.close()
    env = build_env(var)
    got = _pages(env, "", 5)
    assert [r["id"] for r in got] == [
        r["id"] for r in sorted(old, key=lambda r: (r["ts"], r["id"]))
    ]
    assert next(r for r in got if r["id"] == old[3]["id"])["flags"] == ["out_of_range:humidity"]
    assert next(r for r in got if r["node_id"] == "rice-02")["profile"] is None
    db = _db(env)
    try:
        kinds = dict(db.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'reading%'"))
        assert kinds["readings"] == "view" and "readings_node_ts" not in kinds
        assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == 16
    finally:
        db.close()
    more = make_readings(3, node="orchid-01", start_seq=12, start=T0 + 60)
    assert env.post(more).json["accepted"] == 3
