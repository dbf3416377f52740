"""Publishes each notification as JSON to `notifications/<gateway_id>` (QoS 1) on an MQTT
broker, e.g. for a gateway's local display or a push relay. One paho client per process,
connected lazily (after gunicorn forks) with its network loop in a thread."""

from __future__ import annotations

import json
import logging
import os
import threading
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.feeds.base import Notification

log = logging.getLogger("ingest.mqtt")
TOPIC = "notifications/{gateway_id}"


def parse_mqtt_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"MQTT URL must look like mqtt://HOST:PORT, got {url!r}")
    return parts.hostname, parts.port or 1883


class MqttNotificationSink:
    def __init__(self, url: str) -> None:
        self.host, self.port = parse_mqtt_url(url)
        self._client: mqtt.Client | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _connected(self) -> mqtt.Client:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                client = mqtt.Client(
                    callback_api_version=CallbackAPIVersion.VERSION2,
                    client_id=f"ingest-notify-{os.getpid()}",
                    protocol=mqtt.MQTTv5,
                )
                client.connect(self.host, self.port, keepalive=30)
                client.loop_start()
                self._client, self._pid = client, os.getpid()
            return self._client

    def deliver(self, notes: list[Notification]) -> None:
        client = self._connected()
        infos = [
            client.publish(
                TOPIC.format(gateway_id=note.gateway_id), json.dumps(note.as_dict()), qos=1
            )
            for note in notes
        ]
        for info in infos:
            info.wait_for_publish(timeout=5)

    def close(self) -> None:
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None
