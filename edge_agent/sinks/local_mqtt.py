"""Local MQTT: every scored reading and every alert, for actuators and apps on the farm.

Topics (`P` = [local_mqtt] topic_prefix, default `subak/local`; `G` = gateway id):
- `P/G/readings/<node_id>` — each reading as its uplink JSON line, QoS 0 (live data).
- `P/G/alerts/<node_id>` — alert events (edge_agent.alerts), QoS 1.
- `P/G/status` — `online` (retained) while the agent runs; the broker publishes `offline`
  (last will) when it dies.
The queue towards the broker is bounded: if the broker is away, live messages beyond it are
dropped and counted (`discarded{reason=local_mqtt_queue_full}`); the uplink is unaffected.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.alerts import AlertRules
from edge_agent.config import Config
from edge_agent.metrics import Counters

log = logging.getLogger(__name__)
MAX_QUEUED = 10_000


class LocalPublisher:
    def __init__(self, config: Config, bands_for: Any, counters: Counters) -> None:
        lm, g = config.local_mqtt, config.agent.gateway_id
        self.host, self.port = lm.host, lm.port
        self.base = f"{lm.topic_prefix}/{g}"
        self.counters = counters
        self.rules = AlertRules(
            bands_for, config.alerts.cooldown_seconds, config.alerts.band_hysteresis
        )
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"edge-agent-{g}-local", clean_session=True
        )
        self.client.max_queued_messages_set(MAX_QUEUED)
        self.client.will_set(f"{self.base}/status", "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.reconnect_delay_set(1, 30)
        self._connected = False

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        if self._connected:
            self.client.publish(f"{self.base}/status", "offline", qos=1, retain=True)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("local MQTT %s:%d refused: %s", self.host, self.port, reason)
            return
        self._connected = True
        log.info("local MQTT connected to %s:%d", self.host, self.port)
        client.publish(f"{self.base}/status", "online", qos=1, retain=True)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._connected:
            log.warning("local MQTT disconnected (%s); reconnecting", reason)
        self._connected = False

    def _publish(self, topic: str, payload: bytes, qos: int) -> None:
        info = self.client.publish(topic, payload, qos=qos)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.counters.inc("local_mqtt", "sent")
        elif info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self.counters.inc("local_mqtt", "discarded", "local_mqtt_queue_full")
        else:
            self.counters.inc("local_mqtt", "errors", f"rc{info.rc}")

    def on_readings(self, readings: list[dict[str, Any]]) -> None:
        now = time.time()
        for reading in readings:
            self.counters.inc("local_mqtt", "received")
            line = json.dumps(reading, separators=(",", ":")).encode()
            self._publish(f"{self.base}/readings/{reading['node_id']}", line, 0)
            for alert in self.rules.evaluate(reading, now):
                self.counters.inc("alerts", "sent", f"{alert['kind']}:{alert['state']}")
                payload = json.dumps(alert, separators=(",", ":")).encode()
                self._publish(f"{self.base}/alerts/{reading['node_id']}", payload, 1)
