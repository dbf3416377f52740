"""The real firmware in simavr (firmware/sim/run) -> the agent -> the real ingest.

The orchid sketch runs in simavr with its UART on a pty. The agent reads it like a USB port;
mid-run the MCU is reset (SIGUSR1: a reboot keeping the EEPROM boot counter), as when an
Arduino's port is reopened, and both boots' readings must reach the ingest, scored."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.edge_agent.conftest import GATEWAY, ROOT, Ingest, wait_for
from tests.firmware.simnode import FIRMWARE, RUN, missing_tools

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def firmware() -> None:
    missing = missing_tools()
    if missing:
        message = f"simavr firmware test needs {', '.join(missing)} (see tests/firmware)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(
        ["make", "-s", "-C", str(FIRMWARE), "-j2", "sim", "runner"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_simavr_orchid_node_through_the_agent(
    firmware: None, tmp_path: Path, ingest: Ingest, agent_factory
) -> None:
    scenario = tmp_path / "orchid.json"
    scenario.write_text(
        json.dumps(
            {
                "temperature_c": 24.3,
                "humidity_pct": 66.6,
                "light_lux": 15230.0,
                "soil_moisture_pct": 41.2,
            }
        )
    )
    pty = tmp_path / "orchid.pty"
    runner = subprocess.Popen(
        [
            sys.executable,
            str(RUN),
            "--node",
            "orchid",
            "--scenario",
            str(scenario),
            "--pty",
            str(pty),
            "--eeprom",
            str(tmp_path / "orchid.eeprom"),
            "--no-build",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        wait_for(pty.exists, 15, "the simavr pty")
        agent = agent_factory(
            [
                "--gateway-id",
                GATEWAY,
                "--serial",
                str(pty),
                "--ingest-url",
                ingest.url,
                "--token",
                ingest.token,
                "--batch-interval",
                "1",
            ]
        )
        agent.start()
        wait_for(lambda: len(ingest.rows()) >= 2, 40, "first boot's readings at the ingest")
        runner.send_signal(signal.SIGUSR1)  # reboot the MCU
        boots = wait_for(
            lambda: len({r[2] for r in ingest.rows()}) >= 2 and ingest.rows(),
            40,
            "readings of the second boot",
        )
        assert agent.stop() == 0, agent.tail()
    finally:
        runner.terminate()
        runner.wait(10)
    rows = ingest.rows()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids))
    assert {r[1] for r in rows} == {"orchid-01"}
    assert all(
        r[4] is not None and r[5] in ("optimal", "sedang", "buruk", "sangat_buruk") for r in rows
    )
    status = agent.status()
    node = status["nodes"][0]
    assert node["profile"] == "orchid" and node["boot"] == max(r[2] for r in boots)
    # the reset may cut the frame in flight; the next frame is still read (resync on '$')
    rejected = status["frames_rejected"]
    assert set(rejected) <= {"cut"} and status["frames_rejected_total"] <= 1, (
        rejected,
        agent.tail(),
    )
