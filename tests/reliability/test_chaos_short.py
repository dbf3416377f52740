"""CI form of the chaos suite: `scripts/chaos.py --short --no-fuzz` once (about 3 minutes),
then one test per scenario on its figures. The fuzzers run in this suite's other files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.scenarios import SCENARIOS

pytestmark = [pytest.mark.slow, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("chaos") / "chaos.json"
    done = subprocess.run(
        [sys.executable, "scripts/chaos.py", "--short", "--no-fuzz", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text())["scenarios"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_acknowledged_reading_lost_or_duplicated(figures: dict[str, Any], name: str) -> None:
    fig = figures[name]
    if os.geteuid() != 0 and name == "disk_full":
        pytest.fail("disk_full needs root to mount a tmpfs")
    assert "error" not in fig, fig.get("error")
    assert fig["acknowledged"] > 0, fig
    assert fig["lost"] == 0 and fig["duplicated"] == 0, fig
    assert fig.get("agent_pending_after") == 0, fig
    if name == "disk_full":  # drained by the running agent, no watchdog restart needed
        assert fig["watchdog_restart"] is None and fig["accepting_after_ingest_back"], fig
