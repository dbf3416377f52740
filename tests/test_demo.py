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
    # every reading the gateway made durable reached the cloud exactly once (a frame read may
    # also be a node's hello or a frame cut short by the node's start, so frames >= readings)
    assert numbers["readings stored by ingest"] == numbers["readings buffered (durable)"]
    assert numbers["frames read by the gateway"] >= numbers["readings stored by ingest"]
    assert numbers["readings still buffered"] == 0
    assert numbers["bytes after compression"] < numbers["bytes before compression"]
