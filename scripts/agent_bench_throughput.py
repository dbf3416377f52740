"""Throughput benchmark: readings/s through parse → score → buffer → ship, agent on one core.

Ours: the real agent process pinned to one CPU (taskset) reads frames from --nodes ptys that
are written as fast as it takes them, scores them (orchid profile), group-commits them to its
SQLite buffer (synchronous=FULL) and ships zstd/gzip batches to the real ingest (on the other
core). The figure is readings acknowledged by the ingest per second over the measured window,
after a warm-up.

Anchor, measured in the same run on the same core: the same components used one reading at
a time, as the papers' gateways do — decode a frame, score it alone, INSERT and COMMIT it alone
(one fsync per reading) — the design a group commit replaces.

    python scripts/agent_bench_throughput.py --seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from agent_bench_common import GATEWAY, AgentProc, IngestProc, PtyNode

from edge_agent import frames
from fuzzy import load_profile
from ingest import wire


def anchor_per_reading(work: Path, n: int, cpu: int) -> tuple[float, float]:
    """(readings/s wall clock, readings per CPU-second) of the per-reading design."""
    os.sched_setaffinity(0, {cpu})
    node = PtyNode.__new__(PtyNode)
    node.node_id, node.boot = "orchid-01", 1
    lines = [PtyNode.line(node, seq) for seq in range(1, n + 1)]
    engine = load_profile("orchid")
    db = sqlite3.connect(work / "anchor.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE readings (id TEXT PRIMARY KEY, line BLOB)")
    start, cpu0 = time.perf_counter(), time.process_time()
    for line in lines:
        frame = frames.decode(line)
        result = engine.score_records([frame.values])[0]
        reading = {
            "id": wire.reading_id(GATEWAY, frame.node_id, frame.boot, frame.seq),
            "ts": wire.format_ts(time.time()),
            "values": frame.values,
            **result,
        }
        db.execute(
            "INSERT INTO readings VALUES (?, ?)", (reading["id"], wire.encode_ndjson([reading]))
        )
    elapsed, cpu_used = time.perf_counter() - start, time.process_time() - cpu0
    db.close()
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return n / elapsed, n / cpu_used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--codec", default="zstd")
    parser.add_argument("--cpu", type=int, default=0, help="core the agent is pinned to")
    parser.add_argument("--anchor-readings", type=int, default=2000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="agent-tput-"))
    ingest = IngestProc(work / "cloud")
    ingest.start()
    nodes = [PtyNode(work / f"node{i}", f"orchid-{i:02d}", 0) for i in range(args.nodes)]
    serial = [x for n in nodes for x in ("--serial", str(n.path))]
    agent = AgentProc(
        work / "gateway",
        [
            *serial,
            "--ingest-url",
            ingest.url,
            "--token",
            ingest.token,
            "--batch-interval",
            "1",
            "--codec",
            args.codec,
        ],
        cpu=args.cpu,
    )
    agent.start()
    time.sleep(4)
    for node in nodes:
        node.start()
    time.sleep(args.warmup)
    s0, c0, t0 = agent.status(), agent.cpu_seconds(), time.monotonic()
    rss_samples = []
    while time.monotonic() - t0 < args.seconds:
        time.sleep(2)
        rss_samples.append(agent.rss_mb())
    s1, c1, t1 = agent.status(), agent.cpu_seconds(), time.monotonic()
    rss = max(rss_samples)
    for node in nodes:
        node.stop()
    agent.stop()
    ingest.stop()
    elapsed = t1 - t0
    acked = s1["uplink"]["readings_acked"] - s0["uplink"]["readings_acked"]
    buffered = s1["readings_buffered"] - s0["readings_buffered"]
    scored = s1["readings_scored"] - s0["readings_scored"]
    ours = {
        "acked_per_s": round(acked / elapsed),
        "buffered_per_s": round(buffered / elapsed),
        "scored_per_s": round(scored / elapsed),
        "agent_cpu_share": round((c1 - c0) / elapsed, 2),
        "rss_mb_max": round(rss, 1),
        "rss_mb_median": round(sorted(rss_samples)[len(rss_samples) // 2], 1),
        "pending_at_end": s1["readings_pending"],
        "rejected": s1["frames_rejected"],
        "codec": args.codec,
    }
    anchor, anchor_per_cpu_s = anchor_per_reading(work, args.anchor_readings, args.cpu)
    print("ours " + json.dumps(ours))
    per_cpu_s = buffered / max(c1 - c0, 1e-9)
    print(
        f"per CPU-second (what one fully-used core does): ours {per_cpu_s:.0f} readings "
        f"buffered | anchor {anchor_per_cpu_s:.0f} | ratio {per_cpu_s / anchor_per_cpu_s:.1f}x"
    )
    print(
        f"ours: {ours['acked_per_s']} readings/s acknowledged by the ingest "
        f"({ours['buffered_per_s']}/s durably buffered, agent CPU {ours['agent_cpu_share']:.0%} "
        f"of its one core) | anchor (per-reading score + fsync'd commit, same core): "
        f"{anchor:.0f} readings/s | ratio {ours['acked_per_s'] / anchor:.1f}x | target >= 5000"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
