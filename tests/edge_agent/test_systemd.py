"""The unit file passes `systemd-analyze verify`; the daemon speaks sd_notify (READY,
WATCHDOG pings, STOPPING) on a real AF_UNIX datagram socket, as systemd would see it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.edge_agent.conftest import GATEWAY, ROOT

UNIT = ROOT / "edge_agent" / "systemd" / "edge-agent.service"


def test_unit_file_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is required (apt install systemd)"
    text = UNIT.read_text()
    for needed in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "StateDirectory=",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
    ):
        assert needed in text
    # verify checks that ExecStart exists: point it at this checkout's installed entry point
    installed = Path(sys.executable).with_name("edge-agent")
    assert installed.exists()
    unit = tmp_path / "edge-agent.service"
    unit.write_text(text.replace("/usr/local/bin/edge-agent", str(installed)))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


@pytest.mark.integration
def test_daemon_notifies_ready_watchdog_and_stopping(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge_agent",
            "run",
            "--gateway-id",
            GATEWAY,
            "--state-dir",
            str(tmp_path / "state"),
            "--ingest-url",
            "http://127.0.0.1:9",
            "--token",
            "t",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        messages = []
        while sum("WATCHDOG=1" in m for m in messages) < 2:
            messages.append(sock.recv(4096).decode())
        assert messages[0].startswith("READY=1")
        started = time.monotonic()
        proc.terminate()
        while "STOPPING=1" not in messages[-1]:
            messages.append(sock.recv(4096).decode())
        assert proc.wait(30) == 0
        assert time.monotonic() - started < 15
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
