"""A fast decoder for uplink readings that accepts exactly what `wire.validate` accepts.

msgspec checks types and ranges in C while decoding each NDJSON line; names and timestamps
are then checked with the contract's own patterns (names that repeat — gateway, node, value
keys — once per batch). Anything refused is re-checked line by line by
`wire.validate`, so the error text, and the final verdict, are the contract's own. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import msgspec

from ingest import wire

U32 = Annotated[int, msgspec.Meta(ge=0, lt=2**32)]
Number = Annotated[float, msgspec.Meta(ge=-1.7976931348623157e308, le=1.7976931348623157e308)]
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z")


class Reading(msgspec.Struct, omit_defaults=True):
    id: str
    ts: str
    gateway_id: str
    node_id: str
    boot: U32
    seq: U32
    values: Annotated[dict[str, Number], msgspec.Meta(max_length=wire.MAX_VALUES)]
    profile: str | None = None
    score: Number | None = None
    label: str | None = None
    flags: list[str] = []

    def as_dict(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


_one = msgspec.json.Decoder(Reading)


class _Checker:
    """Remembers names and days already found valid (bounded), so a batch of one gateway's
    few nodes checks each once."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.key_sets: set[tuple[str, ...]] = set()
        self.days: set[str] = set()

    def name(self, value: str) -> bool:
        if value in self.names:
            return True
        if _NAME.fullmatch(value) is None:
            return False
        if len(self.names) < 100_000:
            self.names.add(value)
        return True

    def ok(self, r: Reading) -> bool:
        if _NAME.fullmatch(r.id) is None or _TS.fullmatch(r.ts) is None:
            return False
        if not (self.name(r.gateway_id) and self.name(r.node_id)):
            return False
        if r.profile is not None and not self.name(r.profile):
            return False
        keys = tuple(r.values)
        if keys not in self.key_sets:
            if not all(self.name(k) for k in keys):
                return False
            if len(self.key_sets) < 10_000:
                self.key_sets.add(keys)
        day = r.ts[:10]
        if day not in self.days:
            try:
                datetime.strptime(day, "%Y-%m-%d")
            except ValueError:
                return False
            self.days.add(day)
        return True


def decode_line(line: bytes | str, checker: _Checker | None = None) -> Reading:
    """One NDJSON line → Reading, or ValueError (wire.ReadingError) naming what is wrong."""
    checker = checker or _Checker()
    try:
        reading = _one.decode(line)
        if checker.ok(reading):
            return reading
    except msgspec.DecodeError:
        pass
    return from_dict(wire.validate(json.loads(line)))


def decode_lines(
    lines: list[tuple[int, bytes]], checker: _Checker | None = None
) -> Iterator[tuple[int, Reading | None, str]]:
    """(line number, Reading or None, error) for each (number, line). Each line is decoded
    on its own: joining lines into one array would be faster but lets two bad lines pose as
    good ones."""
    checker = checker or _Checker()
    for number, line in lines:
        try:
            yield number, decode_line(line, checker), ""
        except UnicodeDecodeError:
            yield number, None, "line is not UTF-8"
        except json.JSONDecodeError as exc:
            yield number, None, f"line is not JSON: {exc}"
        except (ValueError, RecursionError) as exc:
            yield number, None, str(exc)


def from_dict(reading: dict[str, Any]) -> Reading:
    """A dict that passed `wire.validate` → Reading."""
    try:
        return msgspec.convert(reading, Reading)
    except msgspec.ValidationError as exc:  # pragma: no cover - would mean the two disagree
        raise wire.ReadingError(str(exc)) from None


Checker = _Checker
