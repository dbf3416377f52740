"""Daemon wiring: builds the components from a Config, runs them, stops them in order.

Start: buffer → committer → shipper → HTTP server → MQTT → serial sources → READY=1.
Stop (SIGTERM/SIGINT): sources and HTTP stop taking input → the committer commits what it
holds → the shipper gets `shutdown_flush_seconds` to ship what it can → exit 0. Nothing
here needs the network: with the ingest down the agent starts, buffers and keeps retrying.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import threading
import time
from pathlib import Path
from typing import Any

from edge_agent import sdnotify
from edge_agent.buffer import Buffer
from edge_agent.committer import Committer
from edge_agent.config import Config, parse_host_port
from edge_agent.metrics import Counters, registry_for
from edge_agent.pipeline.score import Scorer
from edge_agent.shipper import Shipper
from edge_agent.sinks.http import HttpUplink
from edge_agent.sinks.local_mqtt import LocalPublisher
from edge_agent.sources.serial import SerialSource

log = logging.getLogger(__name__)
INTERVAL_SETTING = "batch_interval"


class Agent:
    """The running daemon; also the context object the web app reads."""

    def __init__(
        self,
        config: Config,
        *,
        interval_from_flag: bool = False,
        stop: threading.Event | None = None,
    ) -> None:
        self.config = config
        a, b, u = config.agent, config.buffer, config.uplink
        self.gateway_id = a.gateway_id
        self.state_dir = Path(a.state_dir)
        self.admin_token = config.http.admin_token
        self.ack_timeout = config.http.ack_timeout_seconds
        self.counters = Counters()
        self.buffer = Buffer(self.state_dir, int(b.quota_mb * 2**20), b.quota_policy)
        self.counters.load(self.buffer.load_counters())
        self.committer = Committer(
            a.gateway_id, self.buffer, self.counters, Scorer(), b.group_commit_ms, b.commit_gap_ms
        )
        interval = u.batch_interval
        persisted = self.buffer.get_setting(INTERVAL_SETTING)
        if persisted is not None and not interval_from_flag:
            interval = float(persisted)
        self.shipper = Shipper(
            self.buffer,
            self._uplink(),
            self.counters,
            codec=u.codec,
            interval=interval,
            max_rows=u.batch_max_rows,
            backoff_initial=u.backoff_initial_seconds,
            backoff_max=u.backoff_max_seconds,
        )
        self.committer.listeners.append(lambda _readings: self.shipper.nudge())
        self.local: LocalPublisher | None = None
        if config.local_mqtt.host:
            self.local = LocalPublisher(config, self.committer.scorer.bands, self.counters)
            self.committer.listeners.append(self.local.on_readings)
        self.registry = registry_for(self.counters, self._gauges)
        self.sources: list[Any] = [
            SerialSource(
                p,
                config.serial.baud,
                self.committer,
                self.counters,
                config.serial.reconnect_seconds,
            )
            for p in config.serial.ports
        ]
        if config.mqtt_source.host:
            from edge_agent.sources.mqtt import MqttSource

            self.sources.append(MqttSource(config.mqtt_source, self.committer, self.counters))
        self.web = None
        if config.http.listen:
            from edge_agent.web.app import create_app
            from edge_agent.web.server import WebServer

            host, port = parse_host_port(config.http.listen, "[http] listen")
            self.web = WebServer(
                create_app(self),
                host,
                port,
                on_busy=lambda: self.counters.inc("http", "errors", "over_capacity"),
            )
        self._stop = stop or threading.Event()

    def _uplink(self) -> Any:
        u = self.config.uplink
        if u.transport == "mqtt":
            from edge_agent.sinks.mqtt import MqttUplink

            return MqttUplink(self.gateway_id, u)
        return HttpUplink(u.ingest_url, u.token, u.timeout_seconds, self._gateway_status)

    def _gateway_status(self) -> dict[str, int]:
        rows, payload = self.buffer.depth()
        return {"buffer_rows": rows, "buffer_bytes": payload, "nodes": len(self.committer.nodes)}

    # ---- context for the web app ------------------------------------------------------
    def set_interval(self, seconds: float) -> None:
        self.buffer.set_setting(INTERVAL_SETTING, repr(seconds))
        self.shipper.set_interval(seconds)
        log.info("send interval changed to %gs (persisted)", seconds)

    def healthy(self) -> bool:
        parts = [self.committer, self.shipper, *self.sources]
        if self.web is not None:
            parts.append(self.web)
        return all(p.is_alive() for p in parts)

    def live(self) -> dict[str, Any]:
        u = self.config.uplink
        return {
            "gateway_id": self.gateway_id,
            "transport": u.transport,
            "ingest": u.ingest_url if u.transport == "http" else f"{u.mqtt_host}:{u.mqtt_port}",
            "codec": u.codec,
            "batch_interval": self.shipper.interval,
            "next_ship_in": round(max(0.0, self.shipper.next_due - time.monotonic()), 1),
            "uplink_error": self.shipper.last_error,
            "quota_bytes": self.buffer.quota_bytes,
            "queue": self.committer.queue.qsize(),
            "healthy": self.healthy(),
            "rss_bytes": _rss_bytes(),
        }

    def _gauges(self) -> dict[str, float]:
        rows, payload = self.buffer.depth()
        return {
            "buffer_rows": rows,
            "buffer_payload_bytes": payload,
            "buffer_disk_bytes": self.buffer.disk_bytes(),
            "buffer_quota_bytes": self.buffer.quota_bytes,
            "buffer_usage_ratio": payload / self.buffer.quota_bytes,
            "queue_depth": self.committer.queue.qsize(),
            "batch_interval_seconds": self.shipper.interval,
            "uplink_consecutive_failures": self.shipper.failures,
            "resident_memory_bytes": _rss_bytes(),
        }

    # ---- lifecycle ----------------------------------------------------------------------
    def request_stop(self, *_args: Any) -> None:
        self._stop.set()

    def start(self) -> None:
        self.committer.start()
        self.shipper.start()
        if self.web is not None:
            self.web.start()
        if self.local is not None:
            self.local.start()
        for source in self.sources:
            source.start()
        rows, _ = self.buffer.depth()
        log.info(
            "edge-agent %s running: %d serial port(s), %d readings pending, interval %gs",
            self.gateway_id,
            len(self.config.serial.ports),
            rows,
            self.shipper.interval,
        )
        sdnotify.notify("READY=1\nSTATUS=running")

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        self.start()
        tick = sdnotify.watchdog_interval() or 5.0
        while not self._stop.wait(min(tick, 5.0)):
            if self.healthy():
                rows, _ = self.buffer.depth()
                sdnotify.notify(f"WATCHDOG=1\nSTATUS={rows} readings pending")
            else:
                # No ping: systemd's watchdog restarts us (Restart=on-failure).
                log.error("a component thread died; withholding the watchdog ping")
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        log.info("stopping: taking no more input, committing, flushing")
        sdnotify.notify("STOPPING=1")
        for source in self.sources:
            source.stop()
        if self.web is not None:
            self.web.stop()
        self.committer.stop()
        flush = self.config.agent.shutdown_flush_seconds
        self.shipper.stop(join_seconds=flush)
        if not self.shipper.is_alive():
            emptied = self.shipper.flush(flush)
            rows, _ = self.buffer.depth()
            log.info(
                "shutdown flush %s; %d readings stay buffered for the next start",
                "emptied the buffer" if emptied else "stopped",
                rows,
            )
            deltas = self.counters.take_deltas()  # what the flush counted
            if deltas:
                self.buffer.write_group([], deltas)
            self.shipper.uplink.close()
            if self.local is not None:
                self.local.stop()
            self.buffer.close()
        else:
            log.warning("uplink still busy after %gs; its batch is resent on the next start", flush)


def _rss_bytes() -> int:
    try:
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
