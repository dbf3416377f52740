"""`sqlite:///PATH` — the embedded notification feed (default)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from ingest import cursors
from ingest.feeds.base import Notification
from ingest.settings import sqlite_path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    gateway_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    value REAL,
    reading_id TEXT
);
CREATE INDEX IF NOT EXISTS notifications_node ON notifications (node_id, seq);
"""
_COLUMNS = (
    "seq",
    "ts",
    "gateway_id",
    "node_id",
    "kind",
    "severity",
    "message",
    "value",
    "reading_id",
)


class SqliteFeed:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._db().executescript(_SCHEMA)

    @classmethod
    def from_url(cls, url: str) -> SqliteFeed:
        return cls(sqlite_path(url))

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def append(self, items: list[Notification]) -> None:
        if not items:
            return
        with self._db() as db:
            db.executemany(
                "INSERT INTO notifications (ts, gateway_id, node_id, kind, severity, message,"
                " value, reading_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
            self._db()
            .execute(
                f"SELECT {', '.join(_COLUMNS)} FROM notifications"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (start, limit),
            )
            .fetchall()
        )
        items = [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
        last = items[-1]["seq"] if items else start
        # The cursor always points at the last item seen, so a client polls with it for new ones.
        return items, cursors.encode(last)

    def count(self) -> int:
        return self._db().execute("SELECT count(*) FROM notifications").fetchone()[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
