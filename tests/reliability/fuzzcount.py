"""Shared by the fuzz tests: hypothesis settings and how many inputs each target saw.

`RELIABILITY_FUZZ_EXAMPLES=N` sets hypothesis' examples per property (scripts/chaos.py
raises it for the full run); conftest.py writes `INPUTS` out when `RELIABILITY_FIGURES` is set.
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
INPUTS: Counter[str] = Counter()


def tried(target: str) -> None:
    """Count one input fed to `target`."""
    INPUTS[target] += 1


def known_crash(target: str, what: str) -> None:
    """Count an input that hit a crash already pinned by a strict xfail test and reported to
    the module's owner, so the fuzzer keeps looking for other failures meanwhile."""
    INPUTS[f"known crash: {target}: {what}"] += 1
