"""Decode and validate what sources receive into Candidates: serial frames (CRC and schema
via edge_agent.frames) and the JSON readings of `POST /sensors` and MQTT. Pure.
"""

from __future__ import annotations

import math
import re
from typing import Any

from edge_agent import frames
from edge_agent.pipeline.candidate import Candidate

_NODE_ID = re.compile(r"[A-Za-z0-9_-]{1,24}")
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
PROFILES = ("orchid", "rice", "watering")
MAX_VALUES = 64
MAX_READINGS_PER_REQUEST = 10_000


class InvalidReading(ValueError):
    """A JSON reading that breaks the /sensors schema; the message names the field."""


def from_frame(frame: frames.Frame, ts: float, source: str) -> Candidate:
    flags = [f"sensor_failed:{name}" for name in frame.failed]
    profile = frame.info.get("k") if frame.kind == "H" else None
    return Candidate(
        frame.node_id,
        frame.boot,
        frame.seq,
        dict(frame.values),
        ts,
        source,
        profile,
        flags,
        frame.kind,
    )


def _uint(obj: dict[str, Any], key: str, bits: int) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**bits:
        raise InvalidReading(f"{key} must be an unsigned {bits}-bit integer, got {value!r}")
    return value


def from_json_one(obj: Any, ts: float, source: str) -> Candidate:
    if not isinstance(obj, dict):
        raise InvalidReading("a reading must be a JSON object")
    unknown = sorted(set(obj) - {"node_id", "boot", "seq", "values", "profile"})
    if unknown:
        raise InvalidReading(f"unknown field {unknown[0]!r}")
    node_id = obj.get("node_id")
    if not isinstance(node_id, str) or not _NODE_ID.fullmatch(node_id):
        raise InvalidReading(f"node_id must be 1-24 of [A-Za-z0-9_-], got {node_id!r}")
    boot, seq = _uint(obj, "boot", 16), _uint(obj, "seq", 32)
    values = obj.get("values")
    if not isinstance(values, dict) or not values or len(values) > MAX_VALUES:
        raise InvalidReading(f"values must be an object of 1-{MAX_VALUES} sensor numbers")
    clean: dict[str, float] = {}
    for name, value in values.items():
        if not _NAME.fullmatch(name):
            raise InvalidReading(f"values: sensor name {name!r} is not 1-64 of [A-Za-z0-9_.:-]")
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise InvalidReading(f"values.{name} must be a finite number, got {value!r}")
        clean[name] = float(value)
    profile = obj.get("profile")
    if profile is not None and profile not in PROFILES:
        raise InvalidReading(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    return Candidate(node_id, boot, seq, clean, ts, source, profile)


def from_json(payload: Any, ts: float, source: str) -> list[Candidate]:
    """One reading or a list; all-or-nothing: an error names the index and the field."""
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise InvalidReading("empty list: send one reading or a non-empty list")
    if len(items) > MAX_READINGS_PER_REQUEST:
        raise InvalidReading(f"at most {MAX_READINGS_PER_REQUEST} readings per request")
    out = []
    for index, item in enumerate(items):
        try:
            out.append(from_json_one(item, ts, source))
        except InvalidReading as exc:
            where = f"reading [{index}]: " if isinstance(payload, list) else ""
            raise InvalidReading(f"{where}{exc}") from None
    return out
