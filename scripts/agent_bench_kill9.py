"""Crash benchmark: kill -9 the agent at random moments while readings flow, N times.

Two nodes POST readings to the agent's /sensors (the only source with an acknowledgement a
client can count on: 200 = durable). The agent is SIGKILLed at a random moment of each cycle
(uniform in [--min, --max] s after it answers again) and restarted. At the end every reading
that got a 200 must be stored at the real ingest exactly once.

Reported: acknowledged readings, lost (acked but never stored), duplicated (stored twice —
the ingest's primary key makes this structurally 0, so we also report the resends the ingest
absorbed as duplicates/replays), cycles.

    python scripts/agent_bench_kill9.py --cycles 100
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from agent_bench_common import GATEWAY, AgentProc, IngestProc, free_port

from ingest import wire


def up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).ok
    except requests.RequestException:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--min", type=float, default=0.2)
    parser.add_argument("--max", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="agent-kill9-"))
    ingest = IngestProc(work / "cloud")
    ingest.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = work / "agent.toml"
    config.write_text("[uplink]\nbackoff_max_seconds = 1.0\n")
    agent = AgentProc(
        work / "gateway",
        [
            "--config",
            str(config),
            "--ingest-url",
            ingest.url,
            "--token",
            ingest.token,
            "--batch-interval",
            "0.5",
            "--http-listen",
            f"127.0.0.1:{port}",
        ],
    )
    acked: set[str] = set()
    stop = threading.Event()

    def client(node: str) -> None:
        seq = 1
        while not stop.is_set():
            body = [
                {"node_id": node, "boot": 1, "seq": s, "values": {"temperature": 25.0}}
                for s in range(seq, seq + 5)
            ]
            try:
                resp = requests.post(f"{url}/sensors", json=body, timeout=3)
            except requests.RequestException:
                time.sleep(0.05)
                continue  # resend the same five, as a node would
            if resp.status_code == 200:
                acked.update(wire.reading_id(GATEWAY, node, 1, s) for s in range(seq, seq + 5))
                seq += 5

    rng = random.Random(args.seed)
    agent.start()
    if not _wait(lambda: up(url), 60):
        raise SystemExit("agent did not start")
    threads = [threading.Thread(target=client, args=(f"orchid-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    started = time.monotonic()
    for cycle in range(args.cycles):
        time.sleep(rng.uniform(args.min, args.max))
        agent.stop(signal.SIGKILL)
        agent.start()
        if not _wait(lambda: up(url), 60):
            raise SystemExit(f"agent did not come back in cycle {cycle}")
        if (cycle + 1) % 10 == 0:
            print(f"cycle {cycle + 1}: {len(acked)} readings acknowledged so far", flush=True)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join(10)
    _wait(lambda: acked <= set(ingest.ids()), 120)
    agent.stop()
    stored = ingest.ids()
    counts = Counter(stored)
    lost = len(acked - set(stored))
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    status = agent.status()
    ingest.stop()
    result = {
        "cycles": args.cycles,
        "seconds": round(time.monotonic() - started),
        "acknowledged": len(acked),
        "stored": len(stored),
        "lost": lost,
        "duplicated": duplicated,
        "replayed_batches": status["counters"].get("uplink", {}).get("replayed_batches", 0),
        "resent_readings_absorbed_by_ingest": status["counters"]
        .get("uplink", {})
        .get("duplicate", 0),
    }
    print("result " + json.dumps(result))
    print(
        f"ours: {args.cycles} kill -9 cycles, {len(acked)} acknowledged readings, "
        f"{lost} lost, {duplicated} duplicated at the ingest | anchor (ThingsBoard gateway, "
        "memory storage by default; quoted, not run here): everything not yet sent is lost"
    )
    return 1 if lost or duplicated else 0


def _wait(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


if __name__ == "__main__":
    sys.exit(main())
