"""Batch body formats → validated readings. Pure.

- `ndjson`: one reading per line (ingest/wire.py).
- `csv`: the rice paper's dump layout, header row first:
  `id,timestamp,gateway_id,node_id,temperature,humidity,gas,soil_ph,soil_moisture,gps`
  (header names case-insensitive; any other numeric column is a value; optional `profile`,
  `score`, `label`, `boot`, `seq` columns). `timestamp` is `YYYY-MM-DD hh:mm:ss` UTC; `gps`
  is `"lat, lon"`. Rows carry no boot/seq, so unless given: boot = 0, seq = the row's epoch
  second. An empty cell is a value the sensor did not take (absent, never 0).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice, repeat
from operator import itemgetter
from typing import Any

import msgspec
import numpy as np

from ingest import fastwire, wire
from ingest.fastwire import Reading

Rejected = dict[str, Any]


_NOT_SPACE = re.compile(rb"\S")  # what bytes.strip() keeps
Block = tuple[int, bytes]  # (number of the first line, whole lines each ending with b"\n")


def parse(fmt: str, lines: Iterable[bytes]) -> tuple[list[Reading], list[Rejected]]:
    """Parse a sequence of lines (each item one line, numbered from 1)."""
    if fmt == "ndjson":
        return parse_ndjson(lines)
    if fmt == "csv":
        return parse_csv(lines)
    raise ValueError(f"unknown format {fmt!r}")


def parse_blocks(fmt: str, blocks: Iterable[Block]) -> tuple[list[Reading], list[Rejected]]:
    """Parse a body cut into blocks of whole lines (pipeline._blocks)."""
    if fmt == "ndjson":
        return parse_ndjson_blocks(blocks)
    if fmt == "csv":
        return _parse_csv_blocks(blocks)
    raise ValueError(f"unknown format {fmt!r}")


def _nonblank(block: Block) -> Iterator[tuple[int, bytes]]:
    """(number, line) for the lines of a block that are not blank. Runs of blank lines are
    skipped by C scans (a regex search for the next non-space byte, bytes.count for the
    line numbers), so they cost no Python iteration."""
    number, data = block
    pos = 0 if data.strip() else len(data)
    while found := _NOT_SPACE.search(data, pos):
        start = max(pos, data.rfind(b"\n", pos, found.start()) + 1)
        number += data.count(b"\n", pos, start)
        end = data.index(b"\n", found.start())
        yield number, data[start:end]
        number += 1
        pos = end + 1


def parse_ndjson(lines: Iterable[bytes]) -> tuple[list[Reading], list[Rejected]]:
    items: list[Reading] = []
    rejected: list[Rejected] = []
    checker = fastwire.Checker()
    numbered = ((n, line) for n, line in enumerate(lines, start=1) if line.strip())
    for group in batched(numbered, 1000):
        _decode_group(group, checker, items, rejected)
    return items, rejected


def parse_ndjson_blocks(blocks: Iterable[Block]) -> tuple[list[Reading], list[Rejected]]:
    """Each block in one msgspec call when every line of it is a valid reading (the common
    case); otherwise line by line, so errors are the contract's and name their line."""
    items: list[Reading] = []
    rejected: list[Rejected] = []
    checker = fastwire.Checker()
    for block in blocks:
        whole = fastwire.decode_block(block[1], checker)
        if whole is not None:
            items += whole
        else:
            for group in batched(_nonblank(block), 1000):
                _decode_group(group, checker, items, rejected)
    return items, rejected


def _decode_group(
    group: Iterable[tuple[int, bytes]],
    checker: fastwire.Checker,
    items: list[Reading],
    rejected: list[Rejected],
) -> None:
    for number, reading, error in fastwire.decode_lines(list(group), checker):
        if reading is None:
            rejected.append({"line": number, "error": error})
        else:
            items.append(reading)


def batched(iterable: Iterable[Any], size: int) -> Iterator[tuple[Any, ...]]:
    iterator = iter(iterable)
    while group := tuple(islice(iterator, size)):
        yield group


_FIXED = {"id", "timestamp", "gateway_id", "node_id", "gps", "profile", "label", "boot", "seq"}


def parse_csv(lines: Iterable[bytes]) -> tuple[list[Reading], list[Rejected]]:
    """Line by line: the reference for `parse_blocks("csv", ...)`."""
    parser = _CsvParser()
    for number, line in enumerate(lines, start=1):
        if not parser.line(number, line):
            break
    return parser.items, parser.rejected


