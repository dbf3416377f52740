"""Real servers for tests and benchmarks: each starts on a free 127.0.0.1 port with its data in
a directory it is given, and stops cleanly. No pytest here, so benchmark scripts use it too.

Facts and gotchas behind each start-up line: ../shared/spec/system.md.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class ServerError(RuntimeError):
    """A server that would not start; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return 200 <= response.status < 300
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise ServerError(f"{what} did not come up within {timeout:.0f} s\n{tail}")


def missing_binaries(*names: str) -> list[str]:
    return [name for name in names if not (shutil.which(name) or Path(name).exists())]


@dataclass
class Server:
    """A server process on 127.0.0.1:port; `start()` and `stop()` may be called repeatedly."""

    name: ClassVar[str] = "server"
    data_dir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return port_open(self.port)

    def popen_options(self) -> dict[str, str]:
        return {}

    def prepare(self) -> None:
        """One-time set-up of the data directory (config files, initdb)."""

    def start(self, timeout: float = 30) -> Server:
        if port_open(self.port):
            raise ServerError(f"{self.name}: port {self.port} is already in use")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, **self.popen_options()
        )
        log.close()

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with {self.proc.returncode}\n"
                    + self.log_path.read_text(errors="replace")[-2000:]
                )
            return self.ready()

        wait_until(up, timeout, self.name, self.log_path)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@dataclass
class Mosquitto(Server):
    name: ClassVar[str] = "mosquitto"

    def prepare(self) -> None:
        # Running as root, mosquitto drops to user `mosquitto` and then cannot write data_dir.
        (self.data_dir / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.data_dir}/\n"
            "user root\n"
            "max_queued_messages 100000\n"
        )

    def command(self) -> list[str]:
        return ["mosquitto", "-c", str(self.data_dir / "mosquitto.conf")]


@dataclass
class VictoriaMetrics(Server):
    name: ClassVar[str] = "victoria-metrics"

    def command(self) -> list[str]:
        # Without -search.latencyOffset=0s the last 30 s are invisible to queries.
        return [
            "victoria-metrics",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.data_dir / 'data'}",
            "-search.latencyOffset=0s",
            "-retentionPeriod=100y",  # the default (1 month) drops test data stamped in the past
            "-loggerLevel=WARN",
        ]

    def ready(self) -> bool:
        return http_ok(f"{self.url}/health")


@dataclass
class InfluxDB1(Server):
    """InfluxDB 1.6.7: the real InfluxQL engine (no v2 API)."""

    name: ClassVar[str] = "influxdb"
    rpc_port: int = field(default_factory=free_port)

    def prepare(self) -> None:
        d = self.data_dir
        (d / "influxdb.conf").write_text(
            "reporting-disabled = true\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{d}/meta"\n'
            f'[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n'
            "  query-log-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
        )

    def command(self) -> list[str]:
        return ["influxd", "run", "-config", str(self.data_dir / "influxdb.conf")]

    def ready(self) -> bool:
        return http_ok(f"{self.url}/ping")


@dataclass
class PostgreSQL(Server):
    """A throwaway cluster; initdb and the server refuse root, so both run as `postgres`."""

    name: ClassVar[str] = "postgresql"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def cluster(self) -> Path:
        return self.data_dir / "cluster"

    def _as_postgres(self) -> dict[str, str]:
        # Popen's user/group (not runuser) so signals reach postgres itself.
        return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}

    def prepare(self) -> None:
        if self.cluster.exists():
            return
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.cluster),
             "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, **self._as_postgres(),
        )  # fmt: skip

    def command(self) -> list[str]:
        return [
            str(PG_BIN / "postgres"), "-D", str(self.cluster),
            "-p", str(self.port), "-k", str(self.data_dir), "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "full_page_writes=off",
        ]  # fmt: skip

    def popen_options(self) -> dict[str, str]:
        return self._as_postgres()

    def ready(self) -> bool:
        # The port opens while the cluster is still "starting up" and refusing connections.
        if not port_open(self.port):
            return False
        check = [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        return subprocess.run(check, check=False).returncode == 0

    def start(self, timeout: float = 30) -> Server:
        if os.geteuid() == 0:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            shutil.chown(self.data_dir, "postgres", "postgres")
        return super().start(timeout)

    def stop(self, sig: int = signal.SIGINT) -> None:  # SIGINT = fast shutdown
        super().stop(sig)


BINARIES = {
    Mosquitto: ("mosquitto",),
    VictoriaMetrics: ("victoria-metrics",),
    InfluxDB1: ("influxd",),
    PostgreSQL: (str(PG_BIN / "postgres"), str(PG_BIN / "initdb"), str(PG_BIN / "pg_isready")),
}
