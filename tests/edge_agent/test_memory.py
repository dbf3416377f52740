"""edge_agent/memory.py and the shipper's release of a drained backlog's memory."""

from __future__ import annotations

import gc
import platform
import time
from pathlib import Path

import pytest

from edge_agent import memory
from edge_agent.buffer import CACHE_KIB, Batch, Buffer
from edge_agent.metrics import Counters
from edge_agent.shipper import Shipper
from edge_agent.sinks.http import HttpUplink
from tests.edge_agent.conftest import Ingest
from tests.edge_agent.test_shipper import fill

GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt/malloc_trim; a no-op elsewhere")
def test_glibc_takes_the_pinned_threshold_and_the_trim() -> None:
    assert memory.pin_mmap_threshold() is True
    assert memory.release() in (True, False)  # ran: whether pages were free is the heap's say


def _sqlite_memory_used() -> int:
    """Bytes SQLite holds in this process (all connections; the library _sqlite3 links)."""
    import ctypes

    lib = ctypes.CDLL("libsqlite3.so.0")
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lib.sqlite3_memory_used()


def test_release_memory_empties_the_page_cache(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path, 2**30, "drop_oldest")
    fill(buffer, "orchid-01", 3000)
    buffer._db.execute("SELECT sum(length(line)) FROM readings").fetchone()  # fill the cache
    before = _sqlite_memory_used()
    buffer.release_memory()
    assert _sqlite_memory_used() < before - 200_000
    assert buffer.depth()[0] == 3000  # nothing else changed
    buffer.close()


@pytest.mark.integration
def test_a_drained_backlog_gives_its_memory_back(
    tmp_path: Path, ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float] = []
    real = memory.release
    monkeypatch.setattr(memory, "release", lambda: calls.append(time.monotonic()) or real())
    buffer = Buffer(tmp_path, 2**30, "drop_oldest")
    fill(buffer, "orchid-01", 100)  # a backlog: 3 batches of 40
    uplink = HttpUplink(ingest.url, ingest.token, 10)
    ship = Shipper(buffer, uplink, Counters(), codec="gzip", interval=0.2, max_rows=40)
    ship.start()
    try:
        deadline = time.monotonic() + 30
        while (buffer.depth()[0] or not calls) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert buffer.depth()[0] == 0 and len(calls) == 1
        fill(buffer, "orchid-02", 10)  # one small batch: no backlog, nothing to give back
        while buffer.depth()[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert buffer.depth()[0] == 0 and len(calls) == 1
    finally:
        ship.stop(10)
        uplink.close()
        buffer.close()


def test_the_page_cache_stays_small_while_a_backlog_grows(tmp_path: Path) -> None:
    """An outage grows the readings table; SQLite's page cache must not grow with it."""
    buffer = Buffer(tmp_path, 2**30, "drop_oldest")
    assert buffer._db.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
    fill(buffer, "orchid-01", 20_000)  # ~5 MB of rows, no ack
    buffer._db.execute("SELECT sum(length(line)) FROM readings").fetchone()
    assert _sqlite_memory_used() < (CACHE_KIB + 512) * 1024
    buffer.close()


def test_a_failing_uplink_does_not_hold_the_claimed_batch_through_its_backoff(
    tmp_path: Path,
) -> None:
    """During an outage the shipper waits out its backoff; the batch it could not send (a
    few MB at 5,000 rows) is freed for that wait and claimed again from disk after it."""
    from tests.servers import free_port

    buffer = Buffer(tmp_path, 2**30, "drop_oldest")
    fill(buffer, "orchid-01", 100)
    uplink = HttpUplink(f"http://127.0.0.1:{free_port()}", "token", 2)  # nobody listens
    ship = Shipper(
        buffer, uplink, Counters(), codec="gzip", interval=0.1, max_rows=40, backoff_initial=30.0
    )
    ship.start()
    try:
        deadline = time.monotonic() + 20
        while ship.failures == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ship.failures == 1  # the first attempt failed; now in its 30 s backoff
        time.sleep(0.2)
        gc.collect()
        assert not [o for o in gc.get_objects() if isinstance(o, Batch)]
        assert buffer.depth()[0] == 100  # nothing lost meanwhile
    finally:
        ship.stop(10)
        uplink.close()
        buffer.close()
