"""`ingest stats`: what the reading store and the feed hold, as one JSON-able dict."""

from __future__ import annotations

from typing import Any

from ingest.feeds import open_feed
from ingest.settings import Settings
from ingest.stores import open_store


def collect(settings: Settings) -> dict[str, Any]:
    store = open_store(settings.store_url, var_dir=settings.var_dir)
    try:
        out = {"store": settings.store_url, **store.stats()}
    finally:
        store.close()
    feed = open_feed(settings.feed_url)
    try:
        out["notifications"] = feed.count()
        out["feed"] = settings.feed_url
    finally:
        feed.close()
    return out
