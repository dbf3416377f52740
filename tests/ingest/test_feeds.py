"""Notification feeds: sqlite, PostgreSQL (real server, with its row-level security),
supabase-py against a stub of PostgREST, and the MQTT sink against a real Mosquitto."""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest.feeds import open_feed
from ingest.feeds.base import Notification
from ingest.feeds.mqtt import MqttNotificationSink
from tests.ingest.conftest import build_env, make_readings
from tests.ingest.postgrest_stub import PostgrestStub


def note(i: int, gateway: str = "gw-a") -> Notification:
    return Notification(
        ts=f"2025-05-10T06:10:{i:02d}.250Z", gateway_id=gateway, node_id="orchid-01",
        kind="out_of_band", severity="warning", message=f"temperature {30 + i} above 30",
        value=30.0 + i, reading_id=f"r{i}",
    )  # fmt: skip


def check_paging(feed) -> None:
    feed.append([note(i) for i in range(1, 6)])
    first, cursor = feed.page(after=None, limit=3)
    assert [n["value"] for n in first] == [31.0, 32.0, 33.0]
    assert first[0]["ts"] == "2025-05-10T06:10:01.250Z"
    rest, cursor = feed.page(after=cursor, limit=3)
    assert [n["message"] for n in rest] == ["temperature 34 above 30", "temperature 35 above 30"]
    empty, same = feed.page(after=cursor, limit=3)
    assert empty == [] and same == cursor  # poll again later with the same cursor
    feed.append([note(6)])
    assert [n["value"] for n in feed.page(after=cursor, limit=3)[0]] == [36.0]
    assert feed.count() == 6


def test_sqlite_feed_pages_newest_last(tmp_path: Path) -> None:
    check_paging(open_feed(f"sqlite:///{tmp_path / 'feed.sqlite3'}"))


@pytest.fixture
def pg_dsn(postgres) -> Iterator[str]:
    name = f"feed_{uuid.uuid4().hex[:10]}"
    deadline = time.monotonic() + 30
    while True:  # the harness sees the port open while PostgreSQL may still be starting up
        try:
            conn = psycopg.connect(postgres.dsn, autocommit=True)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres.dsn.rsplit("/", 1)[0] + f"/{name}"


@pytest.mark.integration
def test_postgres_feed_pages_and_migration_is_idempotent(pg_dsn: str) -> None:
    check_paging(open_feed(pg_dsn))
    again = open_feed(pg_dsn)  # applies the migration a second time
    assert again.count() == 6


@pytest.mark.integration
def test_postgres_row_level_security_shows_members_their_gateways_only(pg_dsn: str) -> None:
    feed = open_feed(pg_dsn)
    feed.append([note(1, "gw-a"), note(2, "gw-b"), note(3, "gw-a")])
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO gateway_members VALUES ('user-1', 'gw-a')")
        with conn.transaction():
            conn.execute("SET LOCAL ROLE authenticated")
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                         (json.dumps({"sub": "user-1"}),))  # fmt: skip
            seen = conn.execute("SELECT gateway_id, value FROM notifications ORDER BY seq")
            assert seen.fetchall() == [("gw-a", 31.0), ("gw-a", 33.0)]
        with conn.transaction():
            conn.execute("SET LOCAL ROLE authenticated")
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                         (json.dumps({"sub": "stranger"}),))  # fmt: skip
            assert conn.execute("SELECT count(*) FROM notifications").fetchone() == (0,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO notifications (ts, gateway_id, node_id, kind, severity, message)"
                    " VALUES (now(), 'gw-a', 'n', 'silent', 'critical', 'x')"
                )


@pytest.mark.integration
def test_app_delivers_notifications_to_postgres_feed(pg_dsn: str, tmp_path: Path) -> None:
    env = build_env(tmp_path / "var", feed_url=pg_dsn, silent_sweep_s=0)
    assert env.post(make_readings(3, humidity=50.0)).status_code == 200
    page = env.get("/v1/notifications").json["notifications"]
    assert [n["message"] for n in page] == ["orchid-01: humidity 50 %RH below 60 %RH"]
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT kind FROM notifications").fetchall() == [("out_of_band",)]


def test_supabase_feed_through_postgrest_stub(tmp_path: Path) -> None:
    stub = PostgrestStub().start()
    try:
        url = stub.url.replace("http://", "supabase://") + "?key=service-role-key"
        feed = open_feed(url)
        check_paging(feed)
        inserts = [r for r in stub.requests if r.method == "POST"]
        assert inserts[0].path == "/rest/v1/notifications"
        assert inserts[0].headers["apikey"] == "service-role-key"
        assert "return=minimal" in inserts[0].headers["prefer"]
        assert inserts[0].body[0]["kind"] == "out_of_band"
        env = build_env(tmp_path / "var", feed_url=url, silent_sweep_s=0)
        env.post(make_readings(2, temperature=35.0))
        assert stub.rows[-1]["message"] == "orchid-01: temperature 35 °C above 30 °C"
    finally:
        stub.stop()


def test_supabase_outage_does_not_fail_the_batch(tmp_path: Path) -> None:
    stub = PostgrestStub(fail_with=503).start()
    try:
        url = stub.url.replace("http://", "supabase://") + "?key=k"
        env = build_env(tmp_path / "var", feed_url=url, silent_sweep_s=0)
        response = env.post(make_readings(2, temperature=35.0))
        assert response.status_code == 200 and response.json["accepted"] == 2
        metrics = env.client.get("/metrics").get_data(as_text=True)
        assert "ingest_notify_errors_total 1" in metrics
        stub.fail_with = None  # back: the alarm was not marked raised, so it comes now
        env.post(make_readings(1, start_seq=10, start=1746857410.0 + 60, temperature=36.0))
        assert [r["value"] for r in stub.rows] == [36.0]
    finally:
        stub.stop()


@pytest.mark.integration
def test_mqtt_sink_publishes_per_gateway(mosquitto) -> None:
    received: queue.Queue = queue.Queue()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, msg: received.put((msg.topic, json.loads(msg.payload)))
    client.connect(mosquitto.host, mosquitto.port)
    client.subscribe("notifications/#", qos=1)
    client.loop_start()
    try:
        time.sleep(0.3)
        sink = MqttNotificationSink(f"mqtt://{mosquitto.host}:{mosquitto.port}")
        sink.deliver([note(1, "gw-mq")])
        topic, payload = received.get(timeout=5)
        assert topic == "notifications/gw-mq"
        assert payload["message"] == "temperature 31 above 30"
        sink.close()
    finally:
        client.loop_stop()
        client.disconnect()
