"""The unit that flows from a source into the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Candidate:
    """One reading as a source decoded it, before dedupe, scoring and buffering."""

    node_id: str
    boot: int
    seq: int
    values: dict[str, float]
    ts: float  # receipt time (epoch seconds), stamped by the source
    source: str  # "serial:/dev/...", "http", "mqtt"
    profile: str | None = None  # from a hello frame or the HTTP/MQTT payload
    flags: list[str] = field(default_factory=list)
    kind: str = "R"  # R reading, E event, H hello (hellos only update node state)
