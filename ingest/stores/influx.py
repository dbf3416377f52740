"""`influxdb://HOST:PORT/BUCKET?org=ORG&token=TOKEN&batch_size=5000&ledger=PATH` (https:
`influxdbs://`) — readings as line protocol through influxdb-client's v2 write API
(docs/influx-schema.md: a measurement per profile, tags gateway/node, fields values + score +
label + boot/seq/id), written in chunks of `batch_size` lines (5,000 by default).

Exactly once: a local SQLite ledger (default VAR_DIR/influx-ledger.sqlite3) holds the batch
keys, the stored reading ids, the per-node summary and counters. A batch's new readings are
written to InfluxDB while the ledger's write lock is held, and the ledger commits only after
InfluxDB acknowledged every chunk; a failed write rolls the ledger back (→ 503, nothing
recorded, the gateway resends). A crash between the two leaves points the resend writes
again at the same series and timestamps: InfluxDB overwrites them with identical fields;
VictoriaMetrics needs `-dedup.minScrapeInterval=1ms` to fold such repeats.

The store answers /v1/nodes and stats from the ledger; raw history is read from InfluxDB or
Grafana (/v1/readings answers 501 with that reason).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from ingest.fastwire import Reading
from ingest.stores import idledger, summary, writegate
from ingest.stores.base import NotSupported, ReadingQuery, StoreUnavailable, WriteOutcome
from ingest.stores.influx_lines import (
    batch_stats_to_line,
    fast_reading_line,
    gateway_status_to_line,
    notification_to_line,
)


class InfluxStore:
    def __init__(
        self,
        url: str,
        bucket: str,
        org: str = "ingest",
        token: str = "",
        ledger: Path | str = "var/influx-ledger.sqlite3",
        batch_size: int = 5000,
        timeout_ms: int = 30_000,
    ) -> None:
        if not 1 <= batch_size <= 100_000:
            raise ValueError(f"batch_size must be 1-100000 lines, got {batch_size}")
        self.url, self.bucket, self.org, self.batch_size = url, bucket, org, batch_size
        self._client = InfluxDBClient(url=url, token=token or "none", org=org, timeout=timeout_ms)
        self._write = self._client.write_api(write_options=SYNCHRONOUS)
        self.ledger_path = Path(ledger)
        self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._gate = writegate.gate(self.ledger_path)
        self._writer: sqlite3.Connection | None = None
        self._db().executescript(summary.SCHEMA)
        self._legacy_ledger = idledger.setup(self._db())

    @classmethod
    def from_url(cls, url: str, var_dir: Path | None = None) -> InfluxStore:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        bucket = parts.path.strip("/")
        if not parts.hostname or not bucket:
            raise ValueError(f"influxdb URL needs a host and a bucket: {url!r}")
        scheme = "https" if parts.scheme == "influxdbs" else "http"
        default_ledger = Path(var_dir or "var") / "influx-ledger.sqlite3"
        return cls(
            url=f"{scheme}://{parts.hostname}:{parts.port or 8086}",
            bucket=bucket,
            org=query.get("org", "ingest"),
            token=query.get("token", ""),
            ledger=query.get("ledger", str(default_ledger)),
            batch_size=int(query.get("batch_size", 5000)),
        )

    def _connect(self, **options: Any) -> sqlite3.Connection:
        conn = sqlite3.connect(self.ledger_path, timeout=60, isolation_level=None, **options)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _db(self) -> sqlite3.Connection:
        """This thread's connection to the ledger, for reads."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _write_db(self) -> sqlite3.Connection:
        """The one ledger connection that writes, under the gate's lock (warm page cache)."""
        if self._writer is None:
            self._writer = self._connect(check_same_thread=False)
            self._writer.execute("PRAGMA cache_size=-65536")
        return self._writer

    def _send(self, lines: list[str]) -> None:
        try:
            for start in range(0, len(lines), self.batch_size):
                self._write.write(  # one string per chunk: the client then sends it as is
                    bucket=self.bucket,
                    org=self.org,
                    record="\n".join(lines[start : start + self.batch_size]),
                    write_precision=WritePrecision.MS,
                )
        except Exception as exc:  # urllib3 / ApiException: the store refused or is away
            raise StoreUnavailable(f"influxdb write to {self.url} failed: {exc}") from exc

    def find_batch(self, batch_id: str) -> dict[str, Any] | None:
        return idledger.find_batch(self._db(), batch_id)

    def write_batch(
        self,
        batch_id: str,
        gateway_id: str,
        items: list[Reading],
        rejected: list[dict[str, Any]],
        rejected_total: int | None = None,
    ) -> WriteOutcome:
        claim = idledger.prepare(items)  # what needs no ledger: before the lock
        unique = claim.unique
        lines = [fast_reading_line(r) for r in unique]
        totals = summary.summarize(unique)
        with self._gate.lock:
            db = self._write_db()
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"influx ledger busy: {exc}") from exc
            try:
                previous = idledger.find_batch(db, batch_id)
                if previous is not None:
                    db.execute("ROLLBACK")
                    return WriteOutcome(result={**previous, "replayed": True})
                positions = idledger.claim(db, claim, self._legacy_ledger)
                new = unique
                if positions is not None:
                    new = [unique[i] for i in positions]
                    lines = [lines[i] for i in positions]
                    totals = summary.summarize(new)
                self._send(lines)
                summary.apply(db, totals)
                result = idledger.new_result(batch_id, items, new, rejected)
                if rejected_total is not None:
                    result["rejected_total"] = rejected_total
                idledger.record_batch(db, batch_id, gateway_id, result)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return WriteOutcome(result=result, new=new)

    def record_batch(self, gateway_id: str, report: Any, gateway_status: dict[str, int]) -> None:
        result = report.outcome.result
        replayed = bool(result.get("replayed"))
        if replayed:  # the first request already counted these; sums must not double them
            result = {**result, "accepted": 0, "duplicates": 0, "rejected": []}
        lines = [
            batch_stats_to_line(
                gateway_id,
                encoding=report.encoding,
                content_type=report.content_type,
                status=200,
                accepted=result["accepted"],
                duplicates=result["duplicates"],
                rejected=len(result["rejected"]),
                bytes_compressed=report.bytes_compressed,
                bytes_raw=report.bytes_raw,
                decompress_ms=report.timings_ms.get("decompress", 0.0),
                parse_ms=report.timings_ms.get("parse", 0.0),
                write_ms=report.timings_ms.get("write", 0.0),
                replayed=replayed,
            )
        ]
        status_line = gateway_status_to_line(gateway_id, gateway_status)
        if status_line:
            lines.append(status_line)
        self._send(lines)

    def record_notifications(self, notes: list[Any]) -> None:
        self._send([notification_to_line(n) for n in notes])

    def nodes(self) -> list[dict[str, Any]]:
        return summary.nodes(self._db())

    def readings(self, query: ReadingQuery) -> tuple[list[dict[str, Any]], str | None]:
        raise NotSupported(
            "the influxdb store does not serve /v1/readings: query InfluxDB (or Grafana) for "
            "history, or run ingest with the sqlite store"
        )

    def stats(self) -> dict[str, Any]:
        return {**summary.stats(self._db()), "first_ts": None}

    def ping(self) -> None:
        try:
            if not self._client.ping():
                raise StoreUnavailable(f"influxdb at {self.url} does not answer /ping")
        except StoreUnavailable:
            raise
        except Exception as exc:
            raise StoreUnavailable(f"influxdb at {self.url} unreachable: {exc}") from exc

    def close(self) -> None:
        self._client.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        with self._gate.lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
