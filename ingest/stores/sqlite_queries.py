"""Read queries of the sqlite store: nodes, cursor-paged readings (raw or bucketed), stats."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ingest import cursors
from ingest.stores.base import ReadingQuery
from ingest.wire import format_ts

_COLUMNS = "id, ts, gateway_id, node_id, profile, boot, seq, vals, score, label, flags"
_KEYS = tuple(_COLUMNS.replace("vals", "values").split(", "))


def as_stored(row: tuple) -> dict[str, Any]:
    out = dict(zip(_KEYS, row, strict=True))
    out["values"] = json.loads(out["values"])
    out["flags"] = json.loads(out["flags"]) if out["flags"] else []
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
        ts, rid = cursors.decode_as(query.after, str, str)
        where.append("(ts, id) > (?, ?)")
        args += [ts, rid]
    sql = f"SELECT {_COLUMNS} FROM readings"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts, id LIMIT ?"
    rows = db.execute(sql, [*args, query.limit + 1]).fetchall()
    page = rows[: query.limit]
    nxt = cursors.encode(page[-1][1], page[-1][0]) if len(rows) > query.limit else None
    return [as_stored(row) for row in page], nxt


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
        after_bucket, after_node = cursors.decode_as(query.after, int, str)
        having = "HAVING (bucket, node_id) > (?, ?)"
        having_args = [after_bucket, after_node]
    sql = f"""
        SELECT {bucket} AS bucket, node_id, count(*), avg(score),
               max(ts || char(9) || coalesce(label, '')), group_concat(vals, char(10)),
               max(gateway_id), max(profile)
        FROM readings {"WHERE " + " AND ".join(where) if where else ""}
        GROUP BY bucket, node_id {having}
        ORDER BY bucket, node_id LIMIT ?
    """
    rows = db.execute(sql, [*args, *having_args, query.limit + 1]).fetchall()
    page = rows[: query.limit]
    out = []
    for bucket_s, node_id, count, score, last, all_values, gateway_id, profile in page:
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for values in all_values.split("\n"):
            for name, value in json.loads(values).items():
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
