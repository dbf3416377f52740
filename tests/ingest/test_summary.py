"""summary.summarize against a plain model of what it must return: per node the newest
reading (the first of equal stamps in arrival order), its count, and the label and score
counters (None and "" count as the label "none"; a score falls into its clamped tens)."""

from __future__ import annotations

import random
from collections import Counter

import msgspec
import pytest

from ingest.fastwire import Reading
from ingest.stores import summary


def model(new: list[Reading]) -> tuple:
    latest: dict[str, Reading] = {}
    for r in new:
        if r.node_id not in latest or r.ts > latest[r.node_id].ts:
            latest[r.node_id] = r
    counts = Counter(r.node_id for r in new)
    nodes = sorted(
        (n, r.gateway_id, r.profile, r.ts, msgspec.json.encode(r).decode(), counts[n])
        for n, r in latest.items()
    )
    labels = Counter(r.label or "none" for r in new)
    scores = Counter(min(max(int(r.score // 10), 0), 9) * 10 for r in new if r.score is not None)
    return nodes, sorted(labels.items()), sorted(scores.items())


def readings(rng: random.Random, n: int) -> list[Reading]:
    out = []
    for i in range(n):
        score = rng.choice([None, rng.uniform(-20, 120), 0.0, 10.0, 99.99, 100.0, -1e308, 1e308])
        out.append(
            Reading(
                id=f"r{i}",
                ts=f"2026-12-07T00:00:{rng.randrange(6):02d}.000Z",  # many equal stamps
                gateway_id=rng.choice(["gw-a", "gw-b"]),
                node_id=rng.choice(["n1", "n2", "n3"]),
                boot=1,
                seq=i,
                values={"t": float(i)},
                profile=rng.choice([None, "orchid"]),
                score=score,
                label=rng.choice([None, "", "optimal", "buruk"]),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(40))
def test_summarize_matches_the_model(seed: int) -> None:
    new = readings(random.Random(seed), random.Random(seed).randrange(0, 60))
    nodes, labels, scores = summary.summarize(new)
    assert (sorted(nodes), sorted(labels), sorted(scores)) == model(new)
