"""The milestone flow against the real ingest: ptys -> agent -> ingest, status, SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from fuzzy import load_profile
from ingest import wire
from tests.edge_agent.conftest import GATEWAY, FakeNodePort, wait_for
from tests.helpers import free_port

pytestmark = pytest.mark.integration


def test_frames_from_two_ptys_reach_the_ingest_exactly_once(
    tmp_path: Path, ingest, agent_factory
) -> None:
    orchid = FakeNodePort(tmp_path / "orchid0")
    rice = FakeNodePort(tmp_path / "rice0")
    agent = agent_factory(
        [
            "--gateway-id",
            GATEWAY,
            "--serial",
            str(orchid.path),
            "--serial",
            str(rice.path),
            "--ingest-url",
            ingest.url,
            "--token",
            ingest.token,
            "--batch-interval",
            "1",
            "--codec",
            "gzip",
        ]
    )
    agent.start()
    wait_for(
        lambda: (
            "connected" in agent.log.read_text() and agent.log.read_text().count("connected") >= 2
        ),
        20,
        "both ports open",
    )
    orchid.write(orchid.frame("H", "orchid-01", 3, 0, info={"k": "orchid", "iv": "1s"}))
    rice.write(rice.frame("H", "paddy-7", 1, 0, info={"k": "rice", "iv": "1s"}))
    for seq in range(1, 31):
        orchid.write(
            orchid.frame(
                "R",
                "orchid-01",
                3,
                seq,
                values={"temperature": 27.0, "humidity": 65.0, "light": 15000.0},
            )
        )
        rice.write(
            rice.frame("R", "paddy-7", 1, seq, values={"temperature": 29.0, "soil_ph": 16.0})
        )
    # garbage and a corrupted frame: counted by reason, never fatal
    orchid.write(b"hello world\r\n")
    bad = bytearray(orchid.frame("R", "orchid-01", 3, 99, values={"temperature": 1.0}))
    bad[10] ^= 0x01
    orchid.write(bytes(bad))
    orchid.write(orchid.frame("R", "orchid-01", 3, 5, values={"temperature": 27.0}))  # duplicate

    rows = wait_for(lambda: len(ingest.rows()) >= 60 and ingest.rows(), 30, "60 readings stored")
    assert agent.stop(signal.SIGTERM) == 0, agent.tail()

    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == 60
    expected = {wire.reading_id(GATEWAY, "orchid-01", 3, s) for s in range(1, 31)}
    expected |= {wire.reading_id(GATEWAY, "paddy-7", 1, s) for s in range(1, 31)}
    assert set(ids) == expected

    status = agent.status()
    assert status["frames_read"] == 2 + 60 + 3
    assert status["frames_rejected"] == {"no_start": 1, "bad_crc": 1}
    assert status["readings"]["duplicates_dropped"] == 1
    assert status["readings_buffered"] == 60
    assert status["readings_pending"] == 0
    assert status["batches_sent"] >= 1
    assert 0 < status["bytes_compressed"] < status["bytes_raw"]
    nodes = {n["node_id"]: n for n in status["nodes"]}
    assert nodes["orchid-01"]["profile"] == "orchid"  # from the hello frame
    assert nodes["paddy-7"]["profile"] == "rice"  # no prefix: only the hello says so
    assert nodes["paddy-7"]["last_seq"] == 30
    expected_score = load_profile("orchid").score_records(
        [{"temperature": 27.0, "humidity": 65.0, "light": 15000.0}]
    )[0]
    orchid_rows = [r for r in rows if r[1] == "orchid-01"]
    assert {(round(r[4], 3), r[5]) for r in orchid_rows} == {
        (round(expected_score["score"], 3), expected_score["label"])
    }
    assert status["readings_scored"] >= 30
    assert status["labels"][expected_score["label"]] >= 30
    stored = ingest.stats()
    assert stored["readings"] == 60
    orchid.close()
    rice.close()


def test_agent_starts_without_the_ingest_and_delivers_once_it_is_up(
    tmp_path: Path, ingest, agent_factory, node_port: FakeNodePort
) -> None:
    ingest.stop()
    web = free_port()
    config = tmp_path / "agent.toml"
    config.write_text("[uplink]\nbackoff_max_seconds = 2.0\nbatch_interval = 999.0\n")
    agent = agent_factory(
        [
            "--config",
            str(config),
            "--gateway-id",
            GATEWAY,
            "--serial",
            str(node_port.path),
            "--ingest-url",
            ingest.url,
            "--token",
            ingest.token,
            "--batch-interval",
            "0.5",
            "--http-listen",
            f"127.0.0.1:{web}",
        ]
    )
    agent.start()
    wait_for(lambda: "connected" in agent.log.read_text(), 20, "port open")
    for seq in range(1, 21):
        node_port.write(node_port.frame("R", "orchid-02", 1, seq, values={"temperature": 26.0}))
    wait_for(lambda: agent.status().get("readings_pending") == 20, 20, "20 readings buffered")
    wait_for(lambda: agent.status()["uplink"]["errors"], 20, "failed uplink attempts counted")
    ingest.start()
    wait_for(lambda: len(ingest.rows()) == 20, 60, "the backlog delivered after the outage")
    assert agent.stop() == 0, agent.tail()
    assert agent.status()["readings_pending"] == 0
