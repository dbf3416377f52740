"""Rule state per node in a small SQLite file shared by the worker processes of one host;
each pass holds the write lock, so two workers never evaluate the same node at once."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.notify.rules import NodeState
from ingest.stores import writegate


class StateStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._gate = writegate.gate(self.path)
        self._db().execute(
            "CREATE TABLE IF NOT EXISTS node_state (node_id TEXT PRIMARY KEY, state TEXT NOT NULL)"
        )

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # Derived state: after a power cut the worst case is one alarm raised again, so
            # it does not pay an fsync per batch.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (each thread opens its own)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def locked(self, node_ids: list[str] | None) -> Iterator[dict[str, NodeState]]:
        """States of `node_ids` (all nodes when None), saved back when the block succeeds."""
        db = self._db()
        with self._gate.lock:
            yield from self._locked(db, node_ids)

    def _locked(
        self, db: sqlite3.Connection, node_ids: list[str] | None
    ) -> Iterator[dict[str, NodeState]]:
        db.execute("BEGIN IMMEDIATE")
        try:
            if node_ids is None:
                rows = db.execute("SELECT node_id, state FROM node_state").fetchall()
            else:
                rows = []
                for start in range(0, len(node_ids), 500):
                    chunk = node_ids[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows += db.execute(
                        f"SELECT node_id, state FROM node_state WHERE node_id IN ({marks})", chunk
                    ).fetchall()
            states = {node: NodeState.from_json(json.loads(text)) for node, text in rows}
            if node_ids is not None:
                for node in node_ids:
                    states.setdefault(node, NodeState())
            yield states
            db.executemany(
                "INSERT OR REPLACE INTO node_state VALUES (?, ?)",
                [(node, json.dumps(state.to_json())) for node, state in states.items()],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