def _parse_csv_blocks(blocks: Iterable[Block]) -> tuple[list[Reading], list[Rejected]]:
    """Line by line until the header is read, then each block's rows in one go (one
    `csv.reader`, cached timestamps, one msgspec conversion, the batch checks of
    ingest/fastwire.py); a block with any row in doubt goes line by line, so the verdicts,
    line numbers and errors are `parse_csv`'s (equal by a property test)."""
    parser = _CsvParser()
    for block in blocks:
        lines = list(_nonblank(block))
        start = 0
        while parser.header is None and start < len(lines):
            if not parser.line(*lines[start]):
                return parser.items, parser.rejected
            start += 1
        rest = lines[start:]
        if not rest:
            continue
        fast = parser.fast(rest)
        if fast is not None:
            parser.items += fast
            continue
        for number, line in rest:
            parser.line(number, line)
    return parser.items, parser.rejected


class _CsvParser:
    def __init__(self) -> None:
        self.header: list[str] | None = None
        self.items: list[Reading] = []
        self.rejected: list[Rejected] = []
        self.checker = fastwire.Checker()
        self.days: dict[str, int] = {}  # valid day → its epoch second (fast stamps)

    def line(self, number: int, line: bytes) -> bool:
        """Take one line; False when the body cannot go on (no usable header)."""
        if not line.strip():
            return True
        try:
            text = line.decode().rstrip("\r")
        except UnicodeDecodeError:
            self.rejected.append({"line": number, "error": "line is not UTF-8"})
            return True
        try:
            cells = next(csv.reader(io.StringIO(text), skipinitialspace=True))
        except csv.Error as exc:  # a bare carriage return inside the line; a huge cell
            self.rejected.append({"line": number, "error": f"line is not a CSV row: {exc}"})
            return self.header is not None
        if self.header is None:
            self.header = [c.strip().lower() for c in cells]
            missing = {"id", "timestamp", "gateway_id", "node_id"} - set(self.header)
            if missing:
                self.rejected.append(
                    {"line": number, "error": f"CSV header lacks {sorted(missing)}"}
                )
                return False
            return True
        try:
            reading = csv_row_to_reading(self.header, cells)
            self.items.append(fastwire.from_dict(wire.validate(reading)))
        except ValueError as exc:
            self.rejected.append({"line": number, "error": str(exc)})
        return True

    def fast(self, lines: list[tuple[int, bytes]]) -> list[Reading] | None:
        """Every line a valid row → their readings; None when any is in doubt."""
        header = self.header
        if header is None or len(set(header)) != len(header):
            return None
        try:
            texts = [line.decode().rstrip("\r") for _, line in lines]
            # One reader over the lines; as many rows as lines proves no quoted cell ran
            # on into the next line, so each row is what a reader of its line alone gives.
            rows = list(csv.reader(texts, skipinitialspace=True))
            if len(rows) != len(texts):
                return None
            readings = self._by_columns(header, rows)
            if readings is None:
                dicts = [csv_row_to_reading(header, cells, self._stamp) for cells in rows]
                readings = msgspec.convert(dicts, list[Reading])
        except (UnicodeDecodeError, csv.Error, ValueError, msgspec.ValidationError):
            return None
        return readings if self.checker.all_ok(readings) else None

    def _by_columns(self, header: list[str], rows: list[list[str]]) -> list[Reading] | None:
        """The rows' readings built a column at a time (C loops over each column, numpy for
        the checks `msgspec.convert` would make), or None when a row needs the per-row way:
        a row of another width, an empty cell, a stamp not of the plain form or before 1970.
        Same readings as `csv_row_to_reading` + `msgspec.convert` (a property test holds
        the block parser to the line parser)."""
        n, width = len(rows), len(header)
        if set(map(len, rows)) != {width}:
            return None
        cols = {
            name: list(map(str.strip, col))
            for name, col in zip(header, zip(*rows, strict=True), strict=True)
        }
        if any("" in col for col in cols.values()):
            return None
        stamps = cols["timestamp"]
        joined = "\n".join(stamps)
        if _CSV_TS_ALL.fullmatch(joined) is None:
            return None
        bases = {day: self._day_base(day) for day in set(map(_day, stamps))}
        if None in bases.values():
            return None
        d = np.frombuffer((joined + "\n").encode(), np.uint8).reshape(n, 20).astype(np.int64) - 48
        clock = d[:, 11] * 36000 + d[:, 12] * 3600 + d[:, 14] * 600 + d[:, 15] * 60
        clock += d[:, 17] * 10 + d[:, 18]
        days = np.fromiter(map(bases.__getitem__, map(_day, stamps)), np.int64, n)
        epochs = (days + clock).tolist()
        names = [h for h in header if h not in _FIXED and h != "score"]
        columns = [list(map(float, cols[h])) for h in names]
        if "gps" in cols:
            parts = [cell.split(",") for cell in cols["gps"]]
            if set(map(len, parts)) != {2}:
                return None
            lat, lon = zip(*parts, strict=True)
            columns += [list(map(float, lat)), list(map(float, lon))]
            names += ["lat", "lon"]
        scores = list(map(float, cols["score"])) if "score" in cols else [None] * n
        numbers = columns + ([scores] if "score" in cols else [])
        if len(set(names)) > wire.MAX_VALUES or (
            numbers and not np.isfinite(np.array(numbers, dtype=float)).all()
        ):
            return None
        boots = list(map(int, cols["boot"])) if "boot" in cols else [0] * n
        seqs = list(map(int, cols["seq"])) if "seq" in cols else epochs
        if min(boots + seqs) < 0 or max(boots + seqs) >= 2**32:
            return None
        values = (
            list(map(dict, map(zip, repeat(names), zip(*columns, strict=True))))
            if columns
            else None
        )
        return list(
            map(
                Reading,
                cols["id"],
                map("{}T{}.000Z".format, map(_day, stamps), map(_clock, stamps)),
                cols["gateway_id"],
                cols["node_id"],
                boots,
                seqs,
                values or [{} for _ in range(n)],
                cols.get("profile") or repeat(None),
                scores,
                cols.get("label") or repeat(None),
            )
        )

    def _day_base(self, day: str) -> int | None:
        """The epoch second of `day`'s midnight (cached), None for an invalid day or one
        before 1970."""
        base = self.days.get(day)
        if base is None:
            try:
                base = _stamp(f"{day} 00:00:00")[1]
            except ValueError:
                return None
            if base < 0:
                return None
            if len(self.days) < 10_000:
                self.days[day] = base
        return base

    def _stamp(self, text: str) -> tuple[str, int]:
        """`_stamp` for days from 1970 on, without datetime per row."""
        found = _CSV_TS.fullmatch(text)
        if found is None:
            return _stamp(text)
        day = found[1]
        base = self._day_base(day)
        if base is None:  # the reference: raises for an invalid day, computes one before 1970
            return _stamp(text)
        epoch = base + int(found[2]) * 3600 + int(found[3]) * 60 + int(found[4])
        return f"{day}T{found[2]}:{found[3]}:{found[4]}.000Z", epoch


