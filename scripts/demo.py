"""`make demo`: the whole pipeline on embedded defaults, about a minute, then a summary.

Simulated sensor nodes on pseudo-terminals (python -m edge_agent.simulate) -> the edge agent
(edge-agent run: serial sources, fuzzy scoring, durable SQLite buffer, gzip batches) -> the
ingest service (ingest serve: Flask, SQLite store and feed). Every part is the real program
started as its own process, exactly as an installer would start it; nothing is faked.

    python scripts/demo.py [--seconds 60] [--dir var/demo]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, http_ok, wait_until  # noqa: E402

BIN = Path(sys.executable).parent
NODES = [  # (node type, node id, scenario)
    ("orchid", "orchid-01", "orchid-house.json"),
    ("rice", "rice-07", "rice-plot.json"),
    ("watering", "watering-01", "watering-bed.json"),
]
GATEWAY = "gw-demo"


class Demo:
    def __init__(self, workdir: Path, seconds: float, batch_interval: float) -> None:
        self.dir, self.seconds, self.batch_interval = workdir, seconds, batch_interval
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.logs = workdir / "logs"

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.procs.append((name, proc))
        return proc

    def stop(self, name: str, timeout: float = 30) -> None:
        for n, proc in self.procs:
            if n == name and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    print(f"  {name} did not stop within {timeout:.0f} s; killing it")
                    proc.kill()
                    proc.wait()

    def stop_all(self) -> None:
        for name, _proc in reversed(self.procs):
            self.stop(name, timeout=10)

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"demo: {name} exited with {proc.returncode}:\n{tail}")

    def ingest(self, *args: str) -> str:
        cmd = [str(BIN / "ingest"), "--var-dir", str(self.dir / "cloud"), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"demo: {' '.join(cmd)} failed:\n{done.stderr}")
        return done.stdout

    def cloud_stats(self) -> dict[str, Any]:
        return json.loads(self.ingest("stats"))

    def gateway_status(self) -> dict[str, Any]:
        cmd = [
            str(BIN / "edge-agent"),
            "status",
            "--state-dir",
            str(self.dir / "gateway"),
            "--json",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"demo: {' '.join(cmd)} failed:\n{done.stderr}")
        return json.loads(done.stdout)

    def run(self) -> int:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.logs.mkdir(parents=True)
        (self.dir / "tty").mkdir()
        print(f"demo: working in {self.dir} (logs in {self.logs})")

        token = self.ingest("tokens", "create", "--gateway", GATEWAY).strip().splitlines()[-1]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        self.start("ingest", [str(BIN / "ingest"), "--var-dir", str(self.dir / "cloud"),
                              "serve", "--host", "127.0.0.1", "--port", str(port)])  # fmt: skip
        wait_until(lambda: http_ok(f"{url}/healthz"), 30, "ingest", self.logs / "ingest.log")
        print(f"demo: ingest service up at {url} (SQLite store and feed)")

        ptys = []
        for kind, node_id, scenario in NODES:
            pty = self.dir / "tty" / node_id
            self.start(f"node-{node_id}", [
                sys.executable, "-m", "edge_agent.simulate", "--node", kind, "--node-id", node_id,
                "--scenario", str(ROOT / "scripts" / "scenarios" / scenario), "--pty", str(pty),
                "--interval", "1",
            ])  # fmt: skip
            wait_until(
                pty.exists, 10, f"simulated node {node_id}", self.logs / f"node-{node_id}.log"
            )
            ptys += ["--serial", str(pty)]
        print(f"demo: {len(NODES)} simulated nodes writing a frame a second: "
              + ", ".join(n for _k, n, _s in NODES))  # fmt: skip

        self.start("edge-agent", [
            str(BIN / "edge-agent"), "run", "--gateway-id", GATEWAY, *ptys,
            "--ingest-url", url, "--token", token, "--state-dir", str(self.dir / "gateway"),
            "--batch-interval", str(self.batch_interval), "--codec", "gzip",
        ])  # fmt: skip
        print(f"demo: edge agent shipping a gzip batch every {self.batch_interval:g} s; "
              f"running for {self.seconds:g} s")  # fmt: skip

        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < self.seconds:
            time.sleep(min(10.0, self.seconds - elapsed))
            self.check_alive()
            stats = self.cloud_stats()
            print(f"  {time.monotonic() - started:5.0f} s: {stats['readings']} readings stored "
                  f"in the cloud, {stats['batches']} batches")  # fmt: skip

        for _kind, node_id, _s in NODES:
            self.stop(f"node-{node_id}")
        self.stop("edge-agent")  # SIGTERM: the agent ships what it has, then exits
        gateway, cloud = self.gateway_status(), self.cloud_stats()
        self.stop("ingest")
        print_summary(gateway, cloud)
        return 0 if cloud["readings"] > 0 else 1


def print_summary(gateway: dict[str, Any], cloud: dict[str, Any]) -> None:
    raw, packed = gateway["bytes_raw"], gateway["bytes_compressed"]
    lines = [
        "",
        "Summary",
        f"  frames read by the gateway   {gateway['frames_read']}",
        f"  frames rejected              {gateway['frames_rejected_total']}"
        + "".join(f"  {reason}: {n}" for reason, n in sorted(gateway["frames_rejected"].items())),
        f"  readings scored (fuzzy)      {gateway['readings_scored']}",
        f"  readings buffered (durable)  {gateway['readings_buffered']}",
        f"  readings still buffered      {gateway['readings_pending']}",
        f"  batches shipped              {gateway['batches_sent']}",
        f"  bytes before compression     {raw}",
        f"  bytes after compression      {packed}"
        + (f"  (ratio {raw / packed:.2f})" if packed else ""),
        f"  readings stored by ingest    {cloud['readings']}",
        f"  batches received by ingest   {cloud['batches']}",
        "  score labels (stored)        "
        + ", ".join(f"{k}: {v}" for k, v in sorted(cloud.get("labels", {}).items())),
        f"  notifications in the feed    {cloud['notifications']}",
        "  score distribution (stored growth/suitability scores, 0-100):",
    ]
    scores = cloud.get("scores", {})
    widest = max(scores.values(), default=0)
    for band, count in sorted(scores.items(), key=lambda kv: float(kv[0].split("-")[0])):
        lines.append(f"    {band:>7}  {'#' * round(40 * count / widest):<40} {count}")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("DEMO_SECONDS", 60)))
    parser.add_argument("--batch-interval", type=float, default=10.0)
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "demo")
    args = parser.parse_args()
    demo = Demo(args.dir.resolve(), args.seconds, args.batch_interval)
    try:
        return demo.run()
    finally:
        demo.stop_all()


if __name__ == "__main__":
    sys.exit(main())
