"""MQTT uplink (docs/ingest.md, "MQTT uplink"): MQTT v5, QoS 1, persistent session.

A batch is published on `P/<gateway>/batches` with the HTTP headers as v5 properties
(content type, user properties content-encoding, idempotency-key, authorization, and the
batch id as correlation data). The ingest answers on `P/<gateway>/ack` with the HTTP body
plus `status`; `send()` waits for that application ack (the broker's PUBACK only says the
broker has it) and returns it like an HTTP answer, so the shipper treats both transports
the same. No ack within the timeout = no answer: the batch is sent again later under the
same idempotency key, which the ingest replays.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent.config import UplinkSection
from edge_agent.sinks.result import SendResult

log = logging.getLogger(__name__)
SESSION_EXPIRY = 7 * 86400  # the broker keeps our subscription (and acks) for a week


class MqttUplink:
    def __init__(self, gateway_id: str, section: UplinkSection) -> None:
        self.section = section
        self.token = section.token
        base = f"{section.mqtt_topic_prefix}/{gateway_id}"
        self.batch_topic, self.ack_topic = f"{base}/batches", f"{base}/ack"
        self.timeout = section.timeout_seconds
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"edge-agent-{gateway_id}-uplink",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._subscribed = threading.Event()
        connect_props = Properties(PacketTypes.CONNECT)
        connect_props.SessionExpiryInterval = SESSION_EXPIRY
        self.client.connect_async(
            section.mqtt_host, section.mqtt_port, keepalive=30, clean_start=False,
            properties=connect_props,
        )  # fmt: skip
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT uplink refused by %s: %s", self.section.mqtt_host, reason)
            return
        log.info("MQTT uplink connected (session present: %s)", flags.session_present)
        client.subscribe(self.ack_topic, qos=1)
        self._subscribed.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._subscribed.is_set():
            log.warning("MQTT uplink disconnected (%s); reconnecting", reason)
        self._subscribed.clear()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            ack = json.loads(msg.payload)
        except ValueError:
            log.warning("unreadable ack on %s ignored", msg.topic)
            return
        batch_id = ack.get("batch_id") if isinstance(ack, dict) else None
        with self._lock:
            waiter = self._waiting.get(batch_id or "")
        if waiter is None:
            log.debug("ack for batch %s nobody waits for (an earlier attempt)", batch_id)
            return
        waiter[1].append(ack)
        waiter[0].set()

    def send(self, batch_id: str, body: bytes, encoding: str) -> SendResult:
        if not self._subscribed.wait(min(self.timeout, 5.0)):
            return SendResult(0, error="MQTT broker not connected")
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/x-ndjson"
        props.CorrelationData = batch_id.encode()
        props.UserProperty = [
            ("content-encoding", encoding),
            ("idempotency-key", batch_id),
            ("authorization", f"Bearer {self.token}"),
        ]
        event: threading.Event = threading.Event()
        box: list[dict[str, Any]] = []
        with self._lock:
            self._waiting[batch_id] = (event, box)
        try:
            info = self.client.publish(self.batch_topic, body, qos=1, properties=props)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return SendResult(0, error=f"publish failed: {mqtt.error_string(info.rc)}")
            if not event.wait(self.timeout):
                return SendResult(0, error=f"no ack from the ingest within {self.timeout:g}s")
        finally:
            with self._lock:
                self._waiting.pop(batch_id, None)
        ack = box[0]
        status = int(ack.get("status", 0) or 0)
        retry = ack.get("retry_after")
        error = "" if status == 200 else str(ack.get("error", ""))
        return SendResult(status, ack, float(retry) if retry is not None else None, {}, error)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
