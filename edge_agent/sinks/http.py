"""HTTP uplink: POST /v1/batches per ../shared/spec/uplink-api.md (keep-alive).

On the standard library's http.client, not requests: requests and urllib3 add 6.6 MB to the
agent's resident memory for one POST every few minutes. HTTPS verifies the ingest's
certificate and host name (ssl's default context). A kept-alive connection the server has
closed meanwhile is noticed before it is reused (as urllib3 does), and a request on a
reused connection that fails before any answer is sent once more on a fresh one: the
batch id is the idempotency key, so a resend can never store anything twice.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import json
import select
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from edge_agent.sinks.result import SendResult


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def parse_server_timing(value: str | None) -> dict[str, float]:
    """`decompress;dur=1.2, parse;dur=3` -> {"decompress": 1.2, "parse": 3.0} (ms)."""
    out: dict[str, float] = {}
    for part in (value or "").split(","):
        name, *params = [p.strip() for p in part.split(";")]
        for param in params:
            key, _eq, number = param.partition("=")
            if name and key == "dur":
                with contextlib.suppress(ValueError):
                    out[name] = float(number)
    return out


class HttpUplink:
    def __init__(
        self,
        ingest_url: str,
        token: str,
        timeout: float,
        gateway_status: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.url = ingest_url.rstrip("/") + "/v1/batches"
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"ingest URL must be http(s)://HOST[:PORT][/PATH], got {ingest_url!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.token = token
        self.timeout = timeout
        self.gateway_status = gateway_status  # the ingest's optional X-Gateway-* headers
        self._conn: http.client.HTTPConnection | None = None

    def send(self, batch_id: str, body: bytes, encoding: str) -> SendResult:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/x-ndjson",
            "Content-Encoding": encoding,
            "Idempotency-Key": batch_id,
        }
        if self.gateway_status is not None:
            status = self.gateway_status()
            headers["X-Gateway-Buffer-Rows"] = str(status["buffer_rows"])
            headers["X-Gateway-Buffer-Bytes"] = str(status["buffer_bytes"])
            headers["X-Gateway-Nodes"] = str(status["nodes"])
        try:
            status, reason, answer, data = self._post(body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return SendResult(0, error=f"{type(exc).__name__}: {exc}")
        try:
            payload: Any = json.loads(data)
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        error = "" if status == 200 else str(payload.get("error") or reason)
        return SendResult(
            status,
            payload,
            parse_retry_after(answer.get("Retry-After")),
            parse_server_timing(answer.get("Server-Timing")),
            error,
        )

    def _post(
        self, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, http.client.HTTPMessage, bytes]:
        reused = self._conn is not None and not _dropped(self._conn)
        if not reused:
            self.close()
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        conn = self._conn
        assert conn is not None
        try:
            conn.request("POST", self._path, body, headers)
            resp = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            self.close()  # the server closed the idle connection just now: once more
            return self._post(body, headers)
        data = resp.read()
        if resp.will_close:
            self.close()
        return resp.status, resp.reason, resp.headers, data

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True if a kept-alive connection was closed by the server (its socket is readable:
    EOF, or bytes nobody asked for), so it must not be reused."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
