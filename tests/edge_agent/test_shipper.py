"""The shipper in-process against the real ingest: every codec, replay after a crash."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from edge_agent.buffer import Buffer, Stored
from edge_agent.metrics import Counters
from edge_agent.shipper import Shipper
from edge_agent.sinks.http import HttpUplink, parse_retry_after, parse_server_timing
from ingest import wire
from ingest.stores import idledger
from tests.edge_agent.conftest import GATEWAY, Ingest


def fill(buffer: Buffer, node: str, n: int) -> set[str]:
    readings = []
    for seq in range(1, n + 1):
        r = {
            "id": wire.reading_id(GATEWAY, node, 1, seq),
            "ts": wire.format_ts(1.7e9 + seq),
            "gateway_id": GATEWAY,
            "node_id": node,
            "boot": 1,
            "seq": seq,
            "values": {"temperature": 20.0 + seq % 7},
            "flags": [],
        }
        readings.append(Stored(r["id"], wire.encode_ndjson([r])))
    buffer.write_group(readings, {})
    return {s.id for s in readings}


def shipper(buffer: Buffer, ingest: Ingest, codec: str, counters: Counters) -> Shipper:
    uplink = HttpUplink(ingest.url, ingest.token, 10)
    return Shipper(buffer, uplink, counters, codec=codec, interval=600, max_rows=40)


@pytest.mark.integration
def test_every_codec_and_auto_reach_the_ingest(tmp_path: Path, ingest: Ingest) -> None:
    expected: set[str] = set()
    for codec in ("identity", "gzip", "bzip2", "xz", "zstd", "auto"):
        buffer = Buffer(tmp_path / codec, 2**30, "drop_oldest")
        expected |= fill(buffer, f"node-{codec}", 100)
        counters = Counters()
        assert shipper(buffer, ingest, codec, counters).flush(30)
        assert buffer.depth() == (0, 0)
        assert counters.get("uplink", "batches") == 3  # 100 rows, 40 per batch
        db = buffer._db
        codecs = {r[0].split(":")[0] for r in db.execute("SELECT codec FROM transfers")}
        if codec != "auto":
            assert codecs == {codec}
        stages = json.loads(db.execute("SELECT stages FROM transfers").fetchone()[0])
        assert "ingest_write_ms" in stages and "send_ms" in stages
        buffer.close()
    assert {r[0] for r in ingest.rows()} == expected


@pytest.mark.integration
def test_a_batch_sent_but_not_acked_before_a_crash_is_replayed_not_duplicated(
    tmp_path: Path, ingest: Ingest
) -> None:
    buffer = Buffer(tmp_path, 2**30, "drop_oldest")
    ids = fill(buffer, "orchid-01", 30)
    batch = buffer.claim_batch(100)
    uplink = HttpUplink(ingest.url, ingest.token, 10)
    first = uplink.send(batch.batch_id, batch.body, "identity")
    assert first.status == 200 and first.body["accepted"] == 30
    buffer.close()  # "crash": the 200 arrived, the purge never happened
    buffer = Buffer(tmp_path, 2**30, "drop_oldest")
    counters = Counters()
    assert shipper(buffer, ingest, "gzip", counters).flush(30)
    assert counters.get("uplink", "batches") == 1
    assert counters.get("uplink", "sent") == 0  # the ingest replayed: nothing new stored
    result = buffer._db.execute("SELECT result FROM transfers").fetchone()[0]
    assert "replayed" in result
    stored = [r[0] for r in ingest.rows()]
    assert sorted(stored) == sorted(ids)


def test_retry_after_and_server_timing_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_server_timing("decompress;dur=1.5, parse;dur=2, write;desc=x;dur=3.25") == {
        "decompress": 1.5,
        "parse": 2.0,
        "write": 3.25,
    }


@pytest.mark.integration
def test_a_200_that_does_not_account_for_the_batch_purges_nothing(
    tmp_path: Path, ingest: Ingest
) -> None:
    """The chaos suite's kill -9 found it: an upload cut short was stored by the ingest as an
    empty batch under its Idempotency-Key, so the agent's resend was answered 200 "replayed"
    with 0 accepted and the agent purged 15 readings the cloud never had. The ingest's ledger
    is put in that state directly here (as the older ingest left it); the agent must resend
    the rows under a new batch id instead of purging them."""
    buffer = Buffer(tmp_path / "gw", 2**30, "drop_oldest")
    ids = fill(buffer, "orchid-01", 15)
    batch = buffer.claim_batch(100)
    db = sqlite3.connect(ingest.var_dir / "readings.sqlite3", timeout=30)
    with db:
        idledger.record_batch(
            db, batch.batch_id, GATEWAY,
            {"batch_id": batch.batch_id, "accepted": 0, "duplicates": 0, "rejected": [],
             "replayed": False},
        )  # fmt: skip
    db.close()
    counters = Counters()
    assert shipper(buffer, ingest, "gzip", counters).flush(30) is False  # the miscount waits
    assert buffer.depth()[0] == 15  # nothing purged
    assert counters.get("uplink", "errors", "miscount") == 1
    assert shipper(buffer, ingest, "gzip", counters).flush(30)  # the new batch id goes through
    assert buffer.depth() == (0, 0)
    assert sorted(r[0] for r in ingest.rows()) == sorted(ids)


class ArrivalsDuringSend(HttpUplink):
    """The real uplink; each send also commits `per_send` new readings to the buffer, as
    a steady stream of nodes does while a batch is on its way."""

    def __init__(self, ingest: Ingest, buffer: Buffer, per_send: int) -> None:
        super().__init__(ingest.url, ingest.token, 10)
        self.buffer, self.per_send, self.sends, self.seq = buffer, per_send, 0, 10_000

    def send(self, batch_id: str, body: bytes, encoding: str):  # type: ignore[no-untyped-def]
        self.sends += 1
        stream = []
        for _ in range(self.per_send):
            self.seq += 1
            r = {"id": wire.reading_id(GATEWAY, "stream", 1, self.seq), "seq": self.seq}
            stream.append(Stored(r["id"], json.dumps(r).encode() + b"\n"))
        self.buffer.write_group(stream, {})
        return super().send(batch_id, body, encoding)


@pytest.mark.integration
def test_a_round_under_a_steady_stream_ends_at_its_first_partial_batch(
    tmp_path: Path, ingest: Ingest
) -> None:
    buffer = Buffer(tmp_path, 2**30, "drop_oldest")
    fill(buffer, "orchid-01", 100)
    uplink = ArrivalsDuringSend(ingest, buffer, per_send=5)
    ship = Shipper(buffer, uplink, Counters(), codec="gzip", interval=600, max_rows=40)
    # 100 rows + 5 a send: batches of 40, 40, then 30 (< 40: the buffer held less than a
    # full batch) and the round ends; the 5 that came with the last send wait for the next.
    assert ship._ship_all(deadline=None)
    assert uplink.sends == 3 and ship.rows_shipped == 110
    assert buffer.depth()[0] == 5
    buffer.close()


class ClosesIdleConnections:
    """A real HTTP/1.1 server on loopback that answers each request 200 and then closes
    the connection without saying so (as a server whose keep-alive timed out does)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                while len(body) < length:
                    body += conn.recv(65536)
                answer = b'{"accepted": 1, "duplicates": 0}'
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(answer)).encode() + b"\r\n\r\n" + answer
                )  # fmt: skip


def test_a_kept_alive_connection_the_server_closed_is_not_an_error() -> None:
    server = ClosesIdleConnections()
    uplink = HttpUplink(server.url, "token", 5)
    for _ in range(3):
        result = uplink.send("batch-1", b"{}\n", "identity")
        assert result.status == 200 and not result.error, result
    assert server.connections == 3  # each send noticed the close and opened a new one
    server.sock.close()


def test_no_answer_is_a_failed_attempt_not_an_exception(tmp_path: Path) -> None:
    from tests.servers import free_port

    result = HttpUplink(f"http://127.0.0.1:{free_port()}", "token", 2).send(
        "batch-1", b"{}\n", "identity"
    )
    assert result.status == 0 and "ConnectionRefusedError" in result.error
