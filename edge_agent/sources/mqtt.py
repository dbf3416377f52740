"""MQTT source: readings that nodes publish, as JSON like `POST /sensors` (one or a list).

Subscribes with QoS 1 in a persistent session (clean_session=False, fixed client id), so
readings published while the agent is down wait at the broker. The PUBACK is sent manually
(paho `manual_ack`) only once the readings are durable in the buffer, so a reading the
broker considers delivered is never only in memory. An undecodable or invalid message is
acknowledged at once (the broker would otherwise redeliver it forever) and counted
`discarded{reason=invalid|not_json}`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.committer import Ack, Committer
from edge_agent.config import MqttSourceSection
from edge_agent.metrics import Counters
from edge_agent.pipeline.validate import InvalidReading, from_json

log = logging.getLogger(__name__)


class MqttSource:
    def __init__(
        self, section: MqttSourceSection, committer: Committer, counters: Counters
    ) -> None:
        self.section = section
        self.committer, self.counters = committer, counters
        client_id = section.client_id or f"edge-agent-{committer.gateway_id}-source"
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)
        self._connected = False
        self._started = False

    def start(self) -> None:
        self.client.connect_async(self.section.host, self.section.port, keepalive=30)
        self.client.loop_start()
        self._started = True

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self._started = False

    def is_alive(self) -> bool:
        return self._started  # paho reconnects by itself; being away is not death

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT source %s:%d refused: %s", self.section.host, self.section.port,
                        reason)  # fmt: skip
            return
        self._connected = True
        log.info("MQTT source subscribed to %s (session present: %s)", self.section.topic,
                 flags.session_present)  # fmt: skip
        client.subscribe(self.section.topic, qos=1)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._connected:
            log.warning("MQTT source disconnected (%s); reconnecting", reason)
        self._connected = False

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.counters.inc("mqtt", "received")
        try:
            payload = json.loads(msg.payload)
        except (ValueError, UnicodeDecodeError):
            self._reject(client, msg, "not_json", "payload is not JSON")
            return
        try:
            candidates = from_json(payload, time.time(), f"mqtt:{msg.topic}")
        except InvalidReading as exc:
            self._reject(client, msg, "invalid", str(exc))
            return
        mid, qos = msg.mid, msg.qos

        def done(result: Ack) -> None:
            if result.error:
                # no PUBACK: the broker redelivers after a reconnect; say so once per error
                self.counters.inc("mqtt", "errors", "buffer")
                log.error("MQTT reading not stored (%s); left unacknowledged", result.error)
                return
            self.counters.inc("mqtt", "sent")
            if qos > 0:
                client.ack(mid, qos)

        self.committer.submit(candidates, Ack(done))

    def _reject(self, client: mqtt.Client, msg: mqtt.MQTTMessage, reason: str, error: str) -> None:
        self.counters.inc("mqtt", "discarded", reason)
        log.warning("MQTT message on %s dropped: %s", msg.topic, error)
        if msg.qos > 0:
            client.ack(msg.mid, msg.qos)
