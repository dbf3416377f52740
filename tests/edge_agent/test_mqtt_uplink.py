"""The MQTT uplink on a real Mosquitto: what the agent publishes (MQTT v5 properties of
docs/ingest.md) and that, without the ingest's application ack, it keeps the batch and
publishes it again under the same idempotency key (the broker's PUBACK is not enough)."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import requests
from paho.mqtt.enums import CallbackAPIVersion

from ingest import codecs
from tests.edge_agent.conftest import GATEWAY, ROOT, wait_for
from tests.helpers import free_port

pytestmark = pytest.mark.integration


def test_batches_carry_the_v5_properties_and_are_resent_until_acked(
    tmp_path: Path, mosquitto, agent_factory
) -> None:
    prefix = f"uplink-{uuid.uuid4().hex[:6]}"
    seen: list[dict[str, Any]] = []
    ready = threading.Event()
    observer = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        props = dict(msg.properties.UserProperty)
        seen.append(
            {
                "topic": msg.topic,
                "payload": msg.payload,
                "props": props,
                "content_type": msg.properties.ContentType,
            }
        )

    observer.on_message = on_message
    observer.on_connect = lambda c, *_: (c.subscribe(f"{prefix}/#", qos=1), ready.set())
    observer.connect("127.0.0.1", mosquitto.port)
    observer.loop_start()
    assert ready.wait(10)
    port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text(
        f"[uplink]\ntransport = 'mqtt'\nmqtt_host = '127.0.0.1'\nmqtt_port = {mosquitto.port}\n"
        f"mqtt_topic_prefix = '{prefix}'\ntoken = 'gw_tok'\ntimeout_seconds = 1.0\n"
        "backoff_max_seconds = 1.0\n"
    )
    agent = agent_factory(
        [
            "--config",
            str(config),
            "--gateway-id",
            GATEWAY,
            "--batch-interval",
            "1",
            "--http-listen",
            f"127.0.0.1:{port}",
        ]
    )
    agent.start()
    reading = {"node_id": "rice-02", "boot": 1, "seq": 1, "values": {"soil_ph": 6.5}}
    wait_for(lambda: _post(port, reading), 20, "agent up and reading accepted")
    wait_for(lambda: len(seen) >= 2, 20, "the batch published twice (no ingest ack)")
    first, again = seen[0], seen[1]
    assert first["topic"] == f"{prefix}/{GATEWAY}/batches"
    assert first["content_type"] == "application/x-ndjson"
    assert first["props"]["authorization"] == "Bearer gw_tok"
    assert first["props"]["content-encoding"] == "gzip"
    uuid.UUID(first["props"]["idempotency-key"])
    assert again["props"]["idempotency-key"] == first["props"]["idempotency-key"]
    body = codecs.decompress(first["payload"], "gzip")
    assert b'"node_id":"rice-02"' in body and body.endswith(b"\n")
    assert agent.stop() == 0
    status = agent.status()
    assert status["readings_pending"] == 1  # no application ack: nothing purged
    assert status["uplink"]["errors"].get("no_answer", 0) >= 2
    observer.disconnect()
    observer.loop_stop()


def _post(port: int, reading: dict[str, Any]) -> bool:
    try:
        return requests.post(f"http://127.0.0.1:{port}/sensors", json=reading, timeout=2).ok
    except requests.RequestException:
        return False


def test_readings_reach_the_real_ingest_consumer_over_mqtt(
    tmp_path: Path, mosquitto, ingest, agent_factory
) -> None:
    consumer_log = (tmp_path / "consumer.log").open("ab")
    consumer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ingest.cli",
            "--var-dir",
            str(ingest.var_dir),
            "consume",
            "--mqtt",
            f"mqtt://127.0.0.1:{mosquitto.port}",
        ],
        cwd=ROOT,
        stdout=consumer_log,
        stderr=subprocess.STDOUT,
    )
    try:
        port = free_port()
        config = tmp_path / "agent.toml"
        config.write_text(
            f"[uplink]\ntransport = 'mqtt'\nmqtt_port = {mosquitto.port}\n"
            "timeout_seconds = 5.0\nbackoff_max_seconds = 1.0\n"
        )
        agent = agent_factory(
            [
                "--config",
                str(config),
                "--gateway-id",
                GATEWAY,
                "--token",
                ingest.token,
                "--batch-interval",
                "1",
                "--codec",
                "zstd",
                "--http-listen",
                f"127.0.0.1:{port}",
            ]
        )
        agent.start()
        batch = [
            {"node_id": "rice-03", "boot": 2, "seq": s, "values": {"soil_ph": 6.1}}
            for s in range(1, 21)
        ]
        wait_for(lambda: _post_list(port, batch), 20, "agent up and readings accepted")
        rows = wait_for(
            lambda: len(ingest.rows()) == 20 and ingest.rows(),
            30,
            "20 readings stored through MQTT",
        )
        assert {r[3] for r in rows} == set(range(1, 21))
        assert agent.stop() == 0
        status = agent.status()
        assert status["readings_pending"] == 0 and status["batches_sent"] >= 1
    finally:
        consumer.terminate()
        consumer.wait(15)
        consumer_log.close()


def _post_list(port: int, readings: list[dict[str, Any]]) -> bool:
    try:
        return requests.post(f"http://127.0.0.1:{port}/sensors", json=readings, timeout=2).ok
    except requests.RequestException:
        return False
