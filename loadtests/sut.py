"""The system under test, started locally on a free loopback port: the ingest service
(`ingest serve`, gunicorn) with one token per simulated gateway, or the edge agent
(`edge-agent run --http-listen`) shipping to its own local ingest. Stopped on exit."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(log_path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_http(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode} before answering {url}; its log "
                f"ends:\n{_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers, even if with 4xx
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no answer from {url} within {timeout:.0f} s; log:\n{_tail(log_path)}")


def _bin(name: str) -> str:
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: pip install -e . (it is this project's CLI)")
    return found


@dataclass
class Server:
    """A started server: its URL, process and log; `pid` is the process to sample for CPU."""

    url: str
    proc: subprocess.Popen
    log_path: Path
    children: list[Server] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM this server first (a gateway flushes to its ingest), then its children."""
        for server in [self, *self.children]:
            if server.proc.poll() is None:
                server.proc.send_signal(signal.SIGTERM)
            try:
                server.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()


def create_tokens(var_dir: Path, gateway_ids: list[str]) -> dict[str, str]:
    """One gateway token each, through the ingest's own TokenStore (what `ingest tokens
    create` does, without a process per gateway)."""
    from ingest.auth import TokenStore

    var_dir.mkdir(parents=True, exist_ok=True)
    store = TokenStore(var_dir / "tokens.sqlite3")
    return {gateway: store.create("gateway", gateway) for gateway in gateway_ids}


def start_ingest(work: Path, gateways: int, workers: int = 2) -> tuple[Server, Path]:
    """Start `ingest serve`; return it and the JSON file of gateway tokens."""
    var_dir = work / "ingest-var"
    tokens = create_tokens(var_dir, [f"lt-gw-{i:04d}" for i in range(gateways)])
    tokens_path = work / "tokens.json"
    tokens_path.write_text(json.dumps(tokens))
    port = free_port()
    log_path = work / "ingest.log"
    # --rate-limit 0: a load test measures capacity, not the per-token limit
    cmd = [_bin("ingest"), "--var-dir", str(var_dir), "serve", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers),
           "--rate-limit", "0"]  # fmt: skip
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        wait_http(f"{server.url}/openapi.json", proc, log_path)
    except RuntimeError:
        server.stop()
        raise
    return server, tokens_path


def start_gateway(
    work: Path,
    gateway_id: str = "lt-gw-0000",
    group_commit_ms: int | None = None,
    commit_gap_ms: int | None = None,
) -> Server:
    """Start the edge agent with its HTTP source, shipping to a local ingest of its own.
    `group_commit_ms` and `commit_gap_ms` override the agent's [buffer] settings (its
    defaults: 100 and 10)."""
    ingest, tokens_path = start_ingest(work, 1, workers=1)
    token = json.loads(tokens_path.read_text())[gateway_id]
    port = free_port()
    log_path = work / "edge-agent.log"
    cmd = [_bin("edge-agent"), "run", "--gateway-id", gateway_id, "--http-listen",
           f"127.0.0.1:{port}", "--state-dir", str(work / "agent-state"),
           "--ingest-url", ingest.url, "--token", token]  # fmt: skip
    buffer = {"group_commit_ms": group_commit_ms, "commit_gap_ms": commit_gap_ms}
    if any(v is not None for v in buffer.values()):
        config = work / "agent.toml"
        lines = [f"{k} = {v}" for k, v in buffer.items() if v is not None]
        config.write_text("[buffer]\n" + "\n".join(lines) + "\n")
        cmd[2:2] = ["--config", str(config)]
    with open(log_path, "ab") as log:
        env = dict(os.environ)
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log_path, children=[ingest])
    try:
        wait_http(f"{server.url}/", proc, log_path)
    except RuntimeError:
        server.stop()
        raise
    return server
