"""Line protocol per docs/influx-schema.md, and the influxdb store against a real
VictoriaMetrics (v2 write API), read back through its export API."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import codecs, wire
from ingest.feeds.base import Notification
from ingest.stores.influx_lines import (
    batch_stats_to_line,
    notification_to_line,
    reading_to_line,
    reading_to_point,
    ts_to_ms,
)
from tests.ingest.conftest import build_env, make_readings

READING = {
    "id": "6f1c0000-0000-4000-8000-000000000001",
    "ts": "2025-05-10T06:10:10.250Z",
    "gateway_id": "gw-subak-01",
    "node_id": "rice-07",
    "profile": "rice",
    "boot": 3,
    "seq": 18211,
    "values": {"temperature": 29.5, "humidity": 95, "lat": -8.588182},
    "score": 71.3,
    "label": "sedang",
    "flags": ["out_of_range:soil_ph"],
}


def test_reading_line_follows_the_schema_exactly() -> None:
    assert reading_to_line(READING, "gw-subak-01") == (
        "rice,gateway=gw-subak-01,node=rice-07 boot=3i,"
        'flags="out_of_range:soil_ph",humidity=95,id="6f1c0000-0000-4000-8000-000000000001",'
        'label="sedang",lat=-8.588182,score=71.3,seq=18211i,temperature=29.5 1746857410250'
    )


def test_reading_without_profile_or_flags_goes_to_reading_measurement() -> None:
    reading = {**READING, "profile": None, "flags": [], "score": None, "label": None}
    line = reading_to_line(reading, "gw")
    assert line.startswith("reading,gateway=gw,node=rice-07 ")
    assert "flags=" not in line and "score=" not in line and "label=" not in line


names = st.from_regex(r"[A-Za-z0-9_.:-]{1,20}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    gateway=names,
    node=names,
    profile=st.none() | names,
    values=st.dictionaries(names, st.floats(allow_nan=False, allow_infinity=False), max_size=8),
    score=st.none() | st.floats(0, 100),
    label=st.none() | st.text(max_size=12),
    flags=st.lists(st.text(max_size=10), max_size=3),
    epoch=st.floats(0, 4e9),
)
def test_fast_encoder_equals_influxdb_client_point(
    gateway, node, profile, values, score, label, flags, epoch
) -> None:
    reading = {
        "id": wire.reading_id(gateway, node, 1, 2),
        "ts": wire.format_ts(epoch),
        "node_id": node,
        "profile": profile,
        "boot": 1,
        "seq": 2,
        "values": values,
        "score": score,
        "label": label,
        "flags": flags,
    }
    assert (
        reading_to_line(reading, gateway) == reading_to_point(reading, gateway).to_line_protocol()
    )


def test_batch_and_notification_lines() -> None:
    line = batch_stats_to_line(
        "gw-1", encoding="gzip", content_type="ndjson", status=200, accepted=5, duplicates=1,
        rejected=0, bytes_compressed=100, bytes_raw=500, decompress_ms=0.5, parse_ms=1.0,
        write_ms=2.25, replayed=False, time_ms=1000,
    )  # fmt: skip
    assert line == (
        "ingest_batches,content_type=ndjson,encoding=gzip,gateway=gw-1,status=200 accepted=5i,"
        "bytes_compressed=100i,bytes_raw=500i,decompress_ms=0.5,duplicates=1i,parse_ms=1,"
        "rejected=0i,replayed=false,write_ms=2.25 1000"
    )
    note = Notification("2025-05-10T06:10:10.250Z", "gw-1", "n 1", "out_of_band", "warning",
                        'temperature "31" above 30', 31.0)  # fmt: skip
    assert notification_to_line(note) == (
        'notifications,gateway=gw-1,kind=out_of_band,node=n\\ 1 message="temperature \\"31\\" '
        'above 30",severity="warning",value=31 1746857410250'
    )


def export(vm_url: str, match: str, names: set[str]) -> dict[str, dict]:
    """Series matching `match` by name, once all of `names` are visible (new series take a
    moment to be searchable in VictoriaMetrics)."""
    query = urllib.parse.urlencode({"match[]": match})
    deadline = time.monotonic() + 15
    while True:
        urllib.request.urlopen(f"{vm_url}/internal/force_flush", timeout=10).read()
        with urllib.request.urlopen(f"{vm_url}/api/v1/export?{query}", timeout=10) as response:
            series = [json.loads(line) for line in response.read().splitlines() if line.strip()]
        by_name = {s["metric"]["__name__"]: s for s in series}
        if names <= set(by_name) or time.monotonic() > deadline:
            return by_name
        time.sleep(0.2)


@pytest.mark.integration
def test_influx_store_writes_once_to_victoria_metrics(victoria_metrics, tmp_path: Path) -> None:
    gateway = f"gw-{uuid.uuid4().hex[:8]}"
    host_port = victoria_metrics.url.removeprefix("http://")
    env = build_env(
        tmp_path / "var", gateway=gateway, store_url=f"influxdb://{host_port}/telemetry?org=o"
    )
    start = time.time() - 600  # VictoriaMetrics drops samples outside its retention window
    readings = make_readings(120, gateway=gateway, start=start, every=1.0, soil_ph=6.5)
    key = str(uuid.uuid4())
    first = env.post(readings, key=key)
    assert first.status_code == 200, first.json
    assert first.json["accepted"] == 120
    assert env.post(readings, key=key).json["replayed"] is True
    again = env.post(readings)  # same readings, new batch key
    assert again.json == {**again.json, "accepted": 0, "duplicates": 120}
    wanted = {"orchid_temperature", "orchid_humidity", "orchid_soil_ph", "orchid_score",
              "orchid_seq", "orchid_boot", "ingest_batches_accepted"}  # fmt: skip
    by_name = export(victoria_metrics.url, f'{{gateway="{gateway}"}}', wanted)
    assert set(by_name) >= wanted
    temps = by_name["orchid_temperature"]
    assert temps["metric"] == {"__name__": "orchid_temperature", "gateway": gateway,
                               "node": "orchid-01"}  # fmt: skip
    assert len(temps["timestamps"]) == 120  # once each, though sent three times
    assert sorted(temps["timestamps"]) == [ts_to_ms(r["ts"]) for r in readings]
    assert sorted(by_name["orchid_seq"]["values"]) == list(range(120))
    nodes = env.get("/v1/nodes").json["nodes"]
    assert nodes[0]["node_id"] == "orchid-01" and nodes[0]["readings"] == 120
    assert env.get("/v1/readings").status_code == 501
    accepted = by_name["ingest_batches_accepted"]
    assert sorted(accepted["values"]) == [0, 0, 120]  # first post, replay, resend


@pytest.mark.integration
def test_influx_store_down_is_503_and_nothing_recorded(tmp_path: Path) -> None:
    from tests.helpers import free_port

    env = build_env(tmp_path / "var", store_url=f"influxdb://127.0.0.1:{free_port()}/b")
    body = codecs.compress(wire.encode_ndjson(make_readings(10)), "gzip")
    key = str(uuid.uuid4())
    response = env.post(body, key=key)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "influxdb" in response.json["error"]
    store = env.app.extensions["ingest"].store
    assert store.find_batch(key) is None
    assert store.stats()["readings"] == 0
    assert env.client.get("/healthz").status_code == 503


@settings(max_examples=200, deadline=None)
@given(
    node=names,
    profile=st.none() | names,
    values=st.dictionaries(
        names | st.sampled_from(["score", "id"]),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        max_size=8,
    ),
    score=st.none() | st.floats(0, 100),
    label=st.none() | st.text(max_size=12),
    flags=st.lists(st.text(max_size=10), max_size=3),
)
def test_store_hot_path_line_equals_reading_to_line(node, profile, values, score, label, flags):
    from ingest import fastwire
    from ingest.stores.influx_lines import fast_reading_line

    reading = {
        "id": wire.reading_id("gw", node, 1, 2), "ts": "2025-05-10T06:10:10.250Z",
        "gateway_id": "gw", "node_id": node, "profile": profile, "boot": 1, "seq": 2,
        "values": values, "score": score, "label": label, "flags": flags,
    }  # fmt: skip
    struct = fastwire.from_dict(reading)
    assert fast_reading_line(struct) == reading_to_line(reading, "gw")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=4_102_444_800_000))  # 1970 .. 2100, in ms
def test_ts_to_ms_inverts_format_ts_through_its_minute_cache(ms: int) -> None:
    ts = wire.format_ts(ms / 1000)
    assert ts_to_ms(ts) == round(wire.parse_ts(ts) * 1000)
    assert ts_to_ms(ts) == ts_to_ms(ts)  # second call: from the cache
    assert ts_to_ms(ts[:17] + "59.999Z") == ts_to_ms(ts[:17] + "00.000Z") + 59_999