_CSV_TS = re.compile(r"(\d{4}-\d{2}-\d{2}) ([01]\d|2[0-3]):([0-5]\d):([0-5]\d)")
_ONE_TS = r"[0-9]{4}-[0-9]{2}-[0-9]{2} (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
_CSV_TS_ALL = re.compile(f"{_ONE_TS}(?:\n{_ONE_TS})*+")  # ASCII digits: fixed width
_day = itemgetter(slice(0, 10))
_clock = itemgetter(slice(11, 19))


def _stamp(text: str) -> tuple[str, int]:
    """`YYYY-MM-DD hh:mm:ss` (UTC) → (the reading's ts, its epoch second)."""
    try:
        when = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is not YYYY-MM-DD hh:mm:ss") from None
    return wire.format_ts(when.timestamp()), int(when.timestamp())


def csv_row_to_reading(
    header: list[str], cells: list[str], stamp: Callable[[str], tuple[str, int]] = _stamp
) -> dict[str, Any]:
    if len(cells) != len(header):
        raise ValueError(f"row has {len(cells)} cells, header has {len(header)}")
    row = dict(zip(header, (c.strip() for c in cells), strict=True))
    ts, epoch = stamp(row["timestamp"])
    values: dict[str, float] = {}
    for name, cell in row.items():
        if name in _FIXED or name == "score" or cell == "":
            continue
        values[name] = _number(name, cell)
    if row.get("gps"):
        parts = row["gps"].split(",")
        if len(parts) != 2:
            raise ValueError(f'gps {row["gps"]!r} is not "lat, lon"')
        values["lat"], values["lon"] = _number("gps.lat", parts[0]), _number("gps.lon", parts[1])
    reading: dict[str, Any] = {
        "id": row["id"],
        "ts": ts,
        "gateway_id": row["gateway_id"],
        "node_id": row["node_id"],
        "boot": int(row["boot"]) if row.get("boot") else 0,
        "seq": int(row["seq"]) if row.get("seq") else epoch,
        "values": values,
        "flags": [],
    }
    if row.get("profile"):
        reading["profile"] = row["profile"]
    if row.get("score"):
        reading["score"] = _number("score", row["score"])
    if row.get("label"):
        reading["label"] = row["label"]
    return reading


def _number(name: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"{name} {cell!r} is not a number") from None
    return value
