"""Wires the rules to the feed(s): `Notifier.on_readings(new)` after each stored batch."""

from __future__ import annotations

from typing import Any

from ingest.feeds import open_feed
from ingest.feeds.base import Feed
from ingest.metrics import Metrics
from ingest.settings import Settings


class Notifier:
    def __init__(self, feed: Feed, metrics: Metrics) -> None:
        self.feed = feed
        self.metrics = metrics

    def on_readings(self, readings: list[dict[str, Any]]) -> None:
        return None


def build_notifier(settings: Settings, store: Any, metrics: Metrics) -> Notifier:
    return Notifier(open_feed(settings.feed_url), metrics)
