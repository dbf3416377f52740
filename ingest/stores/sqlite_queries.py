"""Read queries of the sqlite store: nodes, cursor-paged readings (raw or bucketed), stats."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ingest import cursors
from ingest.stores.base import ReadingQuery
from ingest.wire import format_ts

READING_KEYS = (
    *("id", "ts", "gateway_id", "node_id", "profile", "boot", "seq"),
    *("values", "score", "label", "flags"),
)


def as_stored(doc: str) -> dict[str, Any]:
    reading = json.loads(doc)
    out = {key: reading.get(key) for key in READING_KEYS}
    out["flags"] = out["flags"] or []
    return out


def nodes(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT node_id, gateway_id, profile, last_ts, last_doc, readings"
        " FROM nodes ORDER BY node_id"
    )
    out = []
    for node_id, gateway_id, profile, last_ts, last_doc, count in rows:
        latest = json.loads(last_doc)
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


def _filters(query: ReadingQuery) -> tuple[list[str], list[Any]]:
    where, args = [], []
    if query.node:
        where.append("node_id = ?")
        args.append(query.node)
    if query.start:
        where.append("ts >= ?")
        args.append(query.start)
    if query.end:
        where.append("ts < ?")
        args.append(query.end)
    return where, args


def readings(
    db: sqlite3.Connection, query: ReadingQuery
) -> tuple[list[dict[str, Any]], str | None]:
    if query.every:
        return _bucketed(db, query)
    where, args = _filters(query)
    if query.after:
        ts, rid = cursors.decode(query.after, 2)
        where.append("(ts, id) > (?, ?)")
        args += [ts, rid]
    sql = "SELECT doc, ts, id FROM readings"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts, id LIMIT ?"
    rows = db.execute(sql, [*args, query.limit + 1]).fetchall()
    page = rows[: query.limit]
    nxt = cursors.encode(page[-1][1], page[-1][2]) if len(rows) > query.limit else None
    return [as_stored(doc) for doc, _, _ in page], nxt


def _bucketed(
    db: sqlite3.Connection, query: ReadingQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """Mean of each value and of the score per node and `every`-second bucket, ordered by
    (bucket, node); `label` is the label of the bucket's last reading."""
    every = int(query.every or 0)
    where, args = _filters(query)
    bucket = f"(CAST(strftime('%s', substr(ts, 1, 19)) AS INTEGER) / {every}) * {every}"
    having = ""
    having_args: list[Any] = []
    if query.after:
        after_bucket, after_node = cursors.decode(query.after, 2)
        having = "HAVING (bucket, node_id) > (?, ?)"
        having_args = [after_bucket, after_node]
    sql = f"""
        SELECT {bucket} AS bucket, node_id, count(*), avg(score),
               max(ts || char(9) || coalesce(label, '')), group_concat(doc, char(10))
        FROM readings {"WHERE " + " AND ".join(where) if where else ""}
        GROUP BY bucket, node_id {having}
        ORDER BY bucket, node_id LIMIT ?
    """
    rows = db.execute(sql, [*args, *having_args, query.limit + 1]).fetchall()
    page = rows[: query.limit]
    out = []
    for bucket_s, node_id, count, score, last, docs in page:
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        gateway_id = profile = None
        for doc in docs.split("\n"):
            reading = json.loads(doc)
            gateway_id, profile = reading.get("gateway_id"), reading.get("profile")
            for name, value in reading.get("values", {}).items():
                sums[name] = sums.get(name, 0.0) + value
                counts[name] = counts.get(name, 0) + 1
        out.append(
            {
                "ts": format_ts(bucket_s),
                "gateway_id": gateway_id,
                "node_id": node_id,
                "profile": profile,
                "every": every,
                "count": count,
                "values": {k: sums[k] / counts[k] for k in sorted(sums)},
                "score": score,
                "label": last.split("\t", 1)[1] or None,
            }
        )
    nxt = cursors.encode(page[-1][0], page[-1][1]) if len(rows) > query.limit else None
    return out, nxt


def stats(db: sqlite3.Connection) -> dict[str, Any]:
    readings_count = db.execute("SELECT count(*) FROM readings").fetchone()[0]
    labels = dict(
        db.execute("SELECT coalesce(label, 'none'), count(*) FROM readings GROUP BY 1 ORDER BY 1")
    )
    scores = {
        f"{int(lo)}-{int(lo) + 10}": n
        for lo, n in db.execute(
            "SELECT min(CAST(score / 10 AS INTEGER), 9) * 10 AS lo, count(*) FROM readings"
            " WHERE score IS NOT NULL GROUP BY lo ORDER BY lo"
        )
    }
    span = db.execute("SELECT min(ts), max(ts) FROM readings").fetchone()
    return {
        "readings": readings_count,
        "nodes": db.execute("SELECT count(*) FROM nodes").fetchone()[0],
        "gateways": db.execute("SELECT count(DISTINCT gateway_id) FROM nodes").fetchone()[0],
        "batches": db.execute("SELECT count(*) FROM batches").fetchone()[0],
        "labels": labels,
        "scores": scores,
        "first_ts": span[0],
        "last_ts": span[1],
    }
