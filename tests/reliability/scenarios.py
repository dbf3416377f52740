"""The chaos scenarios of scripts/chaos.py. Each starts a fresh ingest and edge agent in its
own directory, lets nodes produce readings while it breaks something, then waits for the
gateway to drain and counts every reading from birth to storage (harness.Ledger).

"Hours of outage compressed by configuration": the agent ships every `BATCH_INTERVAL` s and
caps its backoff at `BACKOFF_MAX` s, so an outage of N seconds here spans as many batch
intervals and retries as N × (600 / BATCH_INTERVAL) seconds would with the production
defaults (600 s interval, 300 s backoff cap).
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from ingest import wire
from tests.reliability.harness import (
    AgentProc,
    HttpNode,
    IngestProc,
    Ledger,
    NodePty,
    wait_for,
)

GATEWAY = "gw-chaos"
BATCH_INTERVAL = 0.2
BACKOFF_MAX = 1.0
PRODUCTION_INTERVAL = 600.0
AGENT_CONFIG = f"""[uplink]
backoff_initial_seconds = 0.2
backoff_max_seconds = {BACKOFF_MAX}
timeout_seconds = 5.0
[serial]
reconnect_seconds = 0.1
"""
DRAIN_TIMEOUT = 90.0


@dataclass
class Plan:
    kill_cycles: int
    outages: list[float]  # seconds each
    broker_restarts: int
    replug_cycles: int
    disk_mb: int
    store_outages: list[float]
    stall_wait: float = 30.0  # disk_full: how long a stalled agent is given before a restart


FULL = Plan(
    kill_cycles=100,
    outages=[60.0, 30.0, 30.0],
    broker_restarts=10,
    replug_cycles=100,
    disk_mb=2,
    store_outages=[30.0, 15.0],
)
SHORT = Plan(
    stall_wait=10.0,
    kill_cycles=10,
    outages=[5.0],
    broker_restarts=2,
    replug_cycles=10,
    disk_mb=2,
    store_outages=[5.0],
)


class Rig:
    """One ingest, one agent, a ledger and some HTTP nodes, in `work`."""

    def __init__(
        self,
        work: Path,
        *serve_flags: str,
        agent_args: list[str] | None = None,
        agent_config: str = AGENT_CONFIG,
        state_dir: Path | None = None,
    ) -> None:
        self.ingest = IngestProc(work / "cloud", GATEWAY, *serve_flags)
        self.agent = AgentProc(
            state_dir or work / "gateway",
            [
                "--gateway-id",
                GATEWAY,
                "--ingest-url",
                self.ingest.url,
                "--token",
                self.ingest.token,
                "--batch-interval",
                str(BATCH_INTERVAL),
                *(agent_args or []),
            ],
            agent_config,
            log_dir=work,
        )
        self.ledger = Ledger(GATEWAY)
        self.nodes: list[HttpNode] = []

    def start_nodes(self, count: int = 3, per_post: int = 5, prefix: str = "n") -> None:
        for i in range(count):
            node = HttpNode(self.ledger, f"{prefix}{i}", lambda: self.agent.url, per_post)
            node.start()
            self.nodes.append(node)

    def stop_nodes(self) -> None:
        for node in self.nodes:
            node.stop()
        self.nodes.clear()

    def drain(self, timeout: float = DRAIN_TIMEOUT) -> dict[str, Any]:
        """Wait until every acknowledged reading is stored (or the timeout), then count."""
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            wait_for(
                lambda: self.ledger.count(self.ingest.rows())["lost"] == 0,
                timeout,
                "the gateway to drain",
                every=0.25,
            )
        figures = self.ledger.count(self.ingest.rows())
        figures["drain_s"] = round(time.monotonic() - started, 1)
        status = self.agent.status()
        figures["agent_pending_after"] = status.get("readings_pending")
        figures["agent_starts"] = self.agent.starts
        return figures

    def close(self) -> None:
        self.stop_nodes()
        with contextlib.suppress(Exception):
            self.agent.stop()
        self.ingest.stop()


def kill9(work: Path, plan: Plan, rng: random.Random) -> dict[str, Any]:
    """kill -9 the agent at random moments while nodes post; restart it each time."""
    rig = Rig(work)
    try:
        rig.ingest.start()
        rig.agent.start()
        rig.start_nodes()
        for _ in range(plan.kill_cycles):
            time.sleep(rng.uniform(0.2, 1.5))  # uptime before the kill: mid-commit, mid-send
            rig.agent.kill9()
            rig.agent.start()
        time.sleep(0.5)
        rig.stop_nodes()
        return {"cycles": plan.kill_cycles, **rig.drain()}
    finally:
        rig.close()


def ingest_outage(work: Path, plan: Plan, rng: random.Random) -> dict[str, Any]:
    """The ingest down for long stretches while readings keep coming."""
    rig = Rig(work)
    try:
        rig.ingest.start()
        rig.agent.start()
        rig.start_nodes()
        peak_pending = 0
        for seconds in plan.outages:
            time.sleep(rng.uniform(0.5, 2.0))
            rig.ingest.stop()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                peak_pending = max(peak_pending, rig.agent.status().get("readings_pending", 0))
                time.sleep(0.5)
            rig.ingest.start()
        time.sleep(1.0)
        rig.stop_nodes()
        figures = rig.drain()
        down = sum(plan.outages)
        return {
            "cycles": len(plan.outages),
            "outage_s": down,
            "outage_batch_intervals": round(down / BATCH_INTERVAL),
            "equivalent_production_hours": round(
                down / BATCH_INTERVAL * PRODUCTION_INTERVAL / 3600, 1
            ),
            "peak_pending": peak_pending,
            **figures,
        }
    finally:
        rig.close()


def broker_restart(work: Path, plan: Plan, rng: random.Random) -> dict[str, Any]:
    """The agent's local MQTT broker restarted repeatedly: the uplink must not notice, and
    the local feed must come back after each restart."""
    import paho.mqtt.client as mqtt

    from tests.servers import Mosquitto

    broker = Mosquitto(data_dir=work / "mosquitto")
    broker.start()
    config = AGENT_CONFIG + f'[local_mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
    rig = Rig(work, agent_config=config)
    received = {"n": 0}
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="chaos-sub")
    sub.on_connect = lambda c, *_a: c.subscribe("subak/local/#", qos=1)
    sub.on_message = lambda *_a: received.__setitem__("n", received["n"] + 1)
    sub.reconnect_delay_set(0.1, 0.5)
    resumed = 0
    try:
        rig.ingest.start()
        rig.agent.start()
        sub.connect("127.0.0.1", broker.port)
        sub.loop_start()
        rig.start_nodes()
        for _ in range(plan.broker_restarts):
            time.sleep(rng.uniform(0.5, 2.0))
            broker.stop()
            time.sleep(rng.uniform(0.2, 1.5))
            broker.start()
            before = received["n"]
            with contextlib.suppress(TimeoutError):
                wait_for(lambda b=before: received["n"] > b + 5, 15, "local feed to resume")
                resumed += 1
        rig.stop_nodes()
        figures = rig.drain()
        return {
            "cycles": plan.broker_restarts,
            "local_feed_resumed": resumed,
            "local_messages": received["n"],
            "agent_alive": rig.agent.alive(),
            **figures,
        }
    finally:
        sub.loop_stop()
        with contextlib.suppress(Exception):
            sub.disconnect()
        rig.close()
        broker.stop()


def _connections(agent: AgentProc, path: Path) -> int:
    return agent.log.read_text(errors="replace").count(f"{path} connected")


def replug(work: Path, plan: Plan, rng: random.Random) -> dict[str, Any]:
    """A node's serial device unplugged and replugged (the pty vanishes and comes back); the
    node reboots on each plug (reset-on-open), so boot goes up and seq restarts."""
    port_path = work / "ttyNODE0"
    node = NodePty(port_path)
    rig = Rig(work, agent_args=["--serial", str(port_path)])
    per_cycle = 10
    reconnected = 0
    try:
        rig.ingest.start()
        rig.agent.start()
        written = 0
        for cycle in range(plan.replug_cycles):
            wait_for(lambda c=cycle: _connections(rig.agent, port_path) > c, 15, "agent to open")
            reconnected += 1
            boot = cycle + 1
            for seq in range(1, per_cycle + 1):
                node.write(node.frame("pty0", boot, seq))
                rig.ledger.birth(("pty0", boot, seq))
                written += 1
            # acknowledged = in the agent's durable buffer (the committed counter)
            wait_for(
                lambda w=written: rig.agent.status().get("readings_buffered", 0) >= w,
                15,
                "frames to be committed",
                every=0.1,
            )
            rig.ledger.ack([("pty0", boot, s) for s in range(1, per_cycle + 1)])
            node.unplug()
            time.sleep(rng.uniform(0.0, 0.3))
            node.plug()
        figures = rig.drain()
        status = rig.agent.status()
        return {
            "cycles": plan.replug_cycles,
            "reconnected": reconnected,
            "frames_rejected": status.get("frames_rejected_total"),
            "agent_alive": rig.agent.alive(),
            **figures,
        }
    finally:
        rig.close()
        node.unplug()


def disk_full(work: Path, plan: Plan, rng: random.Random) -> dict[str, Any]:
    """The gateway's disk fills up (a tmpfs of plan.disk_mb MiB holds the state dir) while
    the ingest is down; then the ingest comes back and the backlog must drain."""
    mount = work / "gatewayfs"
    mount.mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={plan.disk_mb}m", "tmpfs", str(mount)], check=True
    )
    rig = Rig(work, state_dir=mount / "state")
    try:
        rig.ingest.start()
        rig.agent.start()
        rig.ingest.stop()
        rig.start_nodes(count=3, per_post=50)
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            wait_for(
                lambda: sum(v for k, v in rig.ledger.refusals.items() if k == "503") > 20,
                120,
                "the buffer to refuse readings",
                every=0.2,
            )
        time_to_full = round(time.monotonic() - started, 1)
        refused_while_full = dict(rig.ledger.refusals)
        time.sleep(2.0)
        alive_when_full = rig.agent.alive()
        usage = shutil.disk_usage(mount)
        rig.ingest.start()
        acked_before = len(rig.ledger.acked)
        accepting = False
        with contextlib.suppress(TimeoutError):
            accepting = wait_for(
                lambda: len(rig.ledger.acked) > acked_before + 200,
                plan.stall_wait,
                "the agent to accept again",
            )
        rig.stop_nodes()
        figures = rig.drain(timeout=plan.stall_wait)
        watchdog_restart = None
        if figures["lost"]:
            # What systemd does when the agent withholds its watchdog ping (edge_agent/systemd):
            # kill it and start it again. Counted, so the figures show the daemon needed it.
            watchdog_restart = {"lost_before": figures["lost"], "alive": rig.agent.alive()}
            rig.agent.kill9()
            rig.agent.start()
            figures = rig.drain(timeout=plan.stall_wait * 1.5)
        return {
            "disk_mb": plan.disk_mb,
            "time_to_full_s": time_to_full,
            "refusals_while_full": refused_while_full,
            "agent_alive_when_full": alive_when_full,
            "disk_used_when_full": usage.used,
            "accepting_after_ingest_back": bool(accepting),
            "watchdog_restart": watchdog_restart,
            **figures,
        }
    finally:
        rig.close()
        subprocess.run(["umount", "-l", str(mount)], check=False)


def store_down(work: Path, plan: Plan, rng: random.Random) -> dict[str, Any]:
    """The ingest's store (VictoriaMetrics) down: the ingest answers 503, gateways retry."""
    from tests.servers import VictoriaMetrics

    vm = VictoriaMetrics(data_dir=work / "vm")
    vm.start()
    store = f"influxdb://127.0.0.1:{vm.port}/chaos?org=chaos&token=x"
    rig = Rig(work, "--store", store)
    try:
        rig.ingest.start()
        rig.agent.start()
        rig.start_nodes()
        for seconds in plan.store_outages:
            time.sleep(rng.uniform(0.5, 2.0))
            vm.stop()
            time.sleep(seconds)
            vm.start()
        time.sleep(1.0)
        rig.stop_nodes()
        figures = _drain_vm(rig, vm)
        status = rig.agent.status()
        return {
            "cycles": len(plan.store_outages),
            "outage_s": sum(plan.store_outages),
            "uplink_errors": status.get("uplink", {}).get("errors"),
            **figures,
        }
    finally:
        rig.close()
        vm.stop()


