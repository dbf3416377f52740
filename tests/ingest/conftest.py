"""Fixtures of the ingest tests: an app on a temp var dir with a gateway and an app token."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest import codecs, wire
from ingest.app import close_app, create_app
from ingest.settings import Settings

GATEWAY = "gw-test-01"


def make_readings(
    n: int,
    gateway: str = GATEWAY,
    node: str = "orchid-01",
    boot: int = 1,
    start_seq: int = 0,
    start: float = 1746857410.0,
    every: float = 5.0,
    profile: str | None = "orchid",
    **values: float,
) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        seq = start_seq + i
        reading: dict[str, Any] = {
            "id": wire.reading_id(gateway, node, boot, seq),
            "ts": wire.format_ts(start + i * every),
            "gateway_id": gateway,
            "node_id": node,
            "boot": boot,
            "seq": seq,
            "values": {
                "temperature": 27.0 + (i % 5) * 0.5,
                "humidity": 65.0,
                "light": 15000.0,
                **values,
            },
            "score": 72.5,
            "label": "optimal",
            "flags": [],
        }
        if profile:
            reading["profile"] = profile
        out.append(reading)
    return out


@dataclass
class Env:
    app: Flask
    client: FlaskClient
    settings: Settings
    gateway_token: str
    app_token: str

    def post(
        self,
        body: bytes | list[dict[str, Any]],
        encoding: str = "gzip",
        key: str | None = None,
        token: str | None = None,
        content_type: str = "application/x-ndjson",
        **headers: str,
    ) -> Any:
        raw = wire.encode_ndjson(body) if isinstance(body, list) else body
        data = codecs.compress(raw, encoding) if isinstance(body, list) else raw
        sent = {
            "Authorization": f"Bearer {token or self.gateway_token}",
            "Content-Type": content_type,
            "Content-Encoding": encoding,
            "Idempotency-Key": key or str(uuid.uuid4()),
            **headers,
        }
        return self.client.post("/v1/batches", data=data, headers=sent)

    def get(self, path: str, token: str | None = None) -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {token or self.app_token}"})


OPEN_APPS: list[Any] = []  # closed after each test by tests/conftest.py (fds, sweeper threads)


def track(app: Any) -> Any:
    OPEN_APPS.append(app)
    return app


def close_open_apps() -> None:
    while OPEN_APPS:
        close_app(OPEN_APPS.pop())


def build_env(var_dir: Path, gateway: str = GATEWAY, **settings: Any) -> Env:
    config = Settings(var_dir=var_dir, **settings)
    app = track(create_app(config))
    svc = app.extensions["ingest"]
    return Env(
        app=app,
        client=app.test_client(),
        settings=svc.settings,
        gateway_token=svc.tokens.create("gateway", gateway),
        app_token=svc.tokens.create("app", "mobile"),
    )


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield build_env(tmp_path / "var")
