"""`supabase://HOST[:PORT]?key=SERVICE_KEY` (`supabases://` for https) — the notification
feed through supabase-py (PostgREST), for a Supabase project reached over its REST API rather
than its database port. The table is the one sql/001_notifications.sql creates; the key must
be the service-role key (it inserts past row-level security)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from postgrest.types import CountMethod, ReturnMethod
from supabase import Client, create_client

from ingest import cursors
from ingest.feeds.base import Notification

TABLE = "notifications"


class SupabaseFeed:
    def __init__(self, url: str, key: str, table: str = TABLE) -> None:
        self.url, self.table = url, table
        self.client: Client = create_client(url, key)

    @classmethod
    def from_url(cls, url: str) -> SupabaseFeed:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if not parts.hostname or not query.get("key"):
            raise ValueError(f"supabase feed URL needs a host and ?key=: {url!r}")
        scheme = "https" if parts.scheme == "supabases" else "http"
        port = f":{parts.port}" if parts.port else ""
        return cls(f"{scheme}://{parts.hostname}{port}", query["key"], query.get("table", TABLE))

    def append(self, items: list[Notification]) -> None:
        if items:
            rows = [n.as_dict() for n in items]
            self.client.table(self.table).insert(rows, returning=ReturnMethod.minimal).execute()

    def page(self, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        start = cursors.decode_as(after, int)[0] if after else 0
        response = (
            self.client.table(self.table)
            .select("seq,ts,gateway_id,node_id,kind,severity,message,value,reading_id")
            .gt("seq", start)
            .order("seq")
            .limit(limit)
            .execute()
        )
        items = list(response.data)
        return items, cursors.encode(items[-1]["seq"] if items else start)

    def count(self) -> int:
        response = (
            self.client.table(self.table).select("seq", count=CountMethod.exact).limit(1).execute()
        )
        return int(response.count or 0)

    def close(self) -> None:
        return None
