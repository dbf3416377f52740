"""Where the shared fuzzylite test data lives (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENGINES = [
    "AllTerms",
    "Laundry",
    "ObstacleAvoidance",
    "SimpleDimmer",
    "investment_portfolio",
    "shower",
    "tank",
    "tipper",
]


def shared_dir() -> Path | None:
    """SHARED_DIR if set, else the first existing of <repo>/../shared and /work/shared."""
    if os.environ.get("SHARED_DIR"):
        return Path(os.environ["SHARED_DIR"])
    for candidate in (REPO.parent / "shared", Path("/work/shared")):
        if candidate.is_dir():
            return candidate
    return None


def fuzzylite_dir() -> Path:
    base = shared_dir()
    path = base / "fuzzylite-mamdani" if base else None
    if path is None or not path.is_dir():
        message = "shared/fuzzylite-mamdani not found (set SHARED_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
