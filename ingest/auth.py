"""Bearer tokens: gateway tokens (may POST batches for one gateway id) and app tokens
(read-only API). Only a SHA-256 of each secret is stored; a presented token is found by its
public id and its secret compared in constant time.

Token text: `<kind>_<id>_<secret>` where kind is `gw` or `app`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

KINDS = {"gateway": "gw", "app": "app"}
_PREFIX_KIND = {v: k for k, v in KINDS.items()}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('gateway', 'app')),
    subject TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created REAL NOT NULL,
    revoked REAL
);
"""


@dataclass(frozen=True)
class Principal:
    token_id: str
    kind: str  # "gateway" | "app"
    subject: str  # the gateway id, or the app's name


class TokenStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (each thread opens its own)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def create(self, kind: str, subject: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"token kind must be one of {sorted(KINDS)}, got {kind!r}")
        if not subject:
            raise ValueError("a token needs a subject (gateway id or app name)")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, NULL)",
                (token_id, kind, subject, _digest(secret), time.time()),
            )
        return f"{KINDS[kind]}_{token_id}_{secret}"

    def list(self) -> list[dict]:
        rows = self._db().execute(
            "SELECT token_id, kind, subject, created, revoked FROM tokens ORDER BY created"
        )
        keys = ("token_id", "kind", "subject", "created", "revoked")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def revoke(self, token_id: str) -> bool:
        with self._db() as db:
            cur = db.execute(
                "UPDATE tokens SET revoked = ? WHERE token_id = ? AND revoked IS NULL",
                (time.time(), token_id),
            )
        return cur.rowcount == 1

    def verify(self, token: str) -> Principal | None:
        """The principal a presented token stands for, or None (unknown, revoked, malformed)."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] not in _PREFIX_KIND:
            return None
        prefix, token_id, secret = parts
        row = (
            self._db()
            .execute(
                "SELECT kind, subject, secret_sha256 FROM tokens"
                " WHERE token_id = ? AND revoked IS NULL",
                (token_id,),
            )
            .fetchone()
        )
        # Compare even when the id is unknown so timing does not tell ids apart.
        stored = row[2] if row else "0" * 64
        matches = hmac.compare_digest(_digest(secret), stored)
        if row is None or not matches or KINDS[row[0]] != prefix:
            return None
        return Principal(token_id=token_id, kind=row[0], subject=row[1])


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def bearer(header: str | None) -> str | None:
    if not header or not header.startswith("Bearer "):
        return None
    return header[len("Bearer ") :].strip() or None
