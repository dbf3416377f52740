"""The buffer and the shipper on a real full disk: a 2 MiB tmpfs (needs root, like the
chaos suite's disk_full scenario). Nothing acknowledged may be lost, nothing stored twice,
no thread may die, and the agent must accept readings again once there is room."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.buffer import Buffer, Stored
from edge_agent.metrics import Counters
from edge_agent.shipper import Shipper
from edge_agent.sinks.http import HttpUplink
from tests.edge_agent.conftest import Ingest, wait_for
from tests.edge_agent.test_shipper import fill

LINE = (
    b'{"id":"%s","gateway_id":"gw-test","node_id":"n1","boot":1,"seq":%d,'
    b'"ts":"2026-12-02T15:50:06.059Z","values":{"temperature":21.0,"humidity":70.0},'
    b'"flags":[],"score":71.2,"label":"baik"}\n'
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        message = "needs root to mount a 2 MiB tmpfs (CI runs as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    mount = tmp_path / "fs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def group(start: int, n: int = 150) -> list[Stored]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    return [Stored(i, LINE % (i.encode(), start + k)) for k, i in enumerate(ids)]


def test_full_disk_refuses_new_readings_purges_all_then_accepts_again(small_disk: Path) -> None:
    buf = Buffer(small_disk / "state", 2**30, "drop_oldest")
    assert buf.reserve.held() and not buf.disk_full
    stored: set[str] = set()
    refused = errors = counted = 0
    for start in range(0, 100_000, 150):
        readings = group(start)
        try:
            result = buf.write_group(readings, {("t", "received", ""): len(readings)})
        except sqlite3.OperationalError as exc:
            # the COMMIT's own error, not "cannot rollback - no transaction is active"
            assert "full" in str(exc), exc
            errors += 1
            continue
        counted += len(readings)  # a refusal still commits the counters and node state
        if result.refused_for_disk:
            assert result.inserted == 0 and result.refused_for_disk == len(readings)
            refused += 1
            break
        stored |= {r.id for r in readings}
    assert refused == 1 and errors <= 1, (refused, errors)
    assert buf.disk_full and not buf.reserve.held()
    assert buf.depth()[0] == len(stored) > 1000

    shipped: list[bytes] = []  # the ingest is back: every batch claimed and acknowledged
    while (batch := buf.claim_batch(5000)) is not None:
        assert batch.rows < 5000  # small batches while the disk is full
        shipped += bytes(batch.body).splitlines(keepends=True)
        assert buf.ack_batch(batch.batch_id, {("t", "batches", ""): 1}) == batch.rows
    ids = [line[7:43].decode() for line in shipped]
    assert sorted(ids) == sorted(stored)  # every stored reading, once
    assert buf.depth() == (0, 0)

    time.sleep(1.1)  # the reserve is tried again at most once a second
    result = buf.write_group(group(10**6, 10), {})
    assert (result.inserted, result.refused_for_disk) == (10, 0)
    assert buf.reserve.held() and not buf.disk_full
    counters = dict(buf.load_counters())
    assert counters[("t", "received", "")] == counted == len(stored) + 150
    buf.close()


def _fill_the_disk(buf: Buffer, mount: Path) -> Path:
    """Truncate the WAL (so any write must grow it) and take every free byte left."""
    buf._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = mount / "filler"
    with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)
    return filler


@pytest.mark.integration
def test_shipper_survives_a_purge_failing_on_a_full_disk(small_disk: Path, ingest: Ingest) -> None:
    buf = Buffer(small_disk / "state", 2**30, "drop_oldest")
    ids = fill(buf, "orchid-01", 100)
    assert buf.claim_batch(40) is not None  # pending: its send writes nothing
    filler = _fill_the_disk(buf, small_disk)
    counters = Counters()
    uplink = HttpUplink(ingest.url, ingest.token, 10)
    shipper = Shipper(
        buf, uplink, counters, codec="gzip", interval=0.1, max_rows=40, backoff_initial=0.1
    )
    shipper.start()
    try:
        wait_for(lambda: buf.depth() == (0, 0), 30, "the buffer to drain")
        assert shipper.is_alive()
    finally:
        shipper.stop(5)
        filler.unlink()
    # the first purge failed (SQLITE_FULL), released the reserve and was retried, not resent
    assert counters.get("uplink", "errors", "buffer_write") >= 1
    assert buf.disk_full
    assert counters.get("uplink", "sent") == 100
    assert counters.get("uplink", "replayed_batches") == 0
    assert sorted(r[0] for r in ingest.rows()) == sorted(ids)
    buf.close()
