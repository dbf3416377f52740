"""Fixtures of the edge-agent tests: the real ingest service in a subprocess, ptys that play
sensor nodes, and the agent itself as a subprocess (so signals and kill -9 are real)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from edge_agent import frames
from tests.helpers import free_port, http_ok

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = "gw-test"


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Ingest:
    """`ingest serve` on a free loopback port with its SQLite store in a temp dir."""

    def __init__(self, var_dir: Path, gateway: str = GATEWAY, **serve_flags: str) -> None:
        self.var_dir = var_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.serve_flags = serve_flags
        self.token = self._cli("tokens", "create", "--gateway", gateway).strip().splitlines()[-1]
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = var_dir / "ingest.log"

    def _cli(self, *args: str) -> str:
        cmd = [sys.executable, "-m", "ingest.cli", "--var-dir", str(self.var_dir), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        assert done.returncode == 0, f"{cmd} failed: {done.stderr}"
        return done.stdout

    def start(self) -> None:
        flags = [x for k, v in self.serve_flags.items() for x in (f"--{k.replace('_', '-')}", v)]
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
            *flags,
        ]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        wait_for(
            lambda: http_ok(f"{self.url}/healthz") or self.proc.poll() is not None,
            30,
            "ingest to answer /healthz",
        )
        assert self.proc.poll() is None, self.log.read_text()[-2000:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def rows(self) -> list[tuple[str, str, int, int, float | None, str | None]]:
        """(id, node, boot, seq, score, label) of every stored reading, read from the store."""
        path = self.var_dir / "readings.sqlite3"
        if not path.exists():
            return []
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(
                "SELECT id, node_id, boot, seq, score, label FROM readings"
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            db.close()

    def stats(self) -> dict[str, Any]:
        return json.loads(self._cli("stats"))


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[Ingest]:
    service = Ingest(tmp_path / "cloud")
    service.start()
    yield service
    service.stop()


class FakeNodePort:
    """A pty whose slave end is symlinked at `path`, written to like a node's UART."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        if path.is_symlink():
            path.unlink()
        path.symlink_to(os.ttyname(self.slave))

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def frame(self, kind: str, node: str, boot: int, seq: int, **kw: Any) -> bytes:
        return frames.encode(frames.Frame(kind, node, "1.0.0", boot, seq, **kw))

    def unplug(self) -> None:
        """Close both ends: the reader gets EIO, and the by-id path dangles."""
        os.close(self.master)
        os.close(self.slave)
        self.path.unlink()

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def node_port(tmp_path: Path) -> Iterator[FakeNodePort]:
    port = FakeNodePort(tmp_path / "node0")
    yield port
    port.close()


class AgentProc:
    def __init__(self, state_dir: Path, args: list[str], log: Path) -> None:
        self.state_dir, self.args, self.log = state_dir, args, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "edge_agent",
            "run",
            "--state-dir",
            str(self.state_dir),
            *self.args,
        ]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def status(self) -> dict[str, Any]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "edge_agent",
                "status",
                "--state-dir",
                str(self.state_dir),
                "--json",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            return {}
        return json.loads(done.stdout)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture
def agent_factory(tmp_path: Path) -> Iterator[Callable[..., AgentProc]]:
    made: list[AgentProc] = []

    def make(args: list[str], state_dir: Path | None = None) -> AgentProc:
        agent = AgentProc(state_dir or tmp_path / "gateway", args, tmp_path / "agent.log")
        made.append(agent)
        return agent

    yield make
    for agent in made:
        if agent.proc is not None and agent.proc.poll() is None:
            agent.proc.kill()
            agent.proc.wait()


def post_sensors(url: str, payload: Any, timeout: float = 5) -> requests.Response:
    return requests.post(f"{url}/sensors", json=payload, timeout=timeout)
