"""Ingest benchmark: starts `ingest serve` (gunicorn, one worker process), posts pre-compressed
batches over keep-alive HTTP and prints readings/s beside the targets and the paper's figures.

Uploads run over 3 concurrent keep-alive connections to the one server process (gunicorn
gthread; the server reads the bodies side by side and decodes and stores one batch at a time).

Scenarios (each measured in this run):
  sqlite-gzip   10k-reading gzip NDJSON batches into the sqlite store   (target ≥ 200k/s)
  paper-12x     the paper's 12× data set (597,420 rows, 12 nodes, 10-min dumps of 5-s logs)
                as gzip NDJSON and as the paper's gzip CSV layout     (target < 10 s; paper
                39.53 s best = bzip2, 57.26 s gzip, 229.88 s uncompressed)
  naive         the same data through a naive pipeline in this process: json.loads +
                wire.validate + a text-keyed INSERT per reading (the same-run anchor)
  victoria      10k-reading gzip batches into VictoriaMetrics (v2 write API)  (target ≥ 100k/s)
  memory        the server worker's peak RSS after 1× and after 12× (bounded by batch size)

Each throughput row also gives the server worker's CPU time per reading (utime + stime of
the gunicorn worker over the scenario): on a shared machine the wall-clock figures follow the
load, the CPU figure much less. `--code DIR` runs the server from another checkout (e.g. the
main branch) with this same script, for a before/after pair measured in the same session.
The paper-12x scenarios run `--repeat` times (3), each on a fresh server: the median is the
figure, every run is printed beside it (this 2-core box moves ±20 % from minute to minute).

Usage: python scripts/bench_ingest.py [--scale 12] [--repeat 3] [--skip-vm] [--json OUT]
           [--code DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest import codecs, wire  # noqa: E402
from tests.servers import VictoriaMetrics, free_port, http_ok, wait_until  # noqa: E402

ROWS_PER_NODE = 49_785  # the paper's one-node week, 10-17 May 2025, a row every 5 s
START = 1746835200.0  # 2025-05-10T00:00:00Z
PAPER = {"bzip2": 39.53, "gzip": 57.26, "uncompressed": 229.88}
INGEST = [sys.executable, "-m", "ingest.cli"]
CODE = ROOT  # the checkout whose ingest/ the server runs (`--code`)


def paper_readings(scale: int, gateway: str, start: float = START) -> list[dict[str, Any]]:
    """`scale` nodes × 49,785 rows of the paper's rice-field layout, as uplink readings: slow
    random walks (a field's climate drifts; labels change every few minutes, not every row)."""
    rng = random.Random(7)
    labels = ("sangat_buruk", "buruk", "sedang", "optimal")
    out = []
    for node in range(scale):
        node_id = f"rice-{node:02d}"
        temp, hum, gas, ph, soil, score = 30.0, 85.0, 4.5, 6.5, 40.0, 70.0
        for seq in range(ROWS_PER_NODE):
            temp = min(max(temp + rng.gauss(0, 0.05), 22), 38)
            hum = min(max(hum + rng.gauss(0, 0.2), 40), 100)
            gas = min(max(gas + rng.gauss(0, 0.02), 2), 8)
            ph = min(max(ph + rng.gauss(0, 0.01), 4), 9)
            soil = min(max(soil + rng.gauss(0, 0.1), 5), 90)
            score = min(max(score + rng.gauss(0, 0.3), 5), 98)
            out.append({
                "id": wire.reading_id(gateway, node_id, 1, seq),
                "ts": wire.format_ts(start + seq * 5),
                "gateway_id": gateway, "node_id": node_id, "profile": "rice",
                "boot": 1, "seq": seq,
                "values": {"temperature": round(temp, 1), "humidity": round(hum, 1),
                           "gas": round(gas, 2), "soil_ph": round(ph, 2),
                           "soil_moisture": round(soil, 2), "lat": -8.588197, "lon": 115.10209},
                "score": round(score, 1), "label": labels[min(int(score // 25), 3)], "flags": [],
            })  # fmt: skip
    out.sort(key=lambda r: r["ts"])
    return out


def paper_csv(readings: list[dict[str, Any]]) -> bytes:
    lines = ["ID,timestamp,gateway_id,node_id,temperature,humidity,gas,soil_ph,soil_moisture,GPS"]
    for r in readings:
        v = r["values"]
        lines.append(
            f"{r['id']},{r['ts'][:10]} {r['ts'][11:19]},{r['gateway_id']},{r['node_id']},"
            f"{v['temperature']},{v['humidity']},{v['gas']},{v['soil_ph']},{v['soil_moisture']},"
            f'"{v["lat"]}, {v["lon"]}"'
        )
    return ("\n".join(lines) + "\n").encode()


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class Server:
    def __init__(self, var: Path, store: str | None = None) -> None:
        self.var, self.port = var, free_port()
        self.token = subprocess.run(
            [*INGEST, "--var-dir", str(var), "tokens", "create", "--gateway", "gw-bench"],
            capture_output=True, text=True, check=True, cwd=CODE,
        ).stdout.split()[-1]  # fmt: skip
        args = [*INGEST, "--var-dir", str(var), "serve", "--port", str(self.port)]
        if store:
            args += ["--store", store]
        self.log = open(var / "server.log", "w")  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if k != "INGEST_ACCESS_LOG"}
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env, cwd=CODE)  # fmt: skip
        wait_until(lambda: http_ok(f"http://127.0.0.1:{self.port}/healthz"), 30, "ingest", None)
        self.local = threading.local()

    def post(self, body: bytes, encoding: str, content_type: str = "application/x-ndjson") -> dict:
        conn = getattr(self.local, "conn", None)
        if conn is None:  # one keep-alive connection per client thread
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        conn.request("POST", "/v1/batches", body=body, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": content_type,
            "Content-Encoding": encoding, "Idempotency-Key": str(uuid.uuid4()),
        })  # fmt: skip
        response = conn.getresponse()
        data = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"batch refused: {response.status} {data}")
        return data

    def worker(self) -> str:
        """The pid of the gunicorn worker (the child of the arbiter)."""
        return Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()[0]

    def worker_cpu_s(self) -> float:
        """utime + stime of the worker so far."""
        fields = Path(f"/proc/{self.worker()}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def worker_peak_rss_mb(self) -> float:
        """VmHWM of the gunicorn worker."""
        status = Path(f"/proc/{self.worker()}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmHWM"))
        return int(line.split()[1]) / 1024

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


