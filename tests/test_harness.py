"""Each real-server fixture does the job the project relies on it for."""

from __future__ import annotations

import json
import queue
import time
import urllib.parse
import urllib.request
from collections.abc import Callable

import paho.mqtt.client as mqtt
import psycopg
import pytest
from influxdb_client import InfluxDBClient, Point
from influxdb_client.client.write_api import SYNCHRONOUS
from paho.mqtt.enums import CallbackAPIVersion

from tests import servers

pytestmark = pytest.mark.integration


def _client(
    broker: servers.Server,
    client_id: str,
    clean: bool,
    on_message: queue.Queue[tuple[str, bytes, int]] | None = None,
) -> mqtt.Client:
    """A client whose CONNACK has arrived (loop running), or a failure naming why; messages
    go to `on_message` from the first one (a persistent session's queue arrives at once)."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean,
    )
    if on_message is not None:
        client.on_message = lambda _c, _u, msg: on_message.put((msg.topic, msg.payload, msg.qos))
    connacks: queue.Queue[object] = queue.Queue()
    client.on_connect = lambda _c, _u, _f, reason, _p: connacks.put(reason)
    client.loop_start()
    client.connect(broker.host, broker.port)
    try:
        reason = connacks.get(timeout=15)
    except queue.Empty:
        reason = "no CONNACK within 15 s"
    if getattr(reason, "is_failure", True):
        client.loop_stop()
        pytest.fail(
            f"{client_id}: connect to {broker.name}:{broker.port}: {reason}\n{_log(broker)}"
        )
    return client


def _log(broker: servers.Server) -> str:
    alive = broker.proc is not None and broker.proc.poll() is None
    tail = broker.log_path.read_text(errors="replace")[-2000:] if broker.log_path.exists() else ""
    return f"broker alive: {alive}; its log ends:\n{tail}"


def _subscribe(client: mqtt.Client, topic: str) -> None:
    """Subscribe at QoS 1 and wait for the SUBACK."""
    subacks: queue.Queue[object] = queue.Queue()
    client.on_subscribe = lambda _c, _u, _mid, codes, _p: subacks.put(codes)
    client.subscribe(topic, qos=1)
    codes = subacks.get(timeout=15)
    assert all(not c.is_failure for c in codes), codes


def test_mosquitto_delivers_qos1(mosquitto: servers.Server) -> None:
    received: queue.Queue[tuple[str, bytes, int]] = queue.Queue()
    sub = _client(mosquitto, "sub-qos1", clean=True, on_message=received)
    _subscribe(sub, "t/qos1")
    pub = _client(mosquitto, "pub-qos1", clean=True)
    info = pub.publish("t/qos1", b"reading-1", qos=1)
    info.wait_for_publish(15)
    assert info.is_published(), _log(mosquitto)
    topic, payload, qos = received.get(timeout=15)
    assert (topic, payload, qos) == ("t/qos1", b"reading-1", 1)
    for c in (sub, pub):
        c.loop_stop()
        c.disconnect()


def test_mosquitto_keeps_a_persistent_session_across_a_restart(
    mosquitto_factory: Callable[[], servers.Mosquitto],
) -> None:
    broker = mosquitto_factory()
    sub = _client(broker, "gateway-7", clean=False)
    _subscribe(sub, "acks/gateway-7")
    sub.disconnect()
    sub.loop_stop()

    pub = _client(broker, "ingest", clean=True)
    info = pub.publish("acks/gateway-7", b"batch-42", qos=1)
    info.wait_for_publish(15)
    assert info.is_published(), _log(broker)
    pub.disconnect()
    pub.loop_stop()

    broker.stop()  # queued QoS 1 message must survive on disk
    broker.start()
    received: queue.Queue[tuple[str, bytes, int]] = queue.Queue()
    sub = _client(broker, "gateway-7", clean=False, on_message=received)
    assert received.get(timeout=15)[1] == b"batch-42", _log(broker)
    sub.loop_stop()
    sub.disconnect()


def test_victoria_metrics_takes_the_v2_write_api_and_exports_it(
    victoria_metrics: servers.Server,
) -> None:
    with InfluxDBClient(url=victoria_metrics.url, token="unused", org="unused") as client:
        point = Point("orchid").tag("node", "n1").field("temperature", 27.5).time(time.time_ns())
        client.write_api(write_options=SYNCHRONOUS).write(bucket="db", record=point)
    query = urllib.parse.urlencode({"match[]": 'orchid_temperature{node="n1"}'})
    url = f"{victoria_metrics.url}/api/v1/export?{query}"
    deadline = time.monotonic() + 10
    series: list[dict] = []
    while not series and time.monotonic() < deadline:
        urllib.request.urlopen(f"{victoria_metrics.url}/internal/force_flush").close()
        with urllib.request.urlopen(url) as response:
            series = [json.loads(line) for line in response.read().splitlines()]
        time.sleep(0.2)
    assert series and series[0]["values"] == [27.5]


def test_influxdb1_answers_influxql(influxdb1: servers.Server) -> None:
    def post(path: str, params: dict[str, str], body: bytes | None = None) -> bytes:
        url = f"{influxdb1.url}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST")) as r:
            return r.read()

    post("/query", {"q": "CREATE DATABASE telemetry"})
    post("/write", {"db": "telemetry", "precision": "s"}, b"rice,node=r1 soil_ph=6.5 1746857410\n")
    answer = json.loads(
        post("/query", {"db": "telemetry", "q": 'SELECT mean("soil_ph") FROM "rice"'})
    )
    assert answer["results"][0]["series"][0]["values"][0][1] == 6.5


def test_postgres_round_trips_sql(postgres: servers.PostgreSQL) -> None:
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body jsonb NOT NULL)")
        conn.execute("INSERT INTO notes (body) VALUES (%s)", ['{"label": "buruk"}'])
        row = conn.execute("SELECT body->>'label', count(*) OVER () FROM notes").fetchone()
        conn.execute("DROP TABLE notes")
    assert row == ("buruk", 1)


def test_a_server_that_cannot_start_says_why(tmp_path) -> None:
    taken = servers.VictoriaMetrics(data_dir=tmp_path / "a").start()
    try:
        clash = servers.VictoriaMetrics(data_dir=tmp_path / "b", port=taken.port)
        with pytest.raises(servers.ServerError, match=f"port {taken.port} is already in use"):
            clash.start(timeout=10)
    finally:
        taken.stop()
    broken = servers.VictoriaMetrics(data_dir=tmp_path / "c")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "data").write_text("a file where the storage directory should be")
    with pytest.raises(servers.ServerError, match="exited with"):
        broken.start(timeout=10)
