"""The deploy samples: gunicorn.conf.py holds only real gunicorn settings, and the nginx site
passes `nginx -t` and proxies a batch over TLS to a real `ingest serve`."""

from __future__ import annotations

import http.client
import json
import os
import runpy
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gunicorn.config import Config

from ingest import codecs, wire
from tests.helpers import free_port, http_ok, wait_until
from tests.ingest.conftest import make_readings

DEPLOY = Path(__file__).resolve().parents[2] / "ingest" / "deploy"


def test_gunicorn_conf_uses_only_gunicorn_settings() -> None:
    conf = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    names = {k for k in conf if not k.startswith("_") and k != "os"}
    assert names <= set(Config().settings), names - set(Config().settings)
    assert conf["preload_app"] is False and conf["timeout"] >= 60


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed: apt-get install nginx-light")
        pytest.skip("nginx is not installed: apt-get install nginx-light")
    return found


@dataclass
class Proxied:
    """`ingest serve` (default settings) behind the sample nginx site, over TLS."""

    https_port: int
    upstream: int
    context: ssl.SSLContext
    token: str

    def connect(self, timeout: float = 30) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            "127.0.0.1", self.https_port, context=self.context, timeout=timeout
        )


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Proxied]:
    nginx = nginx_binary()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    upstream, https_port, http_port = free_port(), free_port(), free_port()
    site = (DEPLOY / "nginx-ingest.conf").read_text()
    site = (
        site.replace("127.0.0.1:8080", f"127.0.0.1:{upstream}")
                .replace("listen 443", f"listen 127.0.0.1:{https_port}")
                .replace("listen 80", f"listen 127.0.0.1:{http_port}")
                .replace("listen [::]:443 ssl http2;", "").replace("listen [::]:80;", "")
                .replace("/etc/letsencrypt/live/ingest.example.org/fullchain.pem", str(cert))
                .replace("/etc/letsencrypt/live/ingest.example.org/privkey.pem", str(key))
            )  # fmt: skip
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"user root;\ndaemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\nhttp {\n  access_log off;\n"
        f"  client_body_temp_path {tmp_path}/body;\n  proxy_temp_path {tmp_path}/proxy;\n"
        f"  include {tmp_path}/site.conf;\n}}\n"
    )
    check = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr
    var = tmp_path / "var"
    cli = [sys.executable, "-m", "ingest.cli", "--var-dir", str(var)]
    created = subprocess.run([*cli, "tokens", "create", "--gateway", "gw-test-01"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    token = created.stdout.split()[-1]
    server = subprocess.Popen([*cli, "serve", "--port", str(upstream)], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    proxy = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                             start_new_session=True)  # fmt: skip
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{upstream}/healthz"), 60, "ingest", None)
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        wait_until(lambda: _https_ok(https_port, context), 30, "nginx", tmp_path / "error.log")
        yield Proxied(https_port, upstream, context, token)
    finally:
        os.killpg(proxy.pid, signal.SIGTERM)
        os.killpg(server.pid, signal.SIGTERM)
        proxy.wait(10)
        server.wait(20)


def _headers(proxied: Proxied) -> dict[str, str]:
    return {"Authorization": f"Bearer {proxied.token}", "Content-Type": "application/x-ndjson",
            "Content-Encoding": "gzip", "Idempotency-Key": str(uuid.uuid4())}  # fmt: skip


@pytest.mark.integration
def test_nginx_site_proxies_batches_over_tls(proxied: Proxied) -> None:
    conn = proxied.connect()
    body = codecs.compress(wire.encode_ndjson(make_readings(20)), "gzip")
    conn.request("POST", "/v1/batches", body, _headers(proxied))
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["accepted"] == 20
    big = os.urandom(16 * 2**20 + 1000)  # over the service's limit, under nginx's
    conn.request("POST", "/v1/batches", big, _headers(proxied))
    response = conn.getresponse()
    assert response.status == 413
    assert "exceeds" in json.loads(response.read())["error"]  # the service's JSON, not nginx's


@pytest.mark.integration
def test_nginx_keeps_stalled_bodies_away_from_the_service(proxied: Proxied) -> None:
    """nginx holds each body until it is whole, so 12 uploads that stop halfway (more than
    gunicorn's 8 threads) never reach the service: an honest batch is stored at once, and
    the service has answered no 408 (it would have, had the bodies taken its threads)."""
    stalled = []
    try:
        for _ in range(12):
            conn = proxied.connect()
            conn.putrequest("POST", "/v1/batches")
            for name, value in {**_headers(proxied), "Content-Length": "100000"}.items():
                conn.putheader(name, value)
            conn.endheaders(b"\x1f\x8b")  # the first bytes of a gzip body, then nothing
            stalled.append(conn)
        time.sleep(1.0)
        conn = proxied.connect(timeout=10)
        started = time.monotonic()
        body = codecs.compress(wire.encode_ndjson(make_readings(3, start_seq=100)), "gzip")
        conn.request("POST", "/v1/batches", body, _headers(proxied))
        response = conn.getresponse()
        assert response.status == 200, response.read()[:300]
        elapsed = time.monotonic() - started
        with urllib.request.urlopen(f"http://127.0.0.1:{proxied.upstream}/metrics") as metrics:
            text = metrics.read().decode()
        assert 'status="408"' not in text, "stalled bodies reached gunicorn"
        print(f"honest batch behind 12 stalled uploads, through nginx: 200 in {elapsed:.2f} s")
    finally:
        for conn in stalled:
            conn.close()


def _https_ok(port: int, context: ssl.SSLContext) -> bool:
    try:
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
