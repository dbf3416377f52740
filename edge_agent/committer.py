"""The group committer: one thread that turns what sources submit into durable readings.

Sources put Submissions on a queue. The committer gathers a group, runs the pipeline
(dedupe, range flags, id, fuzzy score), writes the group to the buffer in one fsync'd
transaction, and only then sets each submission's Ack (the HTTP source answers 2xx on it)
and hands the readings to the listeners (local MQTT, alerts, status page).

When a group closes:
- nobody waits on it (serial readings): `group_commit_ms` after its first item, so a
  steady trickle costs one fsync per window, not one per reading;
- someone waits on an ack (an HTTP node, the MQTT source's PUBACK): as soon as the queue
  is empty, but not before `commit_gap_ms` after the previous commit ended. A waiting
  client is answered after one fsync instead of a whole window, and the fsync rate stays
  at most 1000 / commit_gap_ms a second however the requests arrive (SD-card wear). Under
  load the group grows by itself: what arrives during one commit goes into the next.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from edge_agent.buffer import Buffer, Stored
from edge_agent.metrics import Counters
from edge_agent.pipeline import ident
from edge_agent.pipeline.candidate import Candidate
from edge_agent.pipeline.dedupe import Deduper
from edge_agent.pipeline.ranges import range_flags
from edge_agent.pipeline.score import Scorer, profile_by_prefix
from edge_agent.pipeline.validate import PROFILES

log = logging.getLogger(__name__)
MAX_GROUP = 1000  # readings per transaction: bounds the transient memory of a group
# A failed buffer write is retried with backoff (0.2, 0.4, 0.8 s ...) for this long before
# the group's submissions are answered with an error (HTTP 503: the node resends).
WRITE_RETRY_SECONDS = 3.0
# Submissions waiting for the committer. Small on purpose: when the committer falls behind,
# sources block (serial data waits in the driver, HTTP clients wait for their ack, the MQTT
# broker holds messages) instead of the agent's memory growing.
QUEUE_LIMIT = 64
Listener = Callable[[list[dict[str, Any]]], None]


class Ack:
    """Set once the submission's readings are durable (or failed to become so).

    Wait for it with `wait()` (a thread), or pass `on_done`, which the committer thread
    calls instead (the HTTP source wakes its event loop with it; no Event is made then)."""

    def __init__(self, on_done: Callable[[Ack], None] | None = None) -> None:
        self.done = None if on_done else threading.Event()
        self.accepted = 0
        self.duplicates = 0
        self.ids: list[str] = []
        self.error: str | None = None
        self.on_done = on_done  # runs in the committer thread

    def wait(self, timeout: float) -> bool:
        assert self.done is not None, "an Ack with on_done is not waited on"
        return self.done.wait(timeout)

    def finish(self) -> None:
        if self.done is not None:
            self.done.set()
        if self.on_done is not None:
            try:
                self.on_done(self)
            except Exception:
                log.exception("ack callback failed")


@dataclass
class Submission:
    candidates: list[Candidate]
    ack: Ack | None = None


@dataclass
class NodeState:
    node_id: str
    profile: str | None = None
    boot: int | None = None
    last_seq: int = -1  # -1: not known since the last (re)boot
    last_seen: float = 0.0
    last_values: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    label: str | None = None
    readings: int = 0
    gaps: int = 0
    source: str = ""

    def row(self) -> dict[str, Any]:
        return {**self.__dict__, "last_values": msgspec.json.encode(self.last_values).decode()}


class Committer:
    def __init__(
        self,
        gateway_id: str,
        buffer: Buffer,
        counters: Counters,
        scorer: Scorer,
        group_commit_ms: int,
        commit_gap_ms: int = 10,
    ) -> None:
        self.gateway_id = gateway_id
        self.buffer = buffer
        self.counters = counters
        self.scorer = scorer
        self.window = group_commit_ms / 1000
        self.gap = min(commit_gap_ms, group_commit_ms) / 1000
        self._last_commit = 0.0  # monotonic time the previous commit ended
        self.queue: queue.Queue[Submission | None] = queue.Queue(QUEUE_LIMIT)
        self.dedupe = Deduper()
        self.nodes: dict[str, NodeState] = {}
        self.listeners: list[Listener] = []
        self._thread = threading.Thread(target=self._run, name="committer", daemon=True)
        self._last_quota_log = 0.0
        for row in buffer.load_nodes():
            values = json.loads(row.pop("last_values") or "{}")
            self.nodes[row["node_id"]] = NodeState(**{**row, "last_values": values})

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, candidates: list[Candidate], ack: Ack | None = None) -> None:
        self.queue.put(Submission(candidates, ack))

    def offer(self, candidates: list[Candidate], ack: Ack | None = None) -> bool:
        """submit() without blocking: False when the queue is full (the caller waits elsewhere)."""
        try:
            self.queue.put_nowait(Submission(candidates, ack))
        except queue.Full:
            return False
        return True

    def stop(self, timeout: float = 30.0) -> None:
        """Commit everything already submitted, then end the thread."""
        self.queue.put(None)
        self._thread.join(timeout)

    # ------------------------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self.queue.get(timeout=1.0)
            except queue.Empty:
                self._flush_counters()
                continue
            if first is None:
                break
            group, stopping = self._collect(first)
            self._commit(group)
            self._last_commit = time.monotonic()
        self._flush_counters()

    def _collect(self, first: Submission) -> tuple[list[Submission], bool]:
        group, count = [first], len(first.candidates)
        deadline = time.monotonic() + self.window
        early = self._last_commit + self.gap  # a group with a waiter may close from here on
        waited = first.ack is not None
        while count < MAX_GROUP:
            remaining = (min(deadline, early) if waited else deadline) - time.monotonic()
            try:
                item = (
                    self.queue.get(timeout=remaining) if remaining > 0 else self.queue.get_nowait()
                )
            except queue.Empty:
                break  # the window is over, or a waited-on group found the queue empty
            if item is None:
                return group, True
            group.append(item)
            count += len(item.candidates)
            waited = waited or item.ack is not None
        return group, False

    def _commit(self, group: list[Submission]) -> None:
        entries: list[tuple[Submission, dict[str, Any]]] = []
        by_profile: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        dirty: dict[str, NodeState] = {}
        last: dict[str, dict[str, Any]] = {}
        received = duplicates = 0
        for sub in group:
            for cand in sub.candidates:
                node = self._node(cand)
                dirty[node.node_id] = node
                if cand.kind == "H":
                    self._hello(node, cand)
                    continue
                received += 1
                if self.dedupe.is_duplicate(cand.node_id, cand.boot, cand.seq):
                    duplicates += 1
                    if sub.ack:
                        sub.ack.duplicates += 1
                    continue
                cand.flags.extend(range_flags(cand.values))
                self._track(node, cand)
                profile = cand.profile or node.profile
                reading = ident.to_reading(self.gateway_id, cand, profile)
                by_profile[profile].append(reading)
                entries.append((sub, reading))
                last[node.node_id] = reading
        self.counters.inc("pipeline", "received", n=received)
        self.counters.inc("pipeline", "discarded", "duplicate", duplicates)
        self._score(by_profile)
        for node_id, reading in last.items():
            dirty[node_id].score, dirty[node_id].label = reading.get("score"), reading.get("label")
        stored = [Stored(r["id"], ident.to_line(r)) for _s, r in entries]
        deltas = self.counters.take_deltas()
        try:
            result = self._write(stored, deltas, [n.row() for n in dirty.values()])
        except Exception as exc:
            self.counters.restore_deltas(deltas)
            self._failed(group, entries, f"buffer write failed: {exc}")
            return
        if result.refused_for_disk:
            self.counters.inc("buffer", "discarded", "disk_full", result.refused_for_disk)
            self._quota_log(f"disk full: refused {result.refused_for_disk} new readings")
            self._failed(group, entries, "buffer disk full: refusing new readings", count=False)
            return
        if result.refused_for_quota:
            self.counters.inc("buffer", "discarded", "quota_full", result.refused_for_quota)
            self._quota_log(f"quota full: refused {result.refused_for_quota} new readings")
            self._failed(group, entries, "buffer quota full (policy refuse_new)", count=False)
            return
        if result.dropped_for_quota:
            self.counters.inc("buffer", "discarded", "quota_drop_oldest", result.dropped_for_quota)
            self._quota_log(f"quota full: dropped {result.dropped_for_quota} oldest readings")
        self.counters.inc("buffer", "received", n=len(stored))
        self.counters.inc("buffer", "sent", n=result.inserted)  # sent = now durable
        if result.duplicates:
            self.counters.inc("buffer", "discarded", "duplicate_id", result.duplicates)
        for sub, reading in entries:
            if sub.ack:
                sub.ack.accepted += 1
                sub.ack.ids.append(reading["id"])
        for sub in group:
            if sub.ack:
                sub.ack.finish()
        readings = [r for _s, r in entries]
        for listener in self.listeners:
            try:
                listener(readings)
            except Exception:
                log.exception("reading listener %r failed", listener)

    def _write(self, stored: list[Stored], deltas: dict, nodes: list[dict[str, Any]]) -> Any:
        """write_group, retried with backoff for up to WRITE_RETRY_SECONDS (a failed
        transaction leaves nothing behind, so a retry is safe); the last error is raised."""
        delay, deadline = 0.2, time.monotonic() + WRITE_RETRY_SECONDS
        while True:
            try:
                return self.buffer.write_group(stored, deltas, nodes)
            except Exception as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("buffer write failed (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay *= 2

    def _score(self, by_profile: dict[str | None, list[dict[str, Any]]]) -> None:
        for profile, readings in by_profile.items():
            self.counters.inc("score", "received", n=len(readings))
            if profile is None:
                self.counters.inc("score", "discarded", "no_profile", len(readings))
                continue
            scored = self.scorer.score(profile, readings)
            self.counters.inc("score", "sent", n=scored)
            if scored < len(readings):
                self.counters.inc("score", "discarded", "unscored", len(readings) - scored)
            labels = Counter(r["label"] for r in readings if r.get("label"))
            for label, n in labels.items():
                self.counters.inc("score", "label", label, n)

    def _failed(
        self, group: list[Submission], entries: list[Any], error: str, count: bool = True
    ) -> None:
        if count:  # refusals by policy are logged by _quota_log, at most once a minute
            log.error("%s (%d readings not stored)", error, len(entries))
            self.counters.inc("buffer", "errors", "write_failed")
            self.counters.inc("buffer", "discarded", "write_failed", len(entries))
        for _sub, reading in entries:
            self.dedupe.forget(reading["node_id"], reading["boot"], reading["seq"])
        for sub in group:
            if sub.ack:
                sub.ack.error = error
                sub.ack.finish()
        time.sleep(0.2)

    def _quota_log(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_quota_log > 60:
            policy = "" if self.buffer.disk_full else f" (policy {self.buffer.quota_policy})"
            log.warning("%s%s", message, policy)
            self._last_quota_log = now

    def _flush_counters(self) -> None:
        deltas = self.counters.take_deltas()
        if not deltas:
            return
        try:
            self.buffer.write_group([], deltas)
        except Exception as exc:
            self.counters.restore_deltas(deltas)
            log.warning("could not persist counters (%s); kept for the next commit", exc)

    def _node(self, cand: Candidate) -> NodeState:
        node = self.nodes.get(cand.node_id)
        if node is None:
            node = self.nodes[cand.node_id] = NodeState(cand.node_id)
        node.last_seen, node.source = cand.ts, cand.source
        return node

    def _hello(self, node: NodeState, cand: Candidate) -> None:
        if cand.profile in PROFILES:
            node.profile = cand.profile
        elif cand.profile:
            log.warning("node %s announced unknown profile %r", node.node_id, cand.profile)
        if node.boot != cand.boot:
            node.boot, node.last_seq = cand.boot, 0
            self.dedupe.forget_node_boots(node.node_id, cand.boot)
        self.counters.inc("pipeline", "hello")

    def _track(self, node: NodeState, cand: Candidate) -> None:
        if node.profile is None:
            node.profile = cand.profile or profile_by_prefix(cand.node_id)
        if node.boot != cand.boot:
            if node.boot is not None and cand.boot > node.boot:
                self.dedupe.forget_node_boots(node.node_id, cand.boot)
            node.boot, node.last_seq = cand.boot, -1
        if node.last_seq >= 0 and cand.seq > node.last_seq + 1:
            gap = cand.seq - node.last_seq - 1
            node.gaps += gap
            self.counters.inc("pipeline", "sequence_gap", n=gap)
        node.last_seq = max(node.last_seq, cand.seq)
        node.last_values = cand.values
        node.readings += 1
