"""Failures the agent must survive: kill -9, 413, a wrong token, an unplugged port."""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from ingest import wire
from tests.edge_agent.conftest import GATEWAY, FakeNodePort, Ingest, wait_for
from tests.helpers import free_port

pytestmark = pytest.mark.integration


def _fast_retry_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(f"[uplink]\nbackoff_max_seconds = 1.0\n{extra}")
    return path


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_reading_and_duplicates_none(
    tmp_path: Path, ingest: Ingest, agent_factory
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    agent = agent_factory(
        [
            "--config",
            str(_fast_retry_config(tmp_path)),
            "--gateway-id",
            GATEWAY,
            "--ingest-url",
            ingest.url,
            "--token",
            ingest.token,
            "--batch-interval",
            "1",
            "--http-listen",
            f"127.0.0.1:{port}",
        ]
    )
    acked: set[str] = set()
    stop = threading.Event()

    def client(node: str) -> None:
        seq = 0
        while not stop.is_set():
            seq += 1
            body = [
                {"node_id": node, "boot": 1, "seq": s, "values": {"temperature": 25.0}}
                for s in range(seq, seq + 5)
            ]
            try:
                resp = requests.post(f"{url}/sensors", json=body, timeout=3)
            except requests.RequestException:
                seq -= 1  # resend the same readings, as a node would
                time.sleep(0.05)
                continue
            if resp.status_code == 200:
                acked.update(wire.reading_id(GATEWAY, node, 1, s) for s in range(seq, seq + 5))
                seq += 4
            else:
                seq -= 1

    threads = [threading.Thread(target=client, args=(f"orchid-{i}",)) for i in range(2)]
    agent.start()
    wait_for(lambda: _up(port), 20, "agent up")
    for t in threads:
        t.start()
    rng = random.Random(6)
    for _cycle in range(4):
        time.sleep(rng.uniform(0.2, 1.5))  # readings flowing, a batch maybe in flight
        agent.stop(signal.SIGKILL)
        agent.start()
        wait_for(lambda: _up(port), 20, "agent restarted")
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) > 50
    stored = wait_for(
        lambda: acked <= {r[0] for r in ingest.rows()} and ingest.rows(),
        60,
        "every acknowledged reading at the ingest",
    )
    ids = [r[0] for r in stored]
    assert len(ids) == len(set(ids))  # stored once each
    assert agent.stop() == 0


def test_413_splits_batches_until_they_fit(tmp_path: Path, agent_factory) -> None:
    small = Ingest(tmp_path / "cloud", max_compressed="6000")
    small.start()
    try:
        port = free_port()
        agent = agent_factory(
            [
                "--config",
                str(_fast_retry_config(tmp_path)),
                "--gateway-id",
                GATEWAY,
                "--ingest-url",
                small.url,
                "--token",
                small.token,
                "--batch-interval",
                "600",
                "--codec",
                "identity",
                "--http-listen",
                f"127.0.0.1:{port}",
            ]
        )
        agent.start()
        wait_for(lambda: _up(port), 20, "agent up")
        body = [
            {"node_id": "rice-01", "boot": 1, "seq": s, "values": {"soil_ph": 6.5}}
            for s in range(1, 201)
        ]
        assert requests.post(f"http://127.0.0.1:{port}/sensors", json=body, timeout=5).ok
        agent.stop()  # SIGTERM flushes: the first 200-row batch is too large and is split
        agent.args[agent.args.index("600")] = "1"
        agent.start()
        wait_for(lambda: _up(port), 20, "agent up again")
        wait_for(lambda: len(small.rows()) == 200, 60, "200 readings through split batches")
        assert agent.stop() == 0
        status = agent.status()
        assert status["uplink"]["errors"].get("413", 0) >= 1
        assert status["batches_sent"] >= 2
    finally:
        small.stop()


def test_wrong_token_keeps_everything_and_counts_401(
    tmp_path: Path, ingest: Ingest, agent_factory
) -> None:
    port = free_port()
    agent = agent_factory(
        [
            "--config",
            str(_fast_retry_config(tmp_path)),
            "--gateway-id",
            GATEWAY,
            "--ingest-url",
            ingest.url,
            "--token",
            "gw_nope_nope",
            "--batch-interval",
            "1",
            "--http-listen",
            f"127.0.0.1:{port}",
        ]
    )
    agent.start()
    wait_for(lambda: _up(port), 20, "agent up")
    body = {"node_id": "rice-01", "boot": 1, "seq": 1, "values": {"soil_ph": 6.5}}
    assert requests.post(f"http://127.0.0.1:{port}/sensors", json=body, timeout=5).ok
    wait_for(lambda: agent.status()["uplink"]["errors"].get("401", 0) >= 2, 20, "401s counted")
    assert agent.stop() == 0
    assert agent.status()["readings_pending"] == 1
    assert ingest.rows() == []


def test_unplugged_port_is_reopened_within_3_s_and_partial_lines_dropped(
    tmp_path: Path, ingest: Ingest, agent_factory
) -> None:
    path = tmp_path / "by-id-node"
    node = FakeNodePort(path)
    agent = agent_factory(
        [
            "--gateway-id",
            GATEWAY,
            "--serial",
            str(path),
            "--ingest-url",
            ingest.url,
            "--token",
            ingest.token,
            "--batch-interval",
            "1",
        ]
    )
    agent.start()
    wait_for(lambda: agent.tail().count("connected") == 1, 20, "port open")
    # the tail of a frame cut by the reset-on-open, then good frames
    node.write(b"6.0C,h=60%RH*1234\r\n")
    for seq in range(1, 4):
        node.write(node.frame("R", "orchid-05", 1, seq, values={"temperature": 26.0}))
    wait_for(lambda: len(ingest.rows()) == 3, 20, "3 readings before the unplug")
    node.unplug()
    wait_for(lambda: "disconnected" in agent.tail(), 10, "disconnect noticed")
    time.sleep(1.5)
    replugged = time.monotonic()
    node = FakeNodePort(path)
    wait_for(lambda: agent.tail().count(" connected") == 2, 5, "reconnect")
    reconnect_s = time.monotonic() - replugged
    for seq in range(4, 7):
        node.write(node.frame("R", "orchid-05", 1, seq, values={"temperature": 26.0}))
    wait_for(lambda: len(ingest.rows()) == 6, 20, "3 more readings after the replug")
    assert reconnect_s < 3.0
    assert agent.stop() == 0
    status = agent.status()
    assert status["frames_rejected"] == {}  # the partial line was dropped, not "bad"
    assert status["counters"]["serial"]["errors:disconnected"] == 1
    node.close()


def _up(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
    except requests.RequestException:
        return False
