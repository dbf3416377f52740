"""Notification feeds behind one interface (`base.Feed`): `sqlite:///PATH` (default),
`postgresql://…` (a Supabase project's database), `supabase://…` (supabase-py), plus the
MQTT publisher that mirrors every notification to `notifications/<gateway_id>`."""

from __future__ import annotations

from ingest.feeds.base import Feed


def open_feed(url: str) -> Feed:
    if url.startswith("sqlite:///"):
        from ingest.feeds.sqlite import SqliteFeed

        return SqliteFeed.from_url(url)
    if url.startswith(("postgresql://", "postgres://")):
        from ingest.feeds.postgres import PostgresFeed

        return PostgresFeed(url)
    if url.startswith(("supabase://", "supabases://")):
        from ingest.feeds.supabase import SupabaseFeed

        return SupabaseFeed.from_url(url)
    raise ValueError(
        f"unknown feed URL {url!r}: use sqlite:///PATH, postgresql://… or supabase://HOST[:PORT]?key=…"
    )