CLIENTS = 3  # concurrent uploads, as a fleet of gateways makes them


def post_all(
    server: Server, bodies: list[bytes], encoding: str, content_type: str
) -> tuple[float, int, float]:
    """Post every body over CLIENTS keep-alive connections; (seconds, readings accepted,
    worker CPU seconds)."""
    cpu = server.worker_cpu_s()
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda b: server.post(b, encoding, content_type), bodies))
    seconds = time.perf_counter() - started
    return seconds, sum(r["accepted"] for r in results), server.worker_cpu_s() - cpu


def naive_anchor(readings: list[dict[str, Any]], var: Path) -> float:
    """The same readings through a straightforward pipeline, in this process."""
    body = codecs.compress(wire.encode_ndjson(readings), "gzip")
    db = sqlite3.connect(var / "naive.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE r (id TEXT PRIMARY KEY, node TEXT, ts TEXT, doc TEXT)")
    db.execute("CREATE INDEX r_node_ts ON r (node, ts)")
    started = time.perf_counter()
    raw = codecs.decompress(body, "gzip")
    rows = []
    for line in raw.splitlines():
        r = wire.validate(json.loads(line))
        rows.append((r["id"], r["node_id"], r["ts"], line.decode()))
    db.execute("BEGIN")
    for row in rows:
        db.execute("INSERT OR IGNORE INTO r VALUES (?, ?, ?, ?)", row)
    db.execute("COMMIT")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=12, help="nodes (12 = the paper's 12×)")
    parser.add_argument("--batch", type=int, default=10_000, help="readings per throughput batch")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each paper-12x scenario")
    parser.add_argument("--skip-vm", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout the server runs from")
    args = parser.parse_args()
    global CODE
    CODE = args.code.resolve()
    figures: dict[str, Any] = {"code": str(CODE), "load_before": os.getloadavg()}
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    print(f"building the paper's {args.scale}× data set ...", flush=True)
    readings = paper_readings(args.scale, "gw-bench")
    n = len(readings)
    raw = wire.encode_ndjson(readings)
    print(f"  {n} readings, {len(raw) / 1e6:.1f} MB NDJSON", flush=True)

    # 1. throughput: 10k-reading gzip NDJSON batches into sqlite
    bodies = [codecs.compress(wire.encode_ndjson(c), "gzip") for c in chunks(readings, args.batch)]
    server = Server(tmp / "sqlite-gzip")
    try:
        seconds, accepted, cpu = post_all(server, bodies, "gzip", "application/x-ndjson")
        assert accepted == n, (accepted, n)
        figures["sqlite_gzip_readings_per_s"] = n / seconds
        figures["sqlite_gzip_seconds"] = seconds
        figures["sqlite_gzip_cpu_us_per_reading"] = cpu / n * 1e6
        figures["peak_rss_mb_12x"] = server.worker_peak_rss_mb()
    finally:
        server.stop()

    # 2. the paper's 12× set as 10-minute dumps (12 nodes × 120 rows), gzip NDJSON and gzip CSV
    dump = 120 * args.scale
    for label, encoding, content_type, make in (
        ("paper_12x_gzip_ndjson", "gzip", "application/x-ndjson", wire.encode_ndjson),
        ("paper_12x_gzip_csv", "gzip", "text/csv", paper_csv),
    ):
        bodies = [codecs.compress(make(c), encoding) for c in chunks(readings, dump)]
        runs = []
        for run in range(args.repeat):
            server = Server(tmp / f"{label}-{run}")
            try:
                seconds, accepted, cpu = post_all(server, bodies, encoding, content_type)
                assert accepted == n, (accepted, n)
                runs.append((seconds, cpu / n * 1e6))
                print(f"  {label} run {run + 1}/{args.repeat}: {seconds:.2f} s", flush=True)
            finally:
                server.stop()
        runs.sort()
        figures[f"{label}_seconds"], figures[f"{label}_cpu_us_per_reading"] = runs[len(runs) // 2]
        figures[f"{label}_seconds_runs"] = [round(r[0], 2) for r in runs]
        figures[f"{label}_batches"] = len(bodies)

    # 3. memory: 1× through a fresh server with the same batch size
    one = [r for r in readings if r["node_id"] == "rice-00"]
    server = Server(tmp / "memory-1x")
    try:
        small = [codecs.compress(wire.encode_ndjson(c), "gzip") for c in chunks(one, args.batch)]
        post_all(server, small, "gzip", "application/x-ndjson")
        figures["peak_rss_mb_1x"] = server.worker_peak_rss_mb()
    finally:
        server.stop()

    # 4. same-run anchor: naive pipeline in this process
    cpu = time.process_time()
    naive = naive_anchor(readings, tmp)
    figures["naive_readings_per_s"] = n / naive
    figures["naive_seconds"] = naive
    figures["naive_cpu_us_per_reading"] = (time.process_time() - cpu) / n * 1e6

    # 5. VictoriaMetrics
    if not args.skip_vm:
        vm = VictoriaMetrics(data_dir=tmp / "vm").start()
        try:
            shift = time.time() - 8 * 86400 - START  # inside VictoriaMetrics' retention
            recent = paper_readings(args.scale, "gw-bench", start=START + shift)
            bodies = [
                codecs.compress(wire.encode_ndjson(c), "gzip") for c in chunks(recent, args.batch)
            ]
            store = f"influxdb://127.0.0.1:{vm.port}/bench?org=bench&batch_size=10000"
            server = Server(tmp / "vm-ingest", store=store)
            try:
                seconds, accepted, cpu = post_all(server, bodies, "gzip", "application/x-ndjson")
                assert accepted == n, (accepted, n)
                figures["victoria_readings_per_s"] = n / seconds
                figures["victoria_seconds"] = seconds
                figures["victoria_cpu_us_per_reading"] = cpu / n * 1e6
            finally:
                server.stop()
        finally:
            vm.stop()

    figures["load_after"] = os.getloadavg()
    report(figures, n)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def _runs(f: dict[str, Any], label: str) -> str:
    return " ".join(f"{x:.2f}" for x in f[f"{label}_seconds_runs"])


def report(f: dict[str, Any], n: int) -> None:
    rows = [
        ("gzip NDJSON → sqlite, readings/s", f"{f['sqlite_gzip_readings_per_s']:,.0f}",
         "≥ 200,000 (target)", f"naive same run: {f['naive_readings_per_s']:,.0f}"),
        ("  worker CPU per reading, µs", f"{f['sqlite_gzip_cpu_us_per_reading']:.1f}",
         "≤ 5 (200k/s, 1 core)", f"naive same run: {f['naive_cpu_us_per_reading']:.1f}"),
        (f"paper 12× ({n:,} rows) gzip NDJSON, s", f"{f['paper_12x_gzip_ndjson_seconds']:.2f}",
         "< 10 (target)", f"paper: {PAPER['bzip2']} bzip2 / {PAPER['gzip']} gzip / "
         f"{PAPER['uncompressed']} raw"),
        ("  each run, s", _runs(f, "paper_12x_gzip_ndjson"), "median above", ""),
        ("  worker CPU per reading, µs", f"{f['paper_12x_gzip_ndjson_cpu_us_per_reading']:.1f}",
         "", ""),
        (f"paper 12× ({n:,} rows) gzip CSV, s", f"{f['paper_12x_gzip_csv_seconds']:.2f}",
         "< 10 (target)", f"paper: {PAPER['gzip']} gzip"),
        ("  each run, s", _runs(f, "paper_12x_gzip_csv"), "median above", ""),
        ("  worker CPU per reading, µs", f"{f['paper_12x_gzip_csv_cpu_us_per_reading']:.1f}",
         "", ""),
        ("worker peak RSS 1× / 12×, MB", f"{f['peak_rss_mb_1x']:.0f} / {f['peak_rss_mb_12x']:.0f}",
         "bounded by batch", ""),
    ]  # fmt: skip
    if "victoria_readings_per_s" in f:
        rows.append(("gzip NDJSON → VictoriaMetrics, readings/s",
                     f"{f['victoria_readings_per_s']:,.0f}", "≥ 100,000 (target)", ""))  # fmt: skip
        rows.append(("  worker CPU per reading, µs", f"{f['victoria_cpu_us_per_reading']:.1f}",
                     "≤ 10 (100k/s, 1 core)", ""))  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"\nserver code: {f['code']}; load average before / after:"
          f" {' '.join(f'{x:.2f}' for x in f['load_before'])} /"
          f" {' '.join(f'{x:.2f}' for x in f['load_after'])}")  # fmt: skip
    for name, ours, target, anchor in rows:
        print(f"{name:<{width}}  {ours:>14}  {target:<20} {anchor}")


if __name__ == "__main__":
    sys.exit(main())
