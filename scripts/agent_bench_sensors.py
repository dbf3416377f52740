"""/sensors latency benchmark: the paper's load test of the gateway route, on our agent.

N concurrent clients (threads) each POST one reading at a time to the agent's /sensors for
--seconds; every answer is a 200 only once the reading is fsync'd in the buffer. Prints mean
and p99 latency and the agent's CPU share, beside the paper's k6 figures for its gateway
(quoted: Orange Pi 3 LTS, MySQL; not re-run here).

    python scripts/agent_bench_sensors.py --clients 100 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from agent_bench_common import AgentProc, IngestProc, free_port

PAPER = {25: (121, 386, 11.15), 50: (140, 501, 25.83), 75: (163, 593, 37.7), 100: (186, 662, 52.3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a client's posts")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="agent-sensors-"))
    ingest = IngestProc(work / "cloud")
    ingest.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}/sensors"
    agent = AgentProc(
        work / "gateway",
        [
            "--ingest-url",
            ingest.url,
            "--token",
            ingest.token,
            "--batch-interval",
            "10",
            "--http-listen",
            f"127.0.0.1:{port}",
        ],
    )
    agent.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url.replace("/sensors", "/healthz"), timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.2)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = threading.Event()

    def client(i: int) -> None:
        nonlocal errors
        session = requests.Session()
        seq = 0
        while not stop.is_set():
            seq += 1
            body = {
                "node_id": f"rice-{i:03d}",
                "boot": 1,
                "seq": seq,
                "values": {
                    "temperature": 29.5,
                    "humidity": 95.0,
                    "gas": 3.99,
                    "soil_ph": 6.8,
                    "soil_moisture": 61.1,
                },
            }
            t0 = time.perf_counter()
            try:
                ok = session.post(url, json=body, timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1
            stop.wait(max(0.0, args.think - elapsed))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    c0, t0 = agent.cpu_seconds(), time.monotonic()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join(15)
    cpu = (agent.cpu_seconds() - c0) / (time.monotonic() - t0)
    agent.stop()
    ingest.stop()
    latencies.sort()
    mean = statistics.fmean(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    result = {
        "clients": args.clients,
        "requests": len(latencies),
        "errors": errors,
        "mean_ms": round(mean, 1),
        "p99_ms": round(p99, 1),
        "agent_cpu_share_of_one_core": round(cpu, 3),
    }
    print("result " + json.dumps(result))
    paper = PAPER.get(args.clients)
    anchor = (
        f"paper (k6, {args.clients} VUs, quoted): mean {paper[0]} ms, p99 {paper[1]} ms, "
        f"CPU {paper[2]} %"
        if paper
        else "paper: no figure for this client count"
    )
    print(
        f"ours: mean {mean:.1f} ms, p99 {p99:.1f} ms (each 200 = fsync'd), agent CPU "
        f"{cpu:.0%} of one core, {errors} errors | {anchor}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
