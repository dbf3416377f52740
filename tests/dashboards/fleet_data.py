"""A small synthetic fleet written to InfluxDB through the project's own line-protocol encoder
(ingest/stores/influx_lines.py), so the dashboards are proven against exactly what the ingest
service stores: readings of every profile, batch figures, gateway status and notifications.
"""

from __future__ import annotations

import math
import urllib.parse
import urllib.request
from typing import Any

from ingest.stores.influx_lines import (
    batch_stats_to_line,
    gateway_status_to_line,
    notification_to_line,
    reading_to_line,
)
from ingest.wire import format_ts, reading_id

DATABASE = "dashboards_fleet"  # own database: the influxdb1 server is shared by the session
# gateway → [(node, profile)]
FLEET = {
    "gw-subak-01": [("rice-01", "rice"), ("rice-02", "rice"), ("pump-01", "watering")],
    "gw-orchid-01": [("orchid-01", "orchid"), ("orchid-02", "orchid"), ("legacy-01", None)],
}
MINUTES = 60


def _label(score: float) -> str:
    if score < 25:
        return "sangat_buruk"
    if score < 50:
        return "buruk"
    if score < 75:
        return "sedang"
    return "optimal"


def _values(profile: str | None, i: int) -> dict[str, float]:
    wave = math.sin(i / 9)
    if profile == "orchid":
        return {
            "temperature": 24 + 4 * wave,
            "humidity": 66 + 5 * wave,
            "light": 15_000 + 4_000 * wave,
        }
    if profile == "rice":
        return {
            "temperature": 29.5 + wave, "humidity": 90 + 3 * wave, "gas": 4 + wave,
            "soil_ph": 6.8 + 0.2 * wave, "soil_moisture": 60 + 5 * wave,
            "lat": -8.588182, "lon": 115.10207,
        }  # fmt: skip
    if profile == "watering":
        return {"soil_raw": 650 + 300 * wave, "water_pump": float(wave > 0.5)}
    return {"temperature": 27 + wave}


def reading_lines(now_ms: int) -> list[str]:
    lines = []
    for gateway, nodes in FLEET.items():
        for node, profile in nodes:
            for i in range(MINUTES):
                ts = format_ts((now_ms - (MINUTES - i) * 60_000) / 1000)
                reading: dict[str, Any] = {
                    "id": reading_id(gateway, node, 1, i),
                    "ts": ts, "gateway_id": gateway, "node_id": node, "boot": 1, "seq": i,
                    "values": _values(profile, i), "flags": [],
                }  # fmt: skip
                if profile:
                    reading["profile"] = profile
                if profile in ("orchid", "rice"):
                    score = 50 + 45 * math.sin(i / 7)
                    reading["score"], reading["label"] = score, _label(score)
                lines.append(reading_to_line(reading, gateway))
    return lines


def batch_lines(now_ms: int) -> list[str]:
    lines = []
    for g, gateway in enumerate(FLEET):
        for i in range(MINUTES // 2):
            encoding = ("gzip", "bzip2", "zstd")[i % 3]
            raw = 120 * 189
            status = 413 if i == 7 and g == 0 else 200
            lines.append(
                batch_stats_to_line(
                    gateway,
                    encoding=encoding,
                    content_type="application/x-ndjson",
                    status=status,
                    accepted=0 if status != 200 else 120,
                    duplicates=3 if i % 10 == 0 else 0,
                    rejected=1 if i % 11 == 0 else 0,
                    bytes_compressed=int(raw / (5.164, 7.42, 6.1)[i % 3]),
                    bytes_raw=raw,
                    decompress_ms=0.4 + 0.1 * (i % 3),
                    parse_ms=2.0 + i % 4,
                    write_ms=3.0 + (i % 5),
                    replayed=i == 12,
                    time_ms=now_ms - (MINUTES - 2 * i) * 60_000,
                )
            )
    return lines


def status_lines(now_ms: int) -> list[str]:
    lines = []
    for g, gateway in enumerate(FLEET):
        for i in range(0, MINUTES, 5):
            status = {"buffer_rows": 100 * g + i, "buffer_bytes": 189 * (100 * g + i), "nodes": 3}
            line = gateway_status_to_line(gateway, status, now_ms - (MINUTES - i) * 60_000)
            assert line is not None
            lines.append(line)
    return lines


def notification_lines(now_ms: int) -> list[str]:
    raised = [
        ("gw-orchid-01", "orchid-01", "out_of_band", "warning", 30.4, "temperature above 30 °C"),
        ("gw-orchid-01", "orchid-02", "label_drop", "critical", 22.0, "label fell to sangat_buruk"),
        ("gw-subak-01", "rice-02", "silent", "warning", None, "no reading for 15 min"),
    ]
    return [
        notification_to_line(
            {
                "gateway_id": gateway,
                "node_id": node,
                "kind": kind,
                "severity": severity,
                "value": value,
                "message": message,
                "ts": format_ts((now_ms - (10 + 5 * k) * 60_000) / 1000),
            }
        )
        for k, (gateway, node, kind, severity, value, message) in enumerate(raised)
    ]


def all_lines(now_ms: int) -> list[str]:
    return (
        reading_lines(now_ms)
        + batch_lines(now_ms)
        + status_lines(now_ms)
        + notification_lines(now_ms)
    )


def load(url: str, now_ms: int) -> int:
    """Create the database and write the fleet; return the number of points written."""
    post(url, "/query", {"q": f'CREATE DATABASE "{DATABASE}"'})
    lines = all_lines(now_ms)
    body = "\n".join(lines).encode()
    query = urllib.parse.urlencode({"db": DATABASE, "precision": "ms"})
    request = urllib.request.Request(f"{url}/write?{query}", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 204, response.read()
    return len(lines)


def post(url: str, path: str, form: dict[str, str], headers: dict[str, str] | None = None) -> bytes:
    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(
        f"{url}{path}", data=data, method="POST", headers=headers or {}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()
