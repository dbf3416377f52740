"""Soak benchmark: the agent's resident memory over a long run, with an ingest outage.

Nodes on ptys send readings at a steady rate; the agent scores, buffers and ships them to the
real ingest every few seconds. For the middle third of the run the ingest is stopped, so the
backlog piles up (`--outages N`: N outages instead, the run cut into 2N+1 equal parts and
the ingest down in every second one — does each outage leave memory behind?).
`--http-nodes N` adds N nodes posting to the agent's `POST /sensors` (`--http-listen`),
`--http-rate` readings/s each, so the web server's memory is in the curve too. RSS is
sampled every --sample seconds. Target: ≤ 60 MB and flat.

Anchor, measured in the same run: an in-memory buffer (ThingsBoard gateway's default
"memory" storage) holding the same backlog as Python objects — how much RAM the outage's
pending readings would take if they were not on disk.

    python scripts/agent_bench_soak.py --seconds 3600 --rate 50
    python scripts/agent_bench_soak.py --seconds 3600 --rate 50 --http-nodes 4 --outages 3
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from agent_bench_common import GATEWAY, AgentProc, HttpNode, IngestProc, PtyNode, free_port

from ingest import wire


def in_memory_anchor_mb(n: int) -> float:
    """Bytes that `n` pending readings take held as dicts in a list (the anchor's design)."""
    tracemalloc.start()
    held = [
        {
            "id": wire.reading_id(GATEWAY, "orchid-01", 1, i),
            "ts": wire.format_ts(1.7e9 + i),
            "gateway_id": GATEWAY,
            "node_id": "orchid-01",
            "boot": 1,
            "seq": i,
            "values": {
                "temperature": 25.0 + i % 5,
                "humidity": 60.0 + i % 9,
                "light": 9000.0 + i,
                "soil_moisture": 41.0,
            },
            "score": 62.5,
            "label": "sedang",
            "flags": [],
        }
        for i in range(n)
    ]
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del held
    return size / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3600)
    parser.add_argument("--rate", type=float, default=50.0, help="readings/s per node")
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--sample", type=float, default=10.0)
    parser.add_argument("--out", type=Path, help="write the RSS curve here as JSON")
    parser.add_argument("--outages", type=int, default=1, help="ingest outages (default 1)")
    parser.add_argument(
        "--http-nodes", type=int, default=0, help="nodes posting to /sensors (default 0)"
    )
    parser.add_argument("--http-rate", type=float, default=10.0, help="readings/s per HTTP node")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="agent-soak-"))
    ingest = IngestProc(work / "cloud")
    ingest.start()
    nodes = [PtyNode(work / f"node{i}", f"orchid-{i:02d}", args.rate) for i in range(args.nodes)]
    serial = [x for n in nodes for x in ("--serial", str(n.path))]
    web: list[str] = []
    if args.http_nodes:
        port = free_port()
        web = ["--http-listen", f"127.0.0.1:{port}"]
        nodes += [
            HttpNode(f"http://127.0.0.1:{port}", f"orchid-h{i:02d}", args.http_rate)
            for i in range(args.http_nodes)
        ]
    agent = AgentProc(
        work / "gateway",
        [*serial, *web, "--ingest-url", ingest.url, "--token", ingest.token,
         "--batch-interval", "5"],
    )  # fmt: skip
    agent.start()
    time.sleep(3)
    for node in nodes:
        node.start()
    curve: list[dict[str, float]] = []
    start = time.monotonic()
    part = args.seconds / (2 * args.outages + 1)
    outages = [(part * (2 * i + 1), part * (2 * i + 2)) for i in range(args.outages)]
    down = False
    max_pending = 0
    print(
        f"soak: {args.nodes} serial nodes x {args.rate:g}/s, {args.http_nodes} HTTP nodes x "
        f"{args.http_rate:g}/s for {args.seconds:g}s, ingest down "
        f"{', '.join(f'{a:.0f}-{b:.0f}' for a, b in outages)}s; work dir {work}",
        flush=True,
    )
    while (t := time.monotonic() - start) < args.seconds:
        within = any(a <= t < b for a, b in outages)
        if not down and within:
            ingest.stop()
            down = True
        elif down and not within:
            ingest.start()
            down = False
        status = agent.status()
        pending = status.get("readings_pending", 0)
        max_pending = max(max_pending, pending)
        point = {
            "t": round(t, 1),
            "rss_mb": round(agent.rss_mb(), 2),
            "pending": pending,
            "buffered": status.get("readings_buffered", 0),
            "ingest_down": down,
        }
        curve.append(point)
        print(json.dumps(point), flush=True)
        time.sleep(args.sample)
    for node in nodes:
        node.stop()
    code = agent.stop()
    delivered = ingest.count() if not down else -1
    ingest.stop()
    rss = [p["rss_mb"] for p in curve]
    warm = rss[len(rss) // 10 :] or rss
    first_half = warm[: len(warm) // 2] or warm
    second_half = warm[len(warm) // 2 :] or warm
    anchor = in_memory_anchor_mb(max_pending)
    summary = {
        "seconds": args.seconds,
        "serial_nodes": args.nodes,
        "http_nodes": args.http_nodes,
        "http_post_errors": sum(getattr(n, "errors", 0) for n in nodes),
        "readings_sent": sum(n.sent for n in nodes),
        "delivered": delivered,
        "agent_exit": code,
        "rss_mb_max": max(rss),
        "rss_mb_median_first_half": sorted(first_half)[len(first_half) // 2],
        "rss_mb_median_second_half": sorted(second_half)[len(second_half) // 2],
        "max_pending_during_outage": max_pending,
        "anchor_in_memory_mb_for_that_backlog": round(anchor, 2),
    }
    print("summary " + json.dumps(summary))
    print(
        f"ours: RSS max {summary['rss_mb_max']:.1f} MB, median "
        f"{summary['rss_mb_median_first_half']:.1f}"
        f" -> {summary['rss_mb_median_second_half']:.1f} MB (target <= 60, flat); backlog of "
        f"{max_pending} readings on disk | anchor (in-memory buffer): that backlog alone "
        f"= {anchor:.1f} MB of RAM, growing with the outage"
    )
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "curve": curve}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
