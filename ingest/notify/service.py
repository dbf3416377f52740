"""Wires the rules to the deliveries: `Notifier.on_readings(new)` after each stored batch,
`Notifier.sweep()` on a timer for silent nodes. Each notification goes to the feed (the
mobile app's list), to MQTT `notifications/<gateway_id>` when a broker is configured, and to
the reading store when it keeps them (influxdb `notifications` measurement)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ingest.feeds import open_feed
from ingest.feeds.base import Feed, Notification
from ingest.metrics import Metrics
from ingest.notify import rules
from ingest.notify.bands import optimal_bands
from ingest.notify.state import StateStore
from ingest.settings import Settings

log = logging.getLogger("ingest.notify")


class Notifier:
    def __init__(
        self,
        feed: Feed,
        state: StateStore,
        metrics: Metrics,
        policy: rules.Policy | None = None,
        sinks: list[Any] | None = None,
    ) -> None:
        self.feed = feed
        self.state = state
        self.metrics = metrics
        self.policy = policy or rules.Policy()
        self.sinks = sinks or []  # objects with .deliver(list[Notification])
        self._stop = threading.Event()

    def on_readings(self, readings: list[Any]) -> list[Notification]:
        by_node = rules.by_node(readings)
        out: list[Notification] = []
        with self.state.locked(sorted(by_node)) as states:
            for node, node_readings in by_node.items():
                state = states[node]
                bands = optimal_bands(node_readings[-1].profile)
                out += rules.evaluate_many(state, node_readings, bands, self.policy)
            self._deliver(out)
        return out

    def sweep(self, now: float | None = None) -> list[Notification]:
        now = time.time() if now is None else now
        out: list[Notification] = []
        with self.state.locked(None) as states:
            for node, state in states.items():
                note = rules.check_silent(node, state, now, self.policy)
                if note is not None:
                    out.append(note)
            self._deliver(out)
        return out

    def _deliver(self, notes: list[Notification]) -> None:
        """Feed first, inside the state transaction: a failure leaves the alarm unraised so
        the next pass tries again (at least once, never silently dropped)."""
        if not notes:
            return
        self.feed.append(notes)
        for note in notes:
            self.metrics.inc(
                "ingest_notifications_total", kind=note.kind, help="notifications raised"
            )
        for sink in self.sinks:
            try:
                sink.deliver(notes)
            except Exception:
                log.exception("notification sink %s failed", type(sink).__name__)

    def start_sweeper(self, every_s: float) -> threading.Thread | None:
        if every_s <= 0:
            return None

        def loop() -> None:
            while not self._stop.wait(every_s):
                try:
                    self.sweep()
                except Exception:
                    log.exception("silent-node sweep failed")

        thread = threading.Thread(target=loop, name="ingest-silent-sweep", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        """Stop the sweeper; close the feed, the state and any sink that can be closed."""
        self._stop.set()
        for part in (self.feed, self.state, *self.sinks):
            close = getattr(part, "close", None)
            if close is not None:
                close()


def build_notifier(settings: Settings, store: Any, metrics: Metrics) -> Notifier:
    sinks: list[Any] = []
    if settings.mqtt_url:
        from ingest.feeds.mqtt import MqttNotificationSink

        sinks.append(MqttNotificationSink(settings.mqtt_url))
    if hasattr(store, "record_notifications"):
        sinks.append(_StoreSink(store))
    return Notifier(
        open_feed(settings.feed_url),
        StateStore(settings.var_dir / "notify-state.sqlite3"),
        metrics,
        sinks=sinks,
    )


class _StoreSink:
    def __init__(self, store: Any) -> None:
        self.store = store

    def deliver(self, notes: list[Notification]) -> None:
        self.store.record_notifications(notes)
