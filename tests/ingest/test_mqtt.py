"""The MQTT uplink consumer against a real Mosquitto: shared subscription, same validation
as HTTP, acks on uplink/<gateway>/ack."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest import codecs, wire
from ingest.app import create_app
from ingest.mqtt_consumer import UplinkConsumer
from ingest.settings import Settings
from tests.ingest.conftest import make_readings, track

pytestmark = pytest.mark.integration


class Gateway:
    """A test gateway: publishes batches with MQTT v5 properties and collects its acks."""

    def __init__(self, host: str, port: int, gateway_id: str) -> None:
        self.gateway_id = gateway_id
        self.acks: queue.Queue = queue.Queue()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5
        )
        self.client.on_message = lambda c, u, m: self.acks.put(
            (json.loads(m.payload), getattr(m.properties, "CorrelationData", None))
        )
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect(host, port)
        self.client.subscribe(f"uplink/{gateway_id}/ack", qos=1)
        self.client.loop_start()
        assert subscribed.wait(5), "no SUBACK for the ack topic"

    def publish(self, body: bytes, token: str, key: str | None = None, encoding: str = "gzip",
                content_type: str = "application/x-ndjson", topic_gateway: str | None = None,
                correlation: bytes | None = None) -> None:  # fmt: skip
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = content_type
        props.UserProperty = [
            ("content-encoding", encoding),
            ("idempotency-key", key or str(uuid.uuid4())),
            ("authorization", f"Bearer {token}"),
        ]
        if correlation:
            props.CorrelationData = correlation
        topic = f"uplink/{topic_gateway or self.gateway_id}/batches"
        self.client.publish(topic, body, qos=1, properties=props).wait_for_publish(5)

    def ack(self) -> tuple[dict, bytes | None]:
        return self.acks.get(timeout=10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def setup(mosquitto, tmp_path: Path) -> Iterator[tuple]:
    gateway_id = f"gw-mq-{uuid.uuid4().hex[:6]}"
    settings = Settings(var_dir=tmp_path / "var", mqtt_url=f"mqtt://{mosquitto.host}:{mosquitto.port}",
                        silent_sweep_s=0).resolved()  # fmt: skip
    app = track(create_app(settings))
    svc = app.extensions["ingest"]
    token = svc.tokens.create("gateway", gateway_id)
    consumers = [
        UplinkConsumer(
            settings, svc.store, svc.tokens, svc.notifier, client_id=f"c{i}-{gateway_id}"
        ).start()
        for i in range(2)
    ]
    for consumer in consumers:
        assert consumer.subscribed.wait(5)
    gateway = Gateway(mosquitto.host, mosquitto.port, gateway_id)
    yield gateway, token, svc, consumers
    gateway.close()
    for consumer in consumers:
        consumer.stop()


def gz(readings: list[dict]) -> bytes:
    return codecs.compress(wire.encode_ndjson(readings), "gzip")


def test_batch_is_stored_acked_and_replay_is_harmless(setup) -> None:
    gateway, token, svc, _ = setup
    readings = make_readings(50, gateway=gateway.gateway_id)
    key = str(uuid.uuid4())
    gateway.publish(gz(readings), token, key=key, correlation=b"batch-1")
    ack, correlation = gateway.ack()
    assert ack["status"] == 200 and ack["accepted"] == 50 and ack["batch_id"] == key
    assert correlation == b"batch-1"
    gateway.publish(gz(readings), token, key=key)
    ack, _ = gateway.ack()
    assert ack["status"] == 200 and ack["replayed"] is True
    assert svc.store.stats()["readings"] == 50


def test_refusals_carry_the_http_status(setup) -> None:
    gateway, token, svc, _ = setup
    body = gz(make_readings(3, gateway=gateway.gateway_id))
    gateway.publish(body, "gw_nope_nope")
    assert gateway.ack()[0]["status"] == 401
    gateway.publish(body, token, encoding="brotli")
    ack = gateway.ack()[0]
    assert ack["status"] == 415 and "brotli" in ack["error"]
    gateway.publish(b"not gzip", token)
    assert gateway.ack()[0]["status"] == 400
    gateway.publish(body, token, key="nope")
    assert gateway.ack()[0]["status"] == 400
    other = Gateway(gateway.client._host, gateway.client._port, "gw-other")
    try:
        gateway.publish(body, token, topic_gateway="gw-other")
        ack = other.ack()[0]
        assert ack["status"] == 403 and "gw-other" in ack["error"]
    finally:
        other.close()
    assert svc.store.stats()["readings"] == 0


def test_shared_subscription_spreads_batches_over_consumers(setup) -> None:
    gateway, token, svc, consumers = setup
    for i in range(12):
        readings = make_readings(10, gateway=gateway.gateway_id, start_seq=i * 10)
        gateway.publish(gz(readings), token)
    acks = [gateway.ack()[0] for _ in range(12)]
    assert all(a["status"] == 200 and a["accepted"] == 10 for a in acks)
    assert svc.store.stats()["readings"] == 120
    handled = [c.metrics.value("ingest_mqtt_batches_total", status="200") for c in consumers]
    assert sum(handled) == 12 and all(n > 0 for n in handled), handled
