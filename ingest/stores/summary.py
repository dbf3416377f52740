"""Per-node summary and label/score counters, kept in the same transaction as each batch so
`/v1/nodes` and `ingest stats` never scan the readings. Shared by the sqlite store and the
influxdb store's ledger."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np

from ingest.fastwire import Reading

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL,
    profile TEXT,
    last_ts TEXT NOT NULL,
    last_reading TEXT NOT NULL,
    readings INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS label_counts (label TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS score_counts (bucket INTEGER PRIMARY KEY, n INTEGER NOT NULL);
"""
_UPSERT_NODE = """
INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (node_id) DO UPDATE SET
    readings = readings + excluded.readings,
    gateway_id = CASE WHEN excluded.last_ts > last_ts THEN excluded.gateway_id ELSE gateway_id END,
    profile = CASE WHEN excluded.last_ts > last_ts THEN excluded.profile ELSE profile END,
    last_reading = CASE WHEN excluded.last_ts > last_ts
                   THEN excluded.last_reading ELSE last_reading END,
    last_ts = max(last_ts, excluded.last_ts)
"""
_encode = msgspec.json.encode


Summary = tuple[list[tuple], list[tuple[str, int]], list[tuple[int, int]]]


def summarize(new: list[Reading]) -> Summary:
    """The rows `apply` adds for readings `new`: computed before the write transaction.
    Per reading only a grouping loop runs in Python; the newest of each node is `max` over
    its group (the first of equal stamps, in arrival order, wins), the counters are C loops
    and one numpy pass."""
    groups: dict[str, list[Reading]] = {}
    for r in new:
        groups.setdefault(r.node_id, []).append(r)
    nodes = []
    for node, group in groups.items():
        r = max(group, key=_ts)
        nodes.append((node, r.gateway_id, r.profile, r.ts, _encode(r).decode(), len(group)))
    labels = Counter(map(_label, new))
    for unlabeled in (None, ""):  # both count as "none"
        if unlabeled in labels:
            labels["none"] += labels.pop(unlabeled)
    scores = np.array(list(map(_score, new)), dtype=float)  # None -> NaN
    scores = scores[~np.isnan(scores)]
    buckets = np.bincount(np.clip(np.floor_divide(scores, 10), 0, 9).astype(np.int64), minlength=10)
    counts = [(int(b) * 10, int(n)) for b, n in enumerate(buckets.tolist()) if n]
    return nodes, list(labels.items()), counts


def apply(db: sqlite3.Connection, rows: Summary) -> None:
    nodes, labels, scores = rows
    db.executemany(_UPSERT_NODE, nodes)
    db.executemany(
        "INSERT INTO label_counts VALUES (?, ?)"
        " ON CONFLICT (label) DO UPDATE SET n = n + excluded.n",
        labels,
    )
    db.executemany(
        "INSERT INTO score_counts VALUES (?, ?)"
        " ON CONFLICT (bucket) DO UPDATE SET n = n + excluded.n",
        scores,
    )


_ts, _node, _label, _score = (attrgetter(k) for k in ("ts", "node_id", "label", "score"))


def nodes(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT node_id, gateway_id, profile, last_ts, last_reading, readings"
        " FROM nodes ORDER BY node_id"
    )
    out = []
    for node_id, gateway_id, profile, last_ts, last_reading, count in rows:
        latest = json.loads(last_reading)
        out.append(
            {
                "node_id": node_id,
                "gateway_id": gateway_id,
                "profile": profile,
                "last_seen": last_ts,
                "values": latest.get("values", {}),
                "score": latest.get("score"),
                "label": latest.get("label"),
                "flags": latest.get("flags") or [],
                "readings": count,
            }
        )
    return out


def stats(db: sqlite3.Connection) -> dict[str, Any]:
    readings, node_count, gateways, last = db.execute(
        "SELECT coalesce(sum(readings), 0), count(*), count(DISTINCT gateway_id),"
        " max(last_ts) FROM nodes"
    ).fetchone()
    return {
        "readings": readings,
        "nodes": node_count,
        "gateways": gateways,
        "batches": db.execute("SELECT count(*) FROM batches").fetchone()[0],
        "labels": dict(db.execute("SELECT label, n FROM label_counts ORDER BY label")),
        "scores": {
            f"{b}-{b + 10}": n
            for b, n in db.execute("SELECT bucket, n FROM score_counts ORDER BY bucket")
        },
        "last_ts": last,
    }
