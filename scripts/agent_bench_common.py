"""Shared parts of the edge-agent benchmarks: the real ingest and the agent as processes,
ptys that play nodes, RSS sampling. Used by scripts/agent_bench_*.py; no pytest here."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_agent import frames  # noqa: E402
from tests.servers import free_port, http_ok, wait_until  # noqa: E402

GATEWAY = "gw-bench"


class IngestProc:
    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        var_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        out = self._cli("tokens", "create", "--gateway", GATEWAY)
        self.token = out.strip().splitlines()[-1]
        self.proc: subprocess.Popen[bytes] | None = None

    def _cli(self, *args: str) -> str:
        cmd = [sys.executable, "-m", "ingest.cli", "--var-dir", str(self.var_dir), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout

    def start(self) -> None:
        log = (self.var_dir / "ingest.log").open("ab")
        cmd = [
            sys.executable,
            "-m",
            "ingest.cli",
            "--var-dir",
            str(self.var_dir),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: http_ok(f"{self.url}/healthz"), 60, "ingest", None)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            self.proc = None

    def ids(self) -> list[str]:
        path = self.var_dir / "readings.sqlite3"
        if not path.exists():
            return []
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return [r[0] for r in db.execute("SELECT id FROM readings")]
        except sqlite3.OperationalError:
            return []
        finally:
            db.close()

    def count(self) -> int:
        return int(json.loads(self._cli("stats"))["readings"])


class AgentProc:
    def __init__(self, state_dir: Path, args: list[str], cpu: int | None = None) -> None:
        self.state_dir, self.args, self.cpu = state_dir, args, cpu
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = state_dir.parent / f"{state_dir.name}.log"

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "edge_agent",
            "run",
            "--gateway-id",
            GATEWAY,
            "--state-dir",
            str(self.state_dir),
            *self.args,
        ]
        if self.cpu is not None:
            cmd = ["taskset", "-c", str(self.cpu), *cmd]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(60)
        self.proc = None
        return code

    def status(self) -> dict[str, Any]:
        cmd = [
            sys.executable,
            "-m",
            "edge_agent",
            "status",
            "--state-dir",
            str(self.state_dir),
            "--json",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        return json.loads(done.stdout) if done.returncode == 0 else {}

    def rss_mb(self) -> float:
        assert self.proc is not None
        pid = self.proc.pid  # taskset execs the agent in place: same pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def node_values(seq: int) -> dict[str, float]:
    """An orchid node's reading number `seq`: varied, deterministic."""
    return {
        "temperature": 20.0 + seq % 15,
        "humidity": 55.0 + seq % 30,
        "light": float(8000 + (seq * 37) % 12000),
        "soil_moisture": 40.0 + seq % 20,
    }


class PtyNode:
    """A pty at `path`; a thread writes pre-encoded frames of one node at `rate` per second
    (0 = as fast as the reader takes them: blocking writes, nothing dropped)."""

    def __init__(self, path: Path, node_id: str, rate: float, boot: int = 1) -> None:
        self.path, self.node_id, self.rate, self.boot = path, node_id, rate, boot
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        if path.is_symlink():
            path.unlink()
        path.symlink_to(os.ttyname(self.slave))
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def line(self, seq: int) -> bytes:
        values = node_values(seq)
        return frames.encode(frames.Frame("R", self.node_id, "1.0.0", self.boot, seq, values))

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        seq = 0
        start = time.monotonic()
        while not self._stop.is_set():
            if self.rate:
                due = start + seq / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(min(delay, 0.05))
                    continue
                chunk = [self.line(seq + 1)]
            else:
                chunk = [self.line(s) for s in range(seq + 1, seq + 51)]
            view = memoryview(b"".join(chunk))
            try:
                while view:
                    view = view[os.write(self.master, view) :]
            except OSError:
                return
            seq += len(chunk)
            self.sent = seq

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class HttpNode:
    """A GPRS-style node: a thread POSTs one reading at a time to the agent's `/sensors` at
    `rate` per second on a keep-alive connection. `sent` counts the readings answered 200
    (durable in the agent); a failed post is retried with the same seq (dedupe is safe)."""

    def __init__(self, url: str, node_id: str, rate: float, boot: int = 1) -> None:
        self.url, self.node_id, self.rate, self.boot = url, node_id, rate, boot
        self.sent = self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def body(self, seq: int) -> bytes:
        values = node_values(seq)
        reading = {"node_id": self.node_id, "boot": self.boot, "seq": seq, "values": values}
        return json.dumps(reading).encode()

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        start, seq = time.monotonic(), 1
        while not self._stop.is_set():
            delay = start + (seq - 1) / self.rate - time.monotonic()
            if delay > 0:
                self._stop.wait(min(delay, 0.5))
                continue
            try:
                conn.request(
                    "POST", "/sensors", self.body(seq), {"Content-Type": "application/json"}
                )
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.errors += 1
                self._stop.wait(0.5)
                continue
            if resp.status == 200:
                self.sent, seq = seq, seq + 1
            else:
                self.errors += 1
                self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)
