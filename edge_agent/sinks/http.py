"""HTTP uplink: POST /v1/batches per ../shared/spec/uplink-api.md (requests, keep-alive)."""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Callable
from typing import Any

import requests

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
        self.token = token
        self.timeout = timeout
        self.gateway_status = gateway_status  # the ingest's optional X-Gateway-* headers
        self.session = requests.Session()

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
            resp = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            return SendResult(0, error=f"{type(exc).__name__}: {exc}")
        try:
            payload: Any = resp.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        error = "" if resp.status_code == 200 else str(payload.get("error") or resp.reason)
        return SendResult(
            resp.status_code,
            payload,
            parse_retry_after(resp.headers.get("Retry-After")),
            parse_server_timing(resp.headers.get("Server-Timing")),
            error,
        )

    def close(self) -> None:
        self.session.close()
