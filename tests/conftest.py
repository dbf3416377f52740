"""Shared pytest harness: real servers on free loopback ports (tests/servers.py).

With CI=true a missing server binary fails the test that needs it; elsewhere it is skipped
with the apt command that installs it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import servers

APT_HINT = (
    "apt-get install mosquitto victoria-metrics influxdb postgresql "
    "(or run `make test`, which installs them)"
)


@pytest.fixture(autouse=True)
def _close_ingest_apps() -> Iterator[None]:
    """In-process ingest apps (tests/ingest/conftest.py build_env) hold sqlite files and a
    sweeper thread; closed after each test so the process does not run past 1024 fds (paho's
    select() cannot watch a socket numbered above that: MQTT tests late in the run failed)."""
    yield
    from tests.ingest.conftest import close_open_apps

    close_open_apps()


def require(kind: type[servers.Server]) -> None:
    missing = servers.missing_binaries(*servers.BINARIES[kind])
    if not missing:
        return
    message = f"{kind.__name__} needs {', '.join(missing)}: {APT_HINT}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _serve(kind: type[servers.Server], tmp: Path) -> Iterator[servers.Server]:
    require(kind)
    server = kind(data_dir=tmp).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Server]:
    yield from _serve(servers.Mosquitto, tmp_path_factory.mktemp("mosquitto"))


@pytest.fixture(scope="session")
def victoria_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Server]:
    yield from _serve(servers.VictoriaMetrics, tmp_path_factory.mktemp("vm"))


@pytest.fixture(scope="session")
def influxdb1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Server]:
    yield from _serve(servers.InfluxDB1, tmp_path_factory.mktemp("influxdb"))


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.PostgreSQL]:
    require(servers.PostgreSQL)
    # pytest's temp dirs are private to root; the cluster runs as `postgres`, so it lives in
    # a directory of its own under /tmp.
    data_dir = Path(tempfile.mkdtemp(prefix="pg-test-"))
    server = servers.PostgreSQL(data_dir=data_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[[], servers.Mosquitto]]:
    """Starts private brokers a test may stop and restart (same port, same persistence)."""
    require(servers.Mosquitto)
    started: list[servers.Mosquitto] = []

    def make() -> servers.Mosquitto:
        broker = servers.Mosquitto(data_dir=tmp_path / f"broker{len(started)}")
        broker.start()
        started.append(broker)
        return broker

    yield make
    for broker in started:
        broker.stop()
