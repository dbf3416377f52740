"""The agent's status, read from its state directory alone (read-only SQLite).

`edge-agent status` and the status page both use `collect()`, so the CLI works whether the
daemon is running or not, and both always agree. Counters lag the daemon by at most ~1 s
(they are persisted with each group commit, and every second when idle).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from edge_agent.buffer import DB_NAME, connect


class NoState(FileNotFoundError):
    """The state directory holds no agent database."""


def _by_reason(counters: dict[tuple[str, str, str], int], component: str, event: str) -> dict:
    return {r: v for (c, e, r), v in sorted(counters.items()) if c == component and e == event}


def collect(state_dir: str | Path, transfers: int = 20) -> dict[str, Any]:
    path = Path(state_dir) / DB_NAME
    if not path.exists():
        raise NoState(f"no agent state at {path} (wrong --state-dir, or never run)")
    db = connect(path, readonly=True)
    try:
        return _collect(db, path, transfers)
    finally:
        db.close()


def _collect(db: sqlite3.Connection, path: Path, transfers: int) -> dict[str, Any]:
    counters = {
        (c, e, r): v
        for c, e, r, v in db.execute("SELECT component, event, reason, value FROM counters")
    }

    def get(component: str, event: str, reason: str = "") -> int:
        return counters.get((component, event, reason), 0)

    pending, pending_bytes = db.execute(
        "SELECT count(*), coalesce(sum(length(line)), 0) FROM readings"
    ).fetchone()
    unbatched = db.execute("SELECT count(*) FROM readings WHERE batch_id IS NULL").fetchone()[0]
    batches = [
        {"batch_id": b, "state": s, "attempts": a, "last_error": err}
        for b, s, a, err in db.execute(
            "SELECT batch_id, state, attempts, last_error FROM batches ORDER BY created"
        )
    ]
    cur = db.execute("SELECT * FROM nodes ORDER BY node_id")
    names = [d[0] for d in cur.description]
    nodes = [dict(zip(names, row, strict=True)) for row in cur]
    for node in nodes:
        node["last_values"] = json.loads(node["last_values"] or "{}")
        node["last_seen_text"] = _when(node["last_seen"])
    cur = db.execute("SELECT * FROM transfers ORDER BY n DESC LIMIT ?", (transfers,))
    names = [d[0] for d in cur.description]
    log = [dict(zip(names, row, strict=True)) for row in cur]
    for entry in log:
        entry["stages"] = json.loads(entry["stages"] or "{}")
        entry["at_text"] = _when(entry["at"])
    settings = dict(db.execute("SELECT key, value FROM settings"))
    disk = sum(
        p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )
    per_component: dict[str, dict[str, Any]] = defaultdict(dict)
    for (c, e, r), v in sorted(counters.items()):
        per_component[c][f"{e}:{r}" if r else e] = v
    rejected = _by_reason(counters, "serial", "discarded")
    uplink_raw, uplink_compressed = get("uplink", "bytes_raw"), get("uplink", "bytes_compressed")
    return {
        # flat summary (what scripts read); the sections below hold the detail
        "frames_read": get("serial", "received"),
        "frames_rejected": rejected,
        "frames_rejected_total": sum(rejected.values()),
        "readings_scored": get("score", "sent"),
        "readings_buffered": get("buffer", "sent"),
        "readings_pending": pending,
        "batches_sent": get("uplink", "batches"),
        "bytes_raw": uplink_raw,
        "bytes_compressed": uplink_compressed,
        "labels": _by_reason(counters, "score", "label"),
        "frames": {
            "read": get("serial", "received"),
            "rejected": _by_reason(counters, "serial", "discarded"),
        },
        "readings": {
            "received": get("pipeline", "received"),
            "duplicates_dropped": get("pipeline", "discarded", "duplicate"),
            "scored": get("score", "sent"),
            "unscored": get("score", "received") - get("score", "sent"),
            "buffered": get("buffer", "sent"),
            "pending": pending,
            "pending_unbatched": unbatched,
            "sequence_gaps": get("pipeline", "sequence_gap"),
            "labels": _by_reason(counters, "score", "label"),
        },
        "uplink": {
            "batches_sent": get("uplink", "batches"),
            "readings_sent": get("uplink", "sent"),
            "readings_acked": get("uplink", "received"),
            "bytes_raw": get("uplink", "bytes_raw"),
            "bytes_compressed": get("uplink", "bytes_compressed"),
            "errors": _by_reason(counters, "uplink", "errors"),
            "unacked_batches": batches,
        },
        "buffer": {
            "rows": pending,
            "payload_bytes": pending_bytes,
            "disk_bytes": disk,
            "discarded": _by_reason(counters, "buffer", "discarded"),
        },
        "settings": settings,
        "nodes": nodes,
        "transfers": log,
        "counters": per_component,
    }


def render_text(status: dict[str, Any]) -> str:
    f, r, u, b = status["frames"], status["readings"], status["uplink"], status["buffer"]
    ratio = u["bytes_raw"] / u["bytes_compressed"] if u["bytes_compressed"] else 0.0
    lines = [
        f"frames read        {f['read']}",
        "frames rejected    " + (_kv(f["rejected"]) or "0"),
        f"readings received  {r['received']} (duplicates dropped {r['duplicates_dropped']},"
        f" sequence gaps {r['sequence_gaps']})",
        f"readings scored    {r['scored']} (unscored {r['unscored']})",
        "score labels       " + (_kv(r["labels"]) or "-"),
        f"readings buffered  {r['buffered']} (pending now {r['pending']},"
        f" {b['payload_bytes']} B payload, {b['disk_bytes']} B on disk)",
        f"batches sent       {u['batches_sent']} ({u['readings_acked']} readings acked,"
        f" {u['readings_sent']} newly stored by the ingest)",
        f"bytes raw          {u['bytes_raw']}",
        f"bytes compressed   {u['bytes_compressed']} (ratio {ratio:.2f})",
        "uplink errors      " + (_kv(u["errors"]) or "0"),
        "buffer discarded   " + (_kv(b["discarded"]) or "0"),
        f"unacked batches    {len(u['unacked_batches'])}",
    ]
    for node in status["nodes"]:
        lines.append(
            f"node {node['node_id']:<12} profile={node['profile']} boot={node['boot']}"
            f" seq={node['last_seq']} readings={node['readings']} gaps={node['gaps']}"
            f" score={node['score']} label={node['label']}"
        )
    return "\n".join(lines)


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch else "-"


def _kv(d: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items())
