"""Reliability tests: with `RELIABILITY_FIGURES=PATH` the session writes how many inputs each
fuzz target saw and how many tests failed (scripts/chaos.py reads it for docs/reliability.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.reliability.fuzzcount import INPUTS


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("RELIABILITY_FIGURES")
    if path:
        figures = {"inputs": dict(INPUTS), "failed_tests": session.testsfailed}
        Path(path).write_text(json.dumps(figures, indent=2))
