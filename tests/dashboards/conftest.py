"""Dashboard test setup: a JSON Schema generated from npm's @grafana/schema, and a real
InfluxDB 1.6.7 (the shared `influxdb1` fixture) loaded through the ingest's line encoder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.dashboards import fleet_data

GRAFANA_SCHEMA_VERSION = "13.2.3"
GENERATOR_VERSION = "2.9.0"
ROOT = Path(__file__).resolve().parents[2]
NPM_DIR = ROOT / "build" / "grafana-schema"  # build/ is gitignored
TYPES = "node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts"


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path:
        return path
    message = f"{binary} not found: install Node.js 20 and npm (apt-get install nodejs npm)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def grafana_schema() -> dict[str, Any]:
    """Install @grafana/schema + ts-json-schema-generator (npm, into build/) and generate the
    Dashboard JSON Schema from Grafana's own TypeScript types."""
    npm = _need("npm")
    _need("node")
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    packages = [
        f"@grafana/schema@{GRAFANA_SCHEMA_VERSION}",
        f"ts-json-schema-generator@{GENERATOR_VERSION}",
    ]
    subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR),
         *packages],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    out = NPM_DIR / f"dashboard-{GRAFANA_SCHEMA_VERSION}.schema.json"
    subprocess.run(
        [str(NPM_DIR / "node_modules/.bin/ts-json-schema-generator"), "--path",
         str(NPM_DIR / TYPES), "--type", "Dashboard", "--out", str(out)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    return json.loads(out.read_text())


@pytest.fixture(scope="session")
def fleet_influx(influxdb1: Any) -> tuple[str, int]:
    """(url, now_ms) of the real InfluxDB 1.6.7 holding the synthetic fleet's last hour."""
    now_ms = int(time.time() * 1000)
    fleet_data.load(influxdb1.url, now_ms)
    return influxdb1.url, now_ms
