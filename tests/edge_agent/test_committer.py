"""The group committer in-process: acks after the commit, quota policies counted, hellos,
sequence gaps, and a failed write that un-sees its readings."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from edge_agent.buffer import Buffer
from edge_agent.committer import Ack, Committer
from edge_agent.metrics import Counters
from edge_agent.pipeline.candidate import Candidate
from edge_agent.pipeline.score import Scorer


def cand(seq: int, node: str = "orchid-01", boot: int = 1, kind: str = "R", **kw) -> Candidate:
    values = {"temperature": 25.0, "humidity": 65.0, "light": 15000.0}
    return Candidate(node, boot, seq, dict(values), 1.7e9 + seq, "test", kind=kind, **kw)


def committer(tmp_path: Path, quota: int = 2**30, policy: str = "drop_oldest") -> Committer:
    c = Committer("gw", Buffer(tmp_path, quota, policy), Counters(), Scorer(), 10)
    c.start()
    return c


def test_ack_counts_accepted_and_duplicates_after_commit(tmp_path: Path) -> None:
    c = committer(tmp_path)
    seen = []
    c.listeners.append(seen.extend)
    ack = Ack()
    c.submit([cand(1), cand(2), cand(2)], ack)
    assert ack.wait(5)
    assert (ack.accepted, ack.duplicates, ack.error) == (2, 1, None)
    assert c.buffer.depth()[0] == 2  # durable before the ack was set
    assert [r["seq"] for r in seen] == [1, 2]
    assert all(r["label"] for r in seen)
    c.stop()


def test_hello_sets_profile_and_gaps_are_counted(tmp_path: Path) -> None:
    c = committer(tmp_path)
    ack = Ack()
    c.submit(
        [
            cand(0, node="n-1", boot=4, kind="H", profile="rice"),
            cand(1, node="n-1", boot=4),
            cand(5, node="n-1", boot=4),
        ],
        ack,
    )
    assert ack.wait(5)
    node = c.nodes["n-1"]
    assert (node.profile, node.boot, node.last_seq, node.gaps) == ("rice", 4, 5, 3)
    assert c.counters.get("pipeline", "sequence_gap") == 3
    c.stop()


def test_quota_drop_oldest_is_counted(tmp_path: Path) -> None:
    c = committer(tmp_path, quota=3000)
    for start in range(0, 40, 10):
        ack = Ack()
        c.submit([cand(s) for s in range(start + 1, start + 11)], ack)
        assert ack.wait(5) and ack.error is None
    c.stop()
    dropped = c.counters.get("buffer", "discarded", "quota_drop_oldest")
    assert dropped > 0
    assert c.buffer.depth()[1] <= 3000
    assert c.buffer.depth()[0] + dropped == 40


def test_quota_refuse_new_fails_the_ack_and_forgets_the_readings(tmp_path: Path) -> None:
    c = committer(tmp_path, quota=1500, policy="refuse_new")
    first = Ack()
    c.submit([cand(s) for s in range(1, 5)], first)
    assert first.wait(5) and first.error is None
    refused = Ack()
    c.submit([cand(s) for s in range(5, 15)], refused)
    assert refused.wait(5)
    assert refused.error and "quota" in refused.error
    assert c.counters.get("buffer", "discarded", "quota_full") == 10
    # not taken for duplicates later: the node's resend is judged afresh
    assert not c.dedupe.is_duplicate("orchid-01", 1, 5)
    c.stop()


def _commits(tmp_path: Path, window_ms: int, gap_ms: int) -> tuple[Committer, list[float]]:
    c = Committer(
        "gw", Buffer(tmp_path, 2**30, "drop_oldest"), Counters(), Scorer(), window_ms, gap_ms
    )
    times: list[float] = []
    c.listeners.append(lambda _readings: times.append(time.monotonic()))
    c.start()
    return c, times


def test_a_group_someone_waits_on_commits_without_waiting_out_the_window(tmp_path: Path) -> None:
    c, _times = _commits(tmp_path, window_ms=250, gap_ms=10)
    latencies = []
    for seq in range(1, 6):
        ack = Ack()
        t0 = time.monotonic()
        c.submit([cand(seq)], ack)
        assert ack.wait(5)
        latencies.append(time.monotonic() - t0)
    c.stop()
    # each ack comes after ~one gap + one fsync, far from the 250 ms window
    assert max(latencies) < 0.15, latencies


def test_readings_nobody_waits_on_share_one_window(tmp_path: Path) -> None:
    c, times = _commits(tmp_path, window_ms=250, gap_ms=10)
    for seq in range(1, 6):  # serial-like: no ack, 20 ms apart, all inside one window
        c.submit([cand(seq)])
        time.sleep(0.02)
    deadline = time.monotonic() + 5
    while c.buffer.depth()[0] < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    c.stop()
    assert c.buffer.depth()[0] == 5
    assert len(times) == 1  # one transaction, one fsync, for the five


def test_the_commit_gap_bounds_the_commit_rate_of_waited_groups(tmp_path: Path) -> None:
    c, times = _commits(tmp_path, window_ms=250, gap_ms=50)
    acks = []
    t0 = time.monotonic()
    for seq in range(1, 61):  # back to back with acks for ~0.3 s
        ack = Ack()
        c.submit([cand(seq)], ack)
        acks.append(ack)
        time.sleep(0.005)
    assert all(a.wait(5) for a in acks)
    elapsed = time.monotonic() - t0
    c.stop()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) <= elapsed / 0.05 + 2, (len(times), elapsed)
    assert min(gaps) >= 0.045, gaps  # never two commits closer than the gap
    assert len(times) >= 3  # and not one big window either
