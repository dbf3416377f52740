"""The birth-to-storage counting harness of the chaos suite (scripts/chaos.py): the real
ingest and edge agent as subprocesses (so kill -9 is real), node ptys, HTTP nodes that keep
resending a reading until the agent acknowledges it, and the ledger that compares what was
acknowledged with what the ingest stored. No pytest here, so the script can use it.
"""

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from edge_agent import frames
from ingest import wire
from tests.servers import free_port, http_ok, port_open

ROOT = Path(__file__).resolve().parents[2]


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class IngestProc:
    """`ingest serve` on a loopback port; `rows()` reads its SQLite store directly."""

    def __init__(self, var_dir: Path, gateway: str, *serve_flags: str) -> None:
        self.var_dir = var_dir
        var_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.serve_flags = list(serve_flags)
        self.token = self.cli("tokens", "create", "--gateway", gateway).strip().splitlines()[-1]
        self.app_token = self.cli("tokens", "create", "--app", "chaos").strip().splitlines()[-1]
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = var_dir / "ingest.log"

    def cli(self, *args: str) -> str:
        cmd = [sys.executable, "-m", "ingest.cli", "--var-dir", str(self.var_dir), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{cmd} failed: {done.stderr[-2000:]}")
        return done.stdout

    def start(self) -> IngestProc:
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
            *self.serve_flags,
        ]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, 30, "ingest")
        if self.proc.poll() is not None:
            raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def rows(self) -> list[tuple[str, str, int, int]]:
        """(id, node, boot, seq) of every stored row, duplicates included."""
        path = self.var_dir / "readings.sqlite3"
        if not path.exists():
            return []
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return db.execute("SELECT id, node_id, boot, seq FROM readings").fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            db.close()


class AgentProc:
    """`edge-agent run` as a subprocess with its state in `state_dir`."""

    def __init__(
        self, state_dir: Path, args: list[str], config: str = "", log_dir: Path | None = None
    ) -> None:
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        self.web_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        log_dir = log_dir or state_dir.parent
        self.log = log_dir / f"{state_dir.name}.log"
        self.config = log_dir / f"{state_dir.name}.toml"
        self.config.write_text(config)
        self.args = [
            "--config",
            str(self.config),
            "--http-listen",
            f"127.0.0.1:{self.web_port}",
            "--state-dir",
            str(state_dir),
            *args,
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, wait: bool = True) -> AgentProc:
        cmd = [sys.executable, "-m", "edge_agent", "run", *self.args]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        if wait:
            wait_for(lambda: port_open(self.web_port) or self.proc.poll() is not None, 30, "agent")
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited {self.proc.returncode}: {self.tail()}")
        return self

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def status(self) -> dict[str, Any]:
        from edge_agent import status

        try:
            return status.collect(self.state_dir, 0)
        except (OSError, sqlite3.Error):
            return {}

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class Ledger:
    """Every reading born in a scenario, and the ones the gateway acknowledged."""

    gateway: str
    born: set[tuple[str, int, int]] = field(default_factory=set)
    acked: set[tuple[str, int, int]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: int = 0
    refusals: dict[str, int] = field(default_factory=dict)

    def birth(self, key: tuple[str, int, int]) -> None:
        with self.lock:
            self.born.add(key)

    def ack(self, keys: list[tuple[str, int, int]]) -> None:
        with self.lock:
            self.acked.update(keys)

    def refused(self, why: str) -> None:
        with self.lock:
            self.refusals[why] = self.refusals.get(why, 0) + 1

    def ids(self, keys: set[tuple[str, int, int]]) -> set[str]:
        return {wire.reading_id(self.gateway, *key) for key in keys}

    def count(self, rows: list[tuple[str, str, int, int]]) -> dict[str, Any]:
        """Figures against the rows the store holds (this ledger's nodes only)."""
        mine = self.ids(self.born)
        ours = [r for r in rows if r[0] in mine]
        stored = {r[0] for r in ours}
        acked = self.ids(self.acked)
        return {
            "generated": len(self.born),
            "acknowledged": len(self.acked),
            "stored": len(stored),
            "stored_rows": len(ours),
            "duplicated": len(ours) - len(stored),
            "lost": len(acked - stored),
            "stored_unacknowledged": len(stored - acked),
            "http_attempts": self.attempts,
            "refusals": dict(self.refusals),
        }


class HttpNode(threading.Thread):
    """A GPRS node posting to the agent's /sensors: each reading is resent until a 2xx."""

    def __init__(
        self, ledger: Ledger, node: str, url: Callable[[], str], per_post: int = 5, boot: int = 1
    ) -> None:
        super().__init__(daemon=True, name=f"node-{node}")
        self.ledger, self.node, self.url, self.per_post, self.boot = (
            ledger,
            node,
            url,
            per_post,
            boot,
        )
        self.seq = 0
        self.stopping = threading.Event()
        self.session = requests.Session()

    def run(self) -> None:
        while not self.stopping.is_set():
            batch = [(self.node, self.boot, self.seq + i + 1) for i in range(self.per_post)]
            for key in batch:
                self.ledger.birth(key)
            while not self.stopping.is_set():
                if self._post(batch):
                    self.seq += self.per_post
                    break
                self.stopping.wait(0.05)

    def _post(self, batch: list[tuple[str, int, int]]) -> bool:
        body = [
            {
                "node_id": n,
                "boot": b,
                "seq": s,
                "profile": "orchid",
                "values": {"temperature": 20.0 + s % 10, "humidity": 70.0, "light": 12000.0},
            }
            for n, b, s in batch
        ]
        self.ledger.attempts += 1
        try:
            resp = self.session.post(f"{self.url()}/sensors", json=body, timeout=5)
        except requests.RequestException as exc:
            self.ledger.refused(type(exc).__name__)
            return False
        if 200 <= resp.status_code < 300:
            self.ledger.ack(batch)
            return True
        self.ledger.refused(str(resp.status_code))
        return False

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


class NodePty:
    """A node's serial port: a pty whose slave is symlinked at `path`; unplug/replug it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.master = self.slave = -1
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tmp = self.path.with_suffix(".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(self.slave))
        tmp.rename(self.path)

    def unplug(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.master = self.slave = -1

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def frame(self, node: str, boot: int, seq: int) -> bytes:
        values = {"temperature": 25.0 + seq % 7, "humidity": 70.0, "light": 12000.0}
        return frames.encode(frames.Frame("R", node, "1.0.0", boot, seq, values))


def ingest_ok(url: str) -> bool:
    return http_ok(f"{url}/healthz")


def figures_json(figures: dict[str, Any]) -> str:
    return json.dumps(figures, indent=2, sort_keys=True)