def _drain_vm(rig: Rig, vm: Any) -> dict[str, Any]:
    """Count from VictoriaMetrics, which keeps numeric fields only (docs/influx-schema.md):
    series `orchid_seq` and `orchid_boot` per node give (node, boot, seq) per sample, and a
    reading sent twice with its gateway timestamp shows up as a second sample."""

    def rows() -> list[tuple[str, str, int, int]]:
        resp = requests.get(
            f"{vm.url}/api/v1/export",
            params={"match[]": '{__name__=~"orchid_(seq|boot)"}'},
            timeout=30,
        )
        samples: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for line in resp.text.splitlines():
            series = json.loads(line)
            key = (series["metric"]["node"], series["metric"]["__name__"])
            pairs = zip(series["timestamps"], series["values"], strict=True)
            samples.setdefault(key, []).extend((t, int(v)) for t, v in pairs)
        out = []
        for (node, name), seqs in samples.items():
            if name != "orchid_seq":
                continue
            boots = dict(samples.get((node, "orchid_boot"), []))
            for ts, seq in seqs:
                boot = boots.get(ts, -1)
                out.append((wire.reading_id(GATEWAY, node, boot, seq), node, boot, seq))
        return out

    rig.ingest.rows = rows  # type: ignore[method-assign]
    return rig.drain()


SCENARIOS: dict[str, Callable[[Path, Plan, random.Random], dict[str, Any]]] = {
    "kill9": kill9,
    "ingest_outage": ingest_outage,
    "broker_restart": broker_restart,
    "replug": replug,
    "disk_full": disk_full,
    "store_down": store_down,
}
