"""Reading ids, receipt timestamps and the NDJSON line, all through ingest.wire so the
gateway and the cloud share one definition. Pure.
"""

from __future__ import annotations

from typing import Any

import msgspec

from edge_agent.pipeline.candidate import Candidate
from ingest import wire


def to_reading(gateway_id: str, c: Candidate, profile: str | None) -> dict[str, Any]:
    reading: dict[str, Any] = {
        "id": wire.reading_id(gateway_id, c.node_id, c.boot, c.seq),
        "ts": wire.format_ts(c.ts),
        "gateway_id": gateway_id,
        "node_id": c.node_id,
        "boot": c.boot,
        "seq": c.seq,
        "values": c.values,
        "flags": c.flags,
    }
    if profile:
        reading["profile"] = profile
    return reading


_encode = msgspec.json.Encoder().encode


def to_line(reading: dict[str, Any]) -> bytes:
    """The reading's NDJSON line. The same JSON as wire.encode_ndjson, by msgspec (10x
    faster; a float's exponent may be spelled 1e16 instead of 1e+16, the same number)."""
    return _encode(reading) + b"\n"
