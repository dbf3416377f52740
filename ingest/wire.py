"""The gateway→cloud reading format (../shared/spec/uplink-api.md): pure, no I/O.

Both the edge agent (which builds readings) and the ingest service (which validates them)
import this module, so the contract lives in one place.
"""

from __future__ import annotations

import calendar
import json
import math
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

# Fixed namespace: reading ids are uuid5(namespace, "gateway/node/boot/seq") forever.
READING_NAMESPACE = uuid.UUID("5b6f2a8e-2d1c-4e0a-9a57-6d8a3c1e7b40")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
MAX_VALUES = 64


class ReadingError(ValueError):
    """A reading that breaks the contract; the message names the offending field."""


def reading_id(gateway_id: str, node_id: str, boot: int, seq: int) -> str:
    """Deterministic id: the same physical reading always gets the same id."""
    return str(uuid.uuid5(READING_NAMESPACE, f"{gateway_id}/{node_id}/{boot}/{seq}"))


def format_ts(epoch_seconds: float) -> str:
    """RFC 3339 UTC with milliseconds, e.g. 2025-05-10T06:10:10.250Z."""
    dt = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> float:
    if not isinstance(text, str) or not _TS.fullmatch(text):
        raise ReadingError(f"ts {text!r} is not RFC 3339 UTC with milliseconds")
    try:
        dt = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise ReadingError(f"ts {text!r}: {exc}") from None
    return dt.timestamp()


def ts_to_ms(ts: str) -> int:
    """A valid wire `ts` (`2025-05-10T06:10:10.250Z`, fixed width) → epoch milliseconds, for
    the hot paths (`parse_ts` checks; this does not). The minute's epoch is cached (a batch
    holds a few hundred minutes); seconds and milliseconds are the digits `ss` + `mmm` read
    as one number."""
    minute = _minutes.get(ts[:16])
    if minute is None:
        minute = (
            calendar.timegm(
                (int(ts[0:4]), int(ts[5:7]), int(ts[8:10]), int(ts[11:13]), int(ts[14:16]), 0)
            )
            * 1000
        )
        if len(_minutes) >= 100_000:
            _minutes.clear()
        _minutes[ts[:16]] = minute
    return minute + int(ts[17:19] + ts[20:23])


_minutes: dict[str, int] = {}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _require_name(reading: dict[str, Any], key: str) -> None:
    value = reading.get(key)
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ReadingError(f"{key} must be a string of 1-64 [A-Za-z0-9_.:-], got {value!r}")


def validate(reading: Any) -> dict[str, Any]:
    """Check one decoded reading against the contract and return it. Raises ReadingError."""
    if not isinstance(reading, dict):
        raise ReadingError("a reading must be a JSON object")
    for key in ("id", "gateway_id", "node_id"):
        _require_name(reading, key)
    parse_ts(reading.get("ts"))
    for key in ("boot", "seq"):
        value = reading.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**32:
            raise ReadingError(f"{key} must be an unsigned 32-bit integer, got {value!r}")
    values = reading.get("values")
    if not isinstance(values, dict) or len(values) > MAX_VALUES:
        raise ReadingError(f"values must be an object of at most {MAX_VALUES} numbers")
    for name, value in values.items():
        if not _NAME.fullmatch(name) or not _is_number(value):
            raise ReadingError(f"values.{name} must be a finite number, got {value!r}")
    if "profile" in reading and reading["profile"] is not None:
        _require_name(reading, "profile")
    if reading.get("score") is not None and not _is_number(reading["score"]):
        raise ReadingError(f"score must be a finite number, got {reading['score']!r}")
    if reading.get("label") is not None and not isinstance(reading["label"], str):
        raise ReadingError("label must be a string")
    flags = reading.get("flags", [])
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise ReadingError("flags must be a list of strings")
    return reading


def encode_ndjson(readings: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for r in readings
    )


def iter_ndjson(lines: Iterable[bytes]) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """Yield (line number, reading or None, error) for each non-blank NDJSON line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, validate(json.loads(line)), ""
        except (ValueError, RecursionError) as exc:
            yield number, None, str(exc)
