"""Read queries of the sqlite store over its blocks: cursor-paged readings, raw or bucketed.

Blocks are fetched in order of their first timestamp (`ts_lo`, indexed), decoded, and their
readings filtered; a page is complete once the next block starts after the last reading the
page could still take. Blocks that end before the lower bound are skipped by the index: a
block spans at most `block_span.ms`, so none starting earlier than the bound minus that span
can reach it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import msgspec

from ingest import cursors
from ingest.fastwire import Reading
from ingest.stores.base import ReadingQuery
from ingest.wire import format_ts, parse_ts, ts_to_ms

_decode = msgspec.json.Decoder(list[Reading]).decode
_order = itemgetter(0, 1)


def _blocks(db: Any, query: ReadingQuery, lower: str | None) -> Iterator[tuple[str, str]]:
    """(ts_lo, data) of the blocks that may hold readings of `query` at or after `lower`,
    in ts_lo order."""
    where, args = [], []
    if query.node:
        where.append("node_id = ?")
        args.append(query.node)
    if lower:
        span = db.execute("SELECT ms FROM block_span").fetchone()[0]
        where += ["ts_lo >= ?", "ts_hi >= ?"]
        args += [format_ts(parse_ts(lower) - span / 1000 - 1), lower]
    if query.end:
        where.append("ts_lo < ?")
        args.append(query.end)
    sql = "SELECT ts_lo, data FROM blocks"
    if where:
        sql += " WHERE " + " AND ".join(where)
    yield from db.execute(sql + " ORDER BY ts_lo, bid", args)


def _in_range(query: ReadingQuery, ts: str) -> bool:
    return (not query.start or ts >= query.start) and (not query.end or ts < query.end)


def readings(db: Any, query: ReadingQuery) -> tuple[list[dict[str, Any]], str | None]:
    if query.every:
        return _bucketed(db, query)
    after = cursors.decode_as(query.after, str, str) if query.after else None
    lower = max(filter(None, (query.start, after[0] if after else None)), default=None)
    limit = query.limit
    got: list[tuple[str, str, Reading]] = []
    last: str | None = None  # the page's last timestamp, once `limit + 1` are in hand
    for ts_lo, data in _blocks(db, query, lower):
        if last is not None and ts_lo > last:
            break
        for r in _decode(data):
            if _in_range(query, r.ts) and (after is None or (r.ts, r.id) > tuple(after)):
                got.append((r.ts, r.id, r))
        if len(got) > limit:
            got.sort(key=_order)
            del got[limit + 1 :]
            last = got[limit][0]
    got.sort(key=_order)
    page = got[:limit]
    nxt = cursors.encode(page[-1][0], page[-1][1]) if len(got) > limit else None
    return [r.as_dict() for _, _, r in page], nxt


@dataclass
class _Bucket:
    count: int = 0
    score_sum: float = 0.0
    scores: int = 0
    last: tuple[str, str] = ("", "")  # (ts, label) of the bucket's last reading
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    gateway_id: str = ""
    profile: str | None = None

    def add(self, r: Reading) -> None:
        self.count += 1
        if r.score is not None:
            self.score_sum += r.score
            self.scores += 1
        self.last = max(self.last, (r.ts, r.label or ""))
        for name, value in r.values.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
            self.counts[name] = self.counts.get(name, 0) + 1
        self.gateway_id = max(self.gateway_id, r.gateway_id)
        if r.profile is not None and (self.profile is None or r.profile > self.profile):
            self.profile = r.profile


def _bucketed(db: Any, query: ReadingQuery) -> tuple[list[dict[str, Any]], str | None]:
    """Mean of each value and of the score per node and `every`-second bucket, ordered by
    (bucket, node); `label` is the label of the bucket's last reading."""
    every = int(query.every or 0)
    after = cursors.decode_as(query.after, int, str) if query.after else None
    lower = query.start
    if after:
        cursor_bucket = format_ts(after[0])
        lower = max(lower, cursor_bucket) if lower else cursor_bucket
    limit = query.limit
    groups: dict[tuple[int, str], _Bucket] = {}
    last: int | None = None  # the page's last bucket, once `limit + 1` groups are in hand
    for ts_lo, data in _blocks(db, query, lower):
        if last is not None and _bucket_of(ts_lo, every) > last:
            break
        for r in _decode(data):
            if not _in_range(query, r.ts):
                continue
            key = (_bucket_of(r.ts, every), r.node_id)
            if after is not None and key <= tuple(after):
                continue
            bucket = groups.get(key)
            if bucket is None:
                bucket = groups[key] = _Bucket()
            bucket.add(r)
        if len(groups) > limit:
            keys = sorted(groups)
            for key in keys[limit + 1 :]:
                del groups[key]
            last = keys[limit][0]
    keys = sorted(groups)
    out = []
    for bucket_s, node_id in keys[:limit]:
        b = groups[(bucket_s, node_id)]
        out.append(
            {
                "ts": format_ts(bucket_s),
                "gateway_id": b.gateway_id,
                "node_id": node_id,
                "profile": b.profile,
                "every": every,
                "count": b.count,
                "values": {k: b.sums[k] / b.counts[k] for k in sorted(b.sums)},
                "score": b.score_sum / b.scores if b.scores else None,
                "label": b.last[1] or None,
            }
        )
    nxt = cursors.encode(*keys[limit - 1]) if len(keys) > limit else None
    return out, nxt


def _bucket_of(ts: str, every: int) -> int:
    return int(ts_to_ms(ts) / 1000) // every * every  # int(parse_ts(ts)), minute-cached
