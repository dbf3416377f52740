"""`postgresql://USER@HOST:PORT/DB` — the notification feed in PostgreSQL, i.e. a Supabase
project's database (psycopg 3). Applies sql/001_notifications.sql (table, index, row-level
security) on start-up; it is idempotent."""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

import psycopg

from ingest import cursors
from ingest.feeds.base import Notification
from ingest.wire import format_ts

_COLUMNS = ("seq", "ts", "gateway_id", "node_id", "kind", "severity", "message", "value",
            "reading_id")  # fmt: skip


def migration_sql() -> str:
    return resources.files("ingest.feeds").joinpath("sql/001_notifications.sql").read_text()


class PostgresFeed:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._local = threading.local()
        with self._conn().transaction():
            self._conn().execute(migration_sql())

    def _conn(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            self._local.conn = conn
        return conn

    def append(self, items: list[Notification]) -> None:
        if not items:
            return
        conn = self._conn()
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO public.notifications (ts, gateway_id, node_id, kind, severity,"
                " message, value, reading_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        n.ts,
                        n.gateway_id,
                        n.node_id,
                        n.kind,
                        n.severity,
                        n.message,
                        n.value,
                        n.reading_id,
                    )
                    for n in items
                ],
            )

    def page(self, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        start = cursors.decode_as(after, int)[0] if after else 0
        rows = (
            self._conn()
            .execute(
                f"SELECT {', '.join(_COLUMNS)} FROM public.notifications"
                " WHERE seq > %s ORDER BY seq LIMIT %s",
                (start, limit),
            )
            .fetchall()
        )
        items = []
        for row in rows:
            item = dict(zip(_COLUMNS, row, strict=True))
            item["ts"] = format_ts(item["ts"].timestamp())
            items.append(item)
        return items, cursors.encode(items[-1]["seq"] if items else start)

    def count(self) -> int:
        row = self._conn().execute("SELECT count(*) FROM public.notifications").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
