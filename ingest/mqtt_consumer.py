"""MQTT uplink consumer (docs/ingest.md, "MQTT uplink"): a shared subscription
`$share/ingest/uplink/+/batches` so any number of consumers split the gateways' batches; each
batch goes through the same pipeline as POST /v1/batches and gets an application-level ack on
`uplink/<gateway_id>/ack` carrying the HTTP status it would have had.

Consumers are stateless (clean sessions): a broker queues a shared subscription's share for
offline persistent members, so a consumer gone for good would keep swallowing batches. The
durability lives at the gateway instead, which keeps a batch until its ack arrives and
resends it otherwise (with the same idempotency key, so a batch stored just before a crash
is only replayed). Messages are processed inside paho's callback: the QoS 1 PUBACK goes out
after the batch is stored or refused.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest import pipeline
from ingest.auth import TokenStore, bearer
from ingest.feeds.mqtt import parse_mqtt_url
from ingest.metrics import Metrics
from ingest.settings import Settings

log = logging.getLogger("ingest.mqtt_consumer")
SHARED_TOPIC = "$share/ingest/uplink/+/batches"
ACK_TOPIC = "uplink/{gateway_id}/ack"


def user_properties(properties: Properties | None) -> dict[str, str]:
    pairs = getattr(properties, "UserProperty", None) or []
    return {str(k).lower(): str(v) for k, v in pairs}


class UplinkConsumer:
    def __init__(
        self,
        settings: Settings,
        store: Any,
        tokens: TokenStore,
        notifier: Any = None,
        metrics: Metrics | None = None,
        client_id: str | None = None,
    ) -> None:
        self.settings, self.store, self.tokens = settings, store, tokens
        self.notifier, self.metrics = notifier, metrics or Metrics()
        self.host, self.port = parse_mqtt_url(settings.mqtt_url)
        self.client_id = client_id or f"ingest-{socket.gethostname()}-{os.getpid()}"
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.unsubscribed = threading.Event()
        self.client.on_unsubscribe = lambda *args: self.unsubscribed.set()

    def start(self) -> UplinkConsumer:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600  # keep queued batches across a restart
        self.client.connect(self.host, self.port, keepalive=60, clean_start=False, properties=props)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        # Leave the shared group explicitly before disconnecting: Mosquitto 2.0.11 otherwise
        # keeps routing the group's share to the departed client (seen in tests).
        info = self.client.unsubscribe(SHARED_TOPIC)
        if info[0] == mqtt.MQTT_ERR_SUCCESS:
            self.unsubscribed.wait(5)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any):
        if reason.is_failure:
            log.error("MQTT connect to %s:%s refused: %s", self.host, self.port, reason)
            return
        client.subscribe(SHARED_TOPIC, qos=1)
        log.info("consuming %s on %s:%s", SHARED_TOPIC, self.host, self.port)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        if len(parts) != 3 or parts[0] != "uplink" or parts[2] != "batches":
            return
        topic_gateway = parts[1]
        try:
            ack = self.handle(topic_gateway, msg.payload, msg.properties)
        except Exception as exc:  # never let one message kill the consumer
            log.exception("batch on %s crashed", msg.topic)
            ack = {
                "status": 500,
                "batch_id": None,
                "error": f"internal error: {type(exc).__name__}",
            }
        self.metrics.inc("ingest_mqtt_batches_total", status=str(ack["status"]),
                         help="MQTT batches answered, by status")  # fmt: skip
        reply = Properties(PacketTypes.PUBLISH)
        correlation = getattr(msg.properties, "CorrelationData", None)
        if correlation:
            reply.CorrelationData = correlation
        reply.ContentType = "application/json"
        client.publish(
            ACK_TOPIC.format(gateway_id=topic_gateway), json.dumps(ack), qos=1, properties=reply
        )

    def handle(self, topic_gateway: str, payload: bytes, properties: Properties | None) -> dict:
        """The ack for one batch message: the HTTP response body plus its status."""
        props = user_properties(properties)
        key = props.get("idempotency-key")
        try:
            token = bearer(props.get("authorization"))
            if token is None:
                return _ack(401, key, "missing user property authorization: Bearer <token>")
            principal = self.tokens.verify(token)
            if principal is None:
                return _ack(401, key, "unknown or revoked token")
            if principal.kind != "gateway":
                return _ack(403, key, f"a {principal.kind} token cannot post batches")
            if principal.subject != topic_gateway:
                return _ack(403, key, f"token is for gateway {principal.subject!r} but the topic "
                                      f"is uplink/{topic_gateway}/batches")  # fmt: skip
            content_type = getattr(properties, "ContentType", None) or props.get("content-type")
            fmt, encoding = pipeline.negotiate(content_type, props.get("content-encoding"))
            batch_id = pipeline.check_batch_id(key)
            report = pipeline.run_batch(
                self.store,
                topic_gateway,
                batch_id,
                fmt,
                encoding,
                payload,
                pipeline.Limits(self.settings.max_compressed, self.settings.max_decompressed),
            )
        except pipeline.BatchError as exc:
            return _ack(exc.status, key, exc.message, **exc.extra)
        if report.outcome.new and self.notifier is not None:
            try:
                self.notifier.on_readings(report.outcome.new)
            except Exception:
                log.exception("notification delivery failed")
        return {"status": 200, **report.outcome.result}


def _ack(status: int, key: str | None, error: str, **extra: Any) -> dict:
    return {"status": status, "batch_id": key, "error": error, **extra}


def run_consumer(settings: Settings) -> int:
    """`ingest consume`: run until SIGTERM/SIGINT."""
    from ingest.notify.service import build_notifier
    from ingest.stores import open_store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    assert settings.tokens_db is not None
    store = open_store(settings.store_url, var_dir=settings.var_dir)
    metrics = Metrics()
    notifier = build_notifier(settings, store, metrics)
    consumer = UplinkConsumer(settings, store, TokenStore(settings.tokens_db), notifier, metrics)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    consumer.start()
    print(f"ingest consuming {SHARED_TOPIC} on {settings.mqtt_url}", flush=True)
    done.wait()
    consumer.stop()
    return 0
