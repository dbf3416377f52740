"""Fixtures for the firmware tests: one firmware + runner build per session.

With CI=true a missing avr toolchain or simavr fails the tests; elsewhere they are skipped
with the apt command that installs them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.firmware.simnode import FIRMWARE, missing_tools

APT = "apt-get install gcc-avr avr-libc arduino-core-avr simavr libsimavr-dev"


@pytest.fixture(scope="session")
def firmware_build() -> Path:
    """Builds the sim firmware, the simavr runner and the host tool once; returns build/."""
    missing = missing_tools()
    if missing:
        message = f"firmware tests need {', '.join(missing)}: {APT}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        ["make", "-s", "-C", str(FIRMWARE), "-j2", "sim", "runner", "host"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"firmware build failed:\n{result.stdout}\n{result.stderr}"
    return FIRMWARE / "build"
