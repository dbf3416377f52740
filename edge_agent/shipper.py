"""The shipper: turns buffered readings into batches and gets each one acknowledged.

A batch goes out every `batch_interval` seconds (changeable at run time) or as soon as
`batch_max_rows` readings wait. Every answer of the uplink contract is handled:
200 purge · 400 keep, mark rejected, alert, never resend · 401/403 keep, back off, alert ·
413 split in two and resend · 415 re-encode (gzip, then identity) · 429/503 wait Retry-After ·
no answer / other 5xx: exponential backoff with jitter. There is no give-up: a batch stays
in the buffer until the ingest's 200.

A buffer that cannot be written (full disk, I/O error) pauses shipping with the same
backoff; a batch acknowledged but not yet purged is purged before anything else is sent.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from edge_agent import memory
from edge_agent.buffer import Batch, Buffer
from edge_agent.metrics import Counters
from edge_agent.sinks.result import SendResult
from ingest import codecs

log = logging.getLogger(__name__)


class Uplink(Protocol):
    def send(self, batch_id: str, body: bytes, encoding: str) -> SendResult: ...
    def close(self) -> None: ...


def _bench_choice() -> Callable[[int], tuple[str, int | None]] | None:
    try:
        from compression_bench.choice import choose_codec
    except ImportError:
        return None
    return lambda size: choose_codec(size, link="gprs")


def choose_encoding(codec: str, raw_size: int) -> tuple[str, int | None]:
    """`auto` follows compression_bench's findings for a GPRS link; fixed codecs use their
    default level."""
    if codec != "auto":
        return codec, None
    chooser = _bench_choice()
    if chooser is None:
        return "gzip", None  # compression_bench not installed: the one codec all ingests take
    encoding, level = chooser(raw_size)
    return encoding, level


class Shipper:
    def __init__(
        self,
        buffer: Buffer,
        uplink: Uplink,
        counters: Counters,
        *,
        codec: str,
        interval: float,
        max_rows: int,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
    ) -> None:
        self.buffer, self.uplink, self.counters = buffer, uplink, counters
        self.codec = codec
        self.interval = interval
        self.max_rows = max_rows
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.failures = 0  # consecutive failed attempts
        self.rows_shipped = 0  # readings acknowledged by the ingest since start
        self.buffer_failures = 0  # consecutive buffer writes that failed
        self._unpurged: set[str] = set()  # acknowledged by the ingest, purge failed
        self.last_error = ""
        self.next_due = 0.0
        self._forced: dict[str, str] = {}  # batch id -> encoding after a 415
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shipper", daemon=True)

    # ---- control ----------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def set_interval(self, seconds: float) -> None:
        self.interval = seconds
        self.next_due = min(self.next_due, time.monotonic() + seconds)
        self._wake.set()

    def nudge(self) -> None:
        """Called after each commit: ship early once a full batch is waiting."""
        if self.buffer.depth()[0] >= self.max_rows:
            self._wake.set()

    def stop(self, join_seconds: float) -> None:
        """End the loop (a backoff wait is cut short; a send in flight is waited for)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(join_seconds)

    def flush(self, seconds: float) -> bool:
        """Final best-effort shipping at shutdown; True if the buffer was emptied."""
        return self._ship_all(deadline=time.monotonic() + seconds)

    # ---- loop -------------------------------------------------------------------------
    def _run(self) -> None:
        # Batches left unacked by a previous run are overdue: ship them at once.
        self.next_due = time.monotonic() + (0 if self.buffer.depth()[0] else self.interval)
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= self.next_due or self.buffer.depth()[0] >= self.max_rows:
                shipped = self.rows_shipped
                if self._ship_all(deadline=None) and self.rows_shipped - shipped > self.max_rows:
                    self._release_memory()  # a backlog drained: give its memory back
                self.next_due = time.monotonic() + self.interval
                continue
            self._wake.wait(min(self.next_due - now, 5.0))
            self._wake.clear()

    def _ship_all(self, deadline: float | None) -> bool:
        """Ship until the buffer is empty. In the loop (no deadline) a failure waits its
        backoff and retries the same batch; at shutdown (deadline) the first failure ends it,
        because a backoff would outlast the stop timeout anyway.

        In the loop a round also ends once a batch smaller than `max_rows` is acked: the
        buffer held less than a full batch, so what arrived meanwhile waits for the next
        trigger (interval or a full batch). Without that, a steady stream of readings kept
        the round going with a stream of tiny batches (poor compression, one HTTP request
        and two fsync'd transactions each, every ~0.1 s)."""
        while deadline is not None or not self._stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            shipped, batch = self.rows_shipped, None
            try:
                for batch_id in list(self._unpurged):
                    self._purge(batch_id)
                batch = self.buffer.claim_batch(self.max_rows)
                if batch is None:
                    return True
                delay = self._send(batch)
            except (sqlite3.Error, OSError) as exc:
                delay = self._buffer_failure(exc)
            else:
                if self.buffer_failures:
                    log.warning("buffer writable again after %d failures", self.buffer_failures)
                    self.buffer_failures = 0
            rows = batch.rows if batch else 0
            batch = None  # not held through a backoff: the retry claims it again from disk
            if delay is None:
                acked = self.rows_shipped > shipped
                if deadline is None and acked and 0 < rows < self.max_rows:
                    return True
                continue
            if deadline is not None or self._stop.wait(delay):
                return False
        return False

    def _release_memory(self) -> None:
        try:
            self.buffer.release_memory()
        except sqlite3.Error as exc:
            log.warning("could not shrink the buffer's page cache: %s", exc)
        memory.release()

    # ---- one attempt ------------------------------------------------------------------
    def _send(self, batch: Batch) -> float | None:
        """Send one batch; None = carry on at once, else seconds to wait before retrying."""
        t0 = time.perf_counter()
        raw = batch.body
        forced = self._forced.get(batch.batch_id)
        encoding, level = (forced, None) if forced else choose_encoding(self.codec, len(raw))
        body = codecs.compress(raw, encoding, level)
        t1 = time.perf_counter()
        result = self.uplink.send(batch.batch_id, body, encoding)
        t2 = time.perf_counter()
        stages = {"compress_ms": round((t1 - t0) * 1000, 2), "send_ms": round((t2 - t1) * 1000, 2)}
        stages.update({f"ingest_{k}_ms": v for k, v in result.server_timing.items()})
        codec_name = encoding if level is None else f"{encoding}:{level}"
        outcome, delay = self._handle(batch, result, len(raw), len(body), encoding)
        self.buffer.log_transfer(
            {
                "at": time.time(),
                "batch_id": batch.batch_id,
                "rows": batch.rows,
                "raw_bytes": len(raw),
                "compressed_bytes": len(body),
                "codec": codec_name,
                "stages": stages,
                "status": result.status,
                "result": outcome,
            }
        )
        return delay

    def _handle(
        self, batch: Batch, result: SendResult, raw_size: int, size: int, encoding: str
    ) -> tuple[str, float | None]:
        status, c = result.status, self.counters
        if status == 200:
            body = result.body
            rejected = body.get("rejected") or []
            if (miscount := self._miscount(batch, body, rejected)) is not None:
                return miscount
            c.inc("uplink", "received", n=batch.rows)
            if body.get("replayed"):
                # acked before, purge lost in a crash: the ingest stored nothing new now
                c.inc("uplink", "replayed_batches")
            else:
                c.inc("uplink", "sent", n=int(body.get("accepted", 0) or 0))
                c.inc("uplink", "duplicate", n=int(body.get("duplicates", 0) or 0))
            c.inc("uplink", "discarded", "ingest_rejected", len(rejected))
            c.inc("uplink", "batches")
            c.inc("uplink", "bytes_raw", n=raw_size)
            c.inc("uplink", "bytes_compressed", n=size)
            c.inc("uplink", "bytes_compressed", encoding, size)
            self._forced.pop(batch.batch_id, None)
            if rejected:
                log.error(
                    "ingest rejected %d lines of batch %s, first: %s",
                    len(rejected),
                    batch.batch_id,
                    rejected[0],
                )
            if self.failures:
                log.info("uplink back after %d failed attempts", self.failures)
            self.failures, self.last_error = 0, ""
            self.rows_shipped += batch.rows
            self._unpurged.add(batch.batch_id)
            self._purge(batch.batch_id)
            replayed = " (replayed)" if body.get("replayed") else ""
            return (
                f"ok: {body.get('accepted')} accepted, {body.get('duplicates')} dup{replayed}",
                None,
            )
        c.inc("uplink", "errors", str(status) if status else "no_answer")
        error = result.error or f"HTTP {status}"
        refused = status == 400 or (status == 413 and batch.rows < 2)
        self.buffer.note_attempt(batch.batch_id, error, rejected=refused)
        if refused:
            log.error(
                "ingest refused batch %s for good (%s); kept in the buffer, not resent",
                batch.batch_id,
                error,
            )
            c.inc("uplink", "discarded", "refused_kept", batch.rows)
            return f"refused {status}: {error}", None
        if status == 413:
            halves = self.buffer.split_batch(batch.batch_id)
            log.warning(
                "batch %s too large (%d rows): split into %s",
                batch.batch_id,
                batch.rows,
                halves,
            )
            return f"split 413: {error}", None
        if status == 415 and encoding != "identity":
            nxt = "identity" if encoding == "gzip" else "gzip"
            self._forced[batch.batch_id] = nxt
            log.warning("ingest does not take %s (%s): re-encoding as %s", encoding, error, nxt)
            return f"re-encode 415: {error}", None
        return self._failure(f"{status or 'no answer'}: {error}", result.retry_after)

    def _miscount(
        self, batch: Batch, body: dict[str, Any], rejected: list[Any]
    ) -> tuple[str, float] | None:
        """A 200 must account for every line sent (accepted + duplicates + rejected). One
        that does not (e.g. the replayed result of an earlier upload cut short, which an
        ingest once stored as an empty batch) must not purge the rows: they go out again
        under a new batch id, which is safe because the ingest dedupes by reading id."""
        try:
            accounted = int(body.get("accepted") or 0) + int(body.get("duplicates") or 0)
        except (TypeError, ValueError):
            accounted = -1
        accounted += len(rejected)
        if accounted == batch.rows:
            return None
        self.counters.inc("uplink", "errors", "miscount")
        new_id = self.buffer.rekey_batch(batch.batch_id)
        log.error(
            "ingest answered 200 for batch %s but accounted for %d of its %d readings%s: "
            "kept, resending as batch %s",
            batch.batch_id,
            accounted,
            batch.rows,
            " (replayed)" if body.get("replayed") else "",
            new_id,
        )
        return self._failure(f"200 miscount: {accounted} of {batch.rows}", None)

    def _purge(self, batch_id: str) -> None:
        """Delete an acknowledged batch from the buffer (with the counters of its 200). If the
        buffer cannot be written, the batch stays in `_unpurged` and the counters are kept
        for the next try, which comes before anything else is claimed or sent."""
        deltas = self.counters.take_deltas()
        try:
            self.buffer.ack_batch(batch_id, deltas)
        except (sqlite3.Error, OSError):
            self.counters.restore_deltas(deltas)
            raise
        self._unpurged.discard(batch_id)

    def _buffer_failure(self, exc: Exception) -> float:
        """The buffer could not be written: nothing is lost (a failed claim or note leaves the
        batch as it was, a failed purge is retried). Wait as after a failed send."""
        self.buffer_failures += 1
        self.counters.inc("uplink", "errors", "buffer_write")
        delay = self._backoff(self.buffer_failures)
        if self.buffer_failures == 1:
            log.error(
                "buffer write failed (%s); %d acknowledged batch(es) to purge; shipping paused,"
                " retrying with backoff",
                exc,
                len(self._unpurged),
            )
        return delay

    def _backoff(self, failures: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_initial * 2 ** min(failures - 1, 30))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _failure(self, error: str, retry_after: float | None) -> tuple[str, float]:
        if self.failures == 0 or error.split(":")[0] != self.last_error.split(":")[0]:
            log.warning("uplink failing (%s); retrying forever with backoff", error)
        self.failures += 1
        self.last_error = error
        if retry_after is not None:
            delay = retry_after + random.uniform(0, min(1.0, retry_after * 0.1 + 0.1))
        else:
            delay = self._backoff(self.failures)
        return f"retry in {delay:.1f}s: {error}", delay
