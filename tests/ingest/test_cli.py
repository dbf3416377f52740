"""The `ingest` command line as the demo drives it: tokens, serve (real gunicorn), stats."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from ingest import codecs, wire
from tests.ingest.conftest import make_readings

INGEST = [sys.executable, "-m", "ingest.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*INGEST, *args], capture_output=True, text=True, check=True, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tokens_create_prints_token_last_and_list_revoke(tmp_path: Path) -> None:
    var = str(tmp_path / "v")
    gw = run("--var-dir", var, "tokens", "create", "--gateway", "gw-demo").stdout.splitlines()[-1]
    app = run("--var-dir", var, "tokens", "create", "--app", "mobile").stdout.splitlines()[-1]
    assert gw.startswith("gw_") and app.startswith("app_")
    listing = run("--var-dir", var, "tokens", "list").stdout
    assert "gw-demo" in listing and "mobile" in listing
    assert gw.split("_", 2)[2] not in listing  # secrets are never listed (they may hold "_")
    assert (tmp_path / "v" / "tokens.sqlite3").exists()
    run("--var-dir", var, "tokens", "revoke", gw.split("_")[1])
    assert "revoked" in run("--var-dir", var, "tokens", "list").stdout
    missing = subprocess.run(
        [*INGEST, "--var-dir", var, "tokens", "revoke", "nope"], capture_output=True, text=True
    )
    assert missing.returncode == 1 and "nope" in missing.stderr


def test_tokens_db_flag_puts_tokens_elsewhere(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere.sqlite3"
    run("tokens", "create", "--gateway", "gw-x", "--db", str(db))
    assert "gw-x" in run("--tokens-db", str(db), "tokens", "list").stdout


@pytest.mark.integration
def test_serve_accepts_a_batch_and_stats_reports_it(tmp_path: Path) -> None:
    var = str(tmp_path / "v")
    token = run("--var-dir", var, "tokens", "create", "--gateway", "gw-test-01").stdout.split()[-1]
    port = free_port()
    server = subprocess.Popen(
        [*INGEST, "--var-dir", var, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # a loaded 2-core box starts gunicorn slowly
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.1)
        body = codecs.compress(wire.encode_ndjson(make_readings(100)), "gzip")
        request = urllib.request.Request(
            f"{base}/v1/batches",
            data=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/x-ndjson",
                "Content-Encoding": "gzip",
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["accepted"] == 100
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{base}/v1/nodes", timeout=5)
        assert info.value.code == 401
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    stats = json.loads(run("--var-dir", var, "stats").stdout)
    assert stats["readings"] == 100
    assert stats["nodes"] == 1
    assert stats["batches"] == 1
    assert stats["labels"] == {"optimal": 100}
    assert stats["notifications"] == 0


def test_body_timeout_flag_reaches_the_gunicorn_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --body-timeout` travels to the workers as INGEST_BODY_TIMEOUT (no preload)."""
    from ingest import cli, server
    from ingest.settings import settings_from_env

    monkeypatch.setattr(os, "environ", dict(os.environ))  # export() writes the environment
    args = cli._parser().parse_args(["--var-dir", str(tmp_path), "serve", "--body-timeout", "2.5"])
    server.export(cli._settings(args))
    assert settings_from_env().body_timeout == 2.5
    args = cli._parser().parse_args(["--var-dir", str(tmp_path), "serve"])
    server.export(cli._settings(args))
    assert settings_from_env().body_timeout == 5.0
