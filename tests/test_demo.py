"""`make demo`'s orchestrator, shortened: real simulator -> edge agent -> ingest processes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.integration
def test_demo_stores_what_the_nodes_sent(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--seconds", "12",
         "--batch-interval", "4", "--dir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    numbers = {
        key: int(value)
        for key, value in re.findall(r"^  ([a-z ()]+?)\s{2,}(\d+)", done.stdout, re.MULTILINE)
    }
    assert numbers["readings stored by ingest"] > 0
    # every frame the gateway read was a reading, and every one reached the cloud exactly once
    assert numbers["readings stored by ingest"] == numbers["frames read by the gateway"]
    assert numbers["readings still buffered"] == 0
    assert numbers["bytes after compression"] < numbers["bytes before compression"]
