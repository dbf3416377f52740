"""MQTT on a real Mosquitto: the node source (persistent session, ack after durability) and
the local publications (readings, alerts) for actuators and apps."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.edge_agent.conftest import GATEWAY, Ingest, wait_for

pytestmark = pytest.mark.integration


class Listener:
    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: list[tuple[str, Any]] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: (c.subscribe(topic, qos=1), self.ready.set())
        self.client.on_message = lambda _c, _u, m: self.messages.append(
            (m.topic, m.payload.decode())
        )
        self.client.connect(host, port)
        self.client.loop_start()
        assert self.ready.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish(host: str, port: int, topic: str, payloads: list[Any]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect(host, port)
    client.loop_start()
    for payload in payloads:
        data = payload if isinstance(payload, bytes) else json.dumps(payload)
        client.publish(topic, data, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def orchid(seq: int, temperature: float) -> dict[str, Any]:
    return {
        "node_id": "orchid-21",
        "boot": 1,
        "seq": seq,
        "values": {"temperature": temperature, "humidity": 65.0, "light": 15000.0},
    }


def test_mqtt_source_local_topics_and_alerts(
    tmp_path: Path, mosquitto, ingest: Ingest, agent_factory
) -> None:
    host, port = "127.0.0.1", mosquitto.port
    client_id = f"src-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "agent.toml"
    config.write_text(
        f"[mqtt_source]\nhost = '{host}'\nport = {port}\nclient_id = '{client_id}'\n"
        f"[local_mqtt]\nhost = '{host}'\nport = {port}\ntopic_prefix = 'test/{client_id}'\n"
        "[alerts]\ncooldown_seconds = 0.0\n"
    )
    local = Listener(host, port, f"test/{client_id}/#")
    agent = agent_factory(
        [
            "--config",
            str(config),
            "--gateway-id",
            GATEWAY,
            "--ingest-url",
            ingest.url,
            "--token",
            ingest.token,
            "--batch-interval",
            "1",
        ]
    )
    agent.start()
    base = f"test/{client_id}/{GATEWAY}"
    wait_for(lambda: (f"{base}/status", "online") in local.messages, 20, "status online")
    wait_for(lambda: "MQTT source subscribed" in agent.tail(), 20, "source subscribed")
    topic = "subak/nodes/orchid-21/reading"
    publish(host, port, topic, [orchid(1, 25.0), orchid(2, 38.0), b"{not json", {"seq": 1}])
    wait_for(lambda: len(ingest.rows()) == 2, 20, "2 readings at the ingest")

    def on(topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p in local.messages if t == topic]

    readings = wait_for(lambda: on(f"{base}/readings/orchid-21"), 10, "local readings")
    assert [r["seq"] for r in readings] == [1, 2]
    assert all("score" in r and "label" in r for r in readings)
    alerts = wait_for(lambda: on(f"{base}/alerts/orchid-21"), 10, "an alert")
    band = [a for a in alerts if a["kind"] == "out_of_band"]
    assert band[0]["variable"] == "temperature" and band[0]["state"] == "raised"
    assert band[0]["value"] == 38.0

    # persistent session: readings published while the agent is down arrive after restart
    assert agent.stop() == 0
    publish(host, port, topic, [orchid(3, 25.0), orchid(4, 25.5)])
    agent.start()
    wait_for(lambda: len(ingest.rows()) == 4, 30, "readings queued at the broker delivered")
    assert agent.stop() == 0
    counters = agent.status()["counters"]["mqtt"]
    assert counters["discarded:not_json"] == 1 and counters["discarded:invalid"] == 1
    local.close()
