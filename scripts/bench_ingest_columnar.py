"""Can a columnar ingest reach 5 µs of CPU a reading (200,000 readings/s on one core)?
Each stage measured in this process (no HTTP), beside today's figure for the same stage
measured in the same run.

The layout measured: a batch is parsed into columns at once; the whole batch is either
"valid" (every line is what `wire.validate` accepts, every id canonical, no seq seen
before) or "not sure" (the caller falls back to today's per-line path). Readings are stored
as one SQLite row per (node, boot) group of a batch — (stream, node_id, boot, seq_lo, seq_hi,
ts_lo, ts_hi, n, data BLOB), data an Arrow IPC stream (zstd/lz4) or the NDJSON lines
zstd-compressed — and duplicates are found by seq ranges per stream (gateway, node, boot)
kept in a `seq_ranges` table, instead of one ledger key per reading.

Stages (today's counterpart in brackets):
  1 gunzip            stdlib zlib / isal (ISA-L), bounded          [codecs.decompress]
  2 parse             pyarrow.json / polars / msgspec into columns [msgspec decode_lines]
  3 checks            vectorised Checker.all_ok + gateway = token  [Checker.all_ok]
  4 canonical ids     SHA-1 per reading from a per-stream prefix, compared in bulk with
                      numpy                                         [idledger.is_canonical]
  5 dedupe            per stream: sort, seq intervals, overlap look-up and upsert of
                      seq_ranges                                    [ledger claim]
  6 blocks + write    block building, INSERT of block rows + node summary rows, COMMIT
                      (WAL, synchronous=FULL, index on (node_id, ts_lo))
                                                   [_row + readings INSERT with index]
  7 node summary      last seen, latest reading, counts per node, label and score counts
                      from the columns                              [summary.summarize]
Then the TOTAL and the implied readings/s on one core, and the cost to read a stored block
back into the read API's reading dicts (beside today's `as_stored` per row).

Figures are CPU time (`time.process_time`: user + system of this process, all threads)
per reading, the best of `--repeat` runs over `--readings` readings of the paper's layout
(scripts/bench_ingest.py's generator) in gzip NDJSON batches of 10,000. Arrow and polars
run single-threaded (one server process on a 2-core box; the CPU figure is what counts).
The pipeline runs stage after stage per batch, as a server would, with a CPU timer around
each stage, once per parser: `arrow` (pyarrow.json, explicit schema) and `msgspec` (today's
Reading with unknown fields forbidden, rows then turned into the same Arrow columns); it
uses the fastest bounded gunzip and id check timed in the same run. The alternatives are
timed alone on the same inputs.

Correctness is checked in the run, for both parsers: the columnar path must accept every
synthetic batch, store what it was given (read back and compared with the input), give
the same node summary as summary.summarize, and refuse (fall back on) a batch with one
line corrupted each way: wrong id, string for a number, missing field, unknown field,
ts 2025-02-30, seq 2**32, and a seq already stored. PASS/FAIL per check; exit 1 on any
FAIL. Needs pyarrow and zstandard; isal and polars are optional (skipped when missing).

Usage: nice -n 5 python scripts/bench_ingest_columnar.py [--readings 100000] [--repeat 3]
           [--json OUT]
"""

from __future__ import annotations

import _sha1 as _sha1_module
import argparse
import gc
import hashlib
import io
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from operator import attrgetter, methodcaller
from pathlib import Path
from typing import Any

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # before polars is imported

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.json as pj
import zstandard

try:
    from isal import igzip, isal_zlib
except ImportError:  # pragma: no cover - optional
    igzip = isal_zlib = None
try:
    import polars as pl
except ImportError:  # pragma: no cover - optional
    pl = None

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_ingest import chunks, paper_readings  # noqa: E402
from bench_ingest_floor import claim_all  # noqa: E402

from ingest import codecs, fastwire, wire  # noqa: E402
from ingest.pipeline import MAX_LINE  # noqa: E402
from ingest.stores import idledger, summary  # noqa: E402

TARGET = 200_000  # readings/s on one core: the only figure not measured here
BATCH = 10_000
GATEWAY = "gw-bench"
LIMIT = 256 * 2**20  # decompressed bytes, as codecs.decompress
NAMESPACE = wire.READING_NAMESPACE.bytes
_sha1 = hashlib.sha1
_builtin_sha1 = _sha1_module.sha1
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# RE2 (Arrow): \d is ASCII only, stricter than Python's str \d, so it can only send more
# batches to the fallback, never accept one that wire.validate refuses.
_TS_RE2 = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z$"
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DASHES = (8, 13, 18, 23)
_HEX_COLS = np.array([i for i in range(36) if i not in _DASHES])
pa.set_cpu_count(1)
pa.set_io_thread_count(1)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class NotSure(Exception):
    """The columnar path cannot vouch for this batch: fall back to the per-line path."""


# ---------------------------------------------------------------- 1 gunzip


def gunzip(body: bytes, module: Any = zlib, limit: int = LIMIT) -> bytes:
    """One-shot gunzip of every member, bounded like codecs.decompress (TooLarge past
    `limit`), refusing a cut member or trailing garbage."""
    out, total, data = [], 0, body
    while data:
        d = module.decompressobj(wbits=31)
        try:
            chunk = d.decompress(data, limit - total + 1)
        except Exception as exc:
            raise codecs.DecodeError(f"body is not valid gzip: {exc}") from None
        total += len(chunk)
        if total > limit:
            raise codecs.TooLarge(f"decompressed body exceeds {limit} bytes")
        if not d.eof:
            raise codecs.DecodeError("the body ends inside a gzip member (truncated)")
        out.append(chunk)
        data = d.unused_data
    return b"".join(out)


# ---------------------------------------------------------------- 2 parse


def structure_ok(block: bytes, nulls: bool = False) -> bool:
    """fastwire.decode_block's guard, by numpy: `{...}` lines only (each newline preceded
    by `}` and, but the last, followed by `{`), so as many rows as lines means one JSON
    object per line (pyarrow reads `{..}{..}` on one line as two rows); no line longer
    than pipeline.MAX_LINE. And no `null` anywhere: Arrow cannot tell `"x": null` (refused
    by wire.validate for values, flags and the required fields) from an absent key
    (allowed), so a batch with a null takes the fallback (`nulls`: msgspec can tell)."""
    a = np.frombuffer(block, dtype=np.uint8)
    if not len(a) or a[0] != 0x7B:
        return False
    nl = np.flatnonzero(a == 0x0A)
    if not len(nl) or nl[-1] != len(a) - 1:
        return False
    if not (np.all(a[nl - 1] == 0x7D) and np.all(a[nl[:-1] + 1] == 0x7B)):
        return False
    if max(int(nl[0]), int(np.diff(nl).max(initial=0))) > MAX_LINE:
        return False
    if nulls:
        return True
    n = np.flatnonzero(a[:-3] == 0x6E)  # every "n": is it the start of "null"?
    return not np.any((a[n + 1] == 0x75) & (a[n + 2] == 0x6C) & (a[n + 3] == 0x6C))


TOP = {
    "id": pa.string(),
    "ts": pa.string(),
    "gateway_id": pa.string(),
    "node_id": pa.string(),
    "profile": pa.string(),
    "boot": pa.int64(),
    "seq": pa.int64(),
    "score": pa.float64(),
    "label": pa.string(),
    "flags": pa.list_(pa.string()),
}
REQUIRED = ("id", "ts", "gateway_id", "node_id", "boot", "seq", "values")


def schema_for(keys: dict[str, pa.DataType]) -> pa.Schema:
    fields = [pa.field(k, t) for k, t in TOP.items()]
    fields.insert(7, pa.field("values", pa.struct(list(keys.items()))))
    return pa.schema(fields)


class ArrowParser:
    """pyarrow.json.read_json with an explicit schema and unexpected fields → error. The
    values object's keys vary by profile: the schema's `values` struct holds the keys seen
    so far (each checked against the name pattern once); a batch with a new key is read
    once with inference to learn it (numbers only), then again with the strict schema."""

    def __init__(self) -> None:
        self.keys: dict[str, pa.DataType] = {}
        self._build()

    def _build(self) -> None:
        self.schema = schema_for(self.keys)
        self.options = pj.ParseOptions(
            explicit_schema=self.schema, unexpected_field_behavior="error"
        )

    def _read(self, block: bytes, options: pj.ParseOptions) -> pa.Table:
        # One Arrow block for the whole batch (measured: 1 MiB blocks cost ~15 % more).
        read = pj.ReadOptions(use_threads=False, block_size=max(len(block) + 1, 2**20))
        return pj.read_json(io.BytesIO(block), read_options=read, parse_options=options)

    def parse(self, block: bytes) -> pa.Table:
        if not structure_ok(block):
            raise NotSure("structure")
        try:
            table = self._read(block, self.options)
        except pa.ArrowInvalid as exc:
            if "unexpected field" not in str(exc) or not self._learn(block):
                raise NotSure(f"arrow: {exc}") from None
            try:
                table = self._read(block, self.options)
            except pa.ArrowInvalid as exc2:
                raise NotSure(f"arrow: {exc2}") from None
        if table.num_rows != block.count(b"\n"):
            raise NotSure("rows != lines")
        return table

    def _learn(self, block: bytes) -> bool:
        """New value keys: inferred once, kept if every one is a number named by the
        pattern. An unexpected top-level field is not learnt (False)."""
        loose = pj.ParseOptions(explicit_schema=self.schema, unexpected_field_behavior="infer")
        try:
            table = self._read(block, loose)
        except pa.ArrowInvalid:
            return False
        if table.schema.names != self.schema.names:
            return False
        new = table.schema.field("values").type
        changed = False
        for f in new:
            if f.name in self.keys:
                continue
            if not (pa.types.is_floating(f.type) or pa.types.is_integer(f.type)):
                return False
            if _NAME.fullmatch(f.name) is None or len(self.keys) >= 10_000:
                return False
            self.keys[f.name] = pa.float64()  # ints are read as doubles, as msgspec Number
            changed = True
        if changed:
            self._build()
        return changed


def polars_schema(keys: list[str]) -> dict[str, Any]:
    t = {pa.string(): pl.String, pa.int64(): pl.Int64, pa.float64(): pl.Float64}
    out: dict[str, Any] = {}
    for k, v in TOP.items():
        out[k] = pl.List(pl.String) if k == "flags" else t[v]
        if k == "seq":
            out["values"] = pl.Struct({key: pl.Float64 for key in keys})
    return out


def polars_parse(block: bytes, schema: dict[str, Any]) -> Any:
    return pl.read_ndjson(io.BytesIO(block), schema=schema)


class StrictReading(fastwire.Reading, forbid_unknown_fields=True):
    """Today's Reading, but an unknown field is an error (the batch falls back) instead of
    being dropped."""


_values_of = attrgetter("values")


class MsgspecParser:
    """msgspec into rows (today's types and ranges, checked in C; it tells null from
    absent; unknown fields are errors), `values` decoded into a Struct of the known keys
    (cheaper than a dict, and an unknown key is an error), then the rows into the same
    Arrow columns as ArrowParser. A batch with a new value key is decoded once with dict
    values to learn it (names checked), then again."""

    def __init__(self) -> None:
        self.loose = msgspec.json.Decoder(StrictReading)
        self.keys: list[str] = []
        self._build()

    def _build(self) -> None:
        self.schema = schema_for(dict.fromkeys(self.keys, pa.float64()))
        self.decoder = struct_values_decoder(self.keys)
        self.top = [k for k in self.schema.names if k != "values"]

    def _learn(self, block: bytes) -> bool:
        try:
            rows = self.loose.decode_lines(block)
        except (msgspec.DecodeError, RecursionError):
            return False
        new = {k for r in rows for k in r.values if k not in self.keys}
        if not new or not all(_NAME.fullmatch(k) for k in new):
            return False
        self.keys += sorted(new)
        self._build()
        return True

    def parse(self, block: bytes) -> pa.Table:
        if not structure_ok(block, nulls=True):
            raise NotSure("structure")
        try:
            rows = self.decoder.decode_lines(block)
        except (msgspec.DecodeError, RecursionError) as exc:
            if not self._learn(block):
                raise NotSure(f"msgspec: {exc}") from None
            try:
                rows = self.decoder.decode_lines(block)
            except (msgspec.DecodeError, RecursionError) as exc2:
                raise NotSure(f"msgspec: {exc2}") from None
        if len(rows) != block.count(b"\n"):
            raise NotSure("rows != lines")
        if len(self.keys) > wire.MAX_VALUES:  # a row could hold too many: not checked here
            raise NotSure("more value keys known than one reading may hold")
        cols = {k: pa.array(list(map(attrgetter(k), rows)), TOP[k]) for k in self.top}
        vals = list(map(_values_of, rows))
        children = [pa.array(list(map(attrgetter(k), vals)), pa.float64()) for k in self.keys]
        cols["values"] = pa.StructArray.from_arrays(
            children, fields=list(self.schema.field("values").type)
        )
        return pa.table(cols, schema=self.schema)


def struct_values_decoder(keys: list[str]) -> msgspec.json.Decoder:
    """StrictReading with `values` a Struct of the known keys (each absent → None; an
    explicit null is still refused, msgspec does not check defaults) instead of a dict:
    a Struct is cheaper to build than a dict. Timed as an alternative only (rows, not
    columns; with more than MAX_VALUES keys known it would need a per-row count too)."""
    values = msgspec.defstruct(
        "Values", [(k, fastwire.Number, None) for k in keys], forbid_unknown_fields=True, gc=False
    )
    fields = [("id", str), ("ts", str), ("gateway_id", str), ("node_id", str),
              ("boot", fastwire.U32), ("seq", fastwire.U32), ("values", values),
              ("profile", str | None, None), ("score", fastwire.Number | None, None),
              ("label", str | None, None), ("flags", list[str], [])]  # fmt: skip
    reading = msgspec.defstruct("R", fields, forbid_unknown_fields=True, gc=False)
    return msgspec.json.Decoder(reading)


def msgspec_columns(block: bytes, schema: pa.Schema) -> pa.Table:
    """Today's decoder, then its rows turned into the same Arrow columns (no checks)."""
    rows = fastwire._one.decode_lines(block)
    return pa.table({k: list(map(attrgetter(k), rows)) for k in schema.names}, schema=schema)


# ---------------------------------------------------------------- 3 checks


class Checks:
    """What Checker.all_ok and wire.validate check, on Arrow columns, plus the token's
    gateway. Names, days and value keys repeat: each distinct one is checked once
    (fastwire's cache)."""

    def __init__(self) -> None:
        self.checker = fastwire.Checker()
        self.keys_ok: set[tuple[str, ...]] = set()

    def run(self, t: pa.Table, gateway: str) -> None:
        for name in REQUIRED:
            if t.column(name).null_count:
                raise NotSure(f"{name} missing")
        values = t.column("values").combine_chunks()
        keys = tuple(f.name for f in values.type)
        if keys not in self.keys_ok:
            if not all(map(self.checker.name, keys)):
                raise NotSure("value name")
            self.keys_ok.add(keys)
        if len(keys) > wire.MAX_VALUES:  # more keys in the schema than one reading may have
            present = sum(
                pc.cast(pc.is_valid(values.field(i)), pa.int64()) for i in range(len(keys))
            )
            if pc.max(present).as_py() > wire.MAX_VALUES:
                raise NotSure("too many values")
        # min_count=0: a column all null (a key of another profile, scores all absent) is
        # fine; nulls here are absent keys (structure_ok, msgspec).
        for i in range(len(keys)):
            if not pc.all(pc.is_finite(values.field(i)), min_count=0).as_py():
                raise NotSure("value not finite")
        if not pc.all(pc.is_finite(t.column("score")), min_count=0).as_py():
            raise NotSure("score not finite")
        for name in ("boot", "seq"):
            lo, hi = pc.min_max(t.column(name)).values()
            if lo.as_py() < 0 or hi.as_py() >= 2**32:
                raise NotSure(f"{name} not u32")
        ts = t.column("ts")
        if not pc.all(pc.match_substring_regex(ts, _TS_RE2)).as_py():
            raise NotSure("ts pattern")
        days = pc.unique(pc.utf8_slice_codeunits(ts, 0, 10)).to_pylist()
        if not all(map(self.checker.day, set(days) - self.checker.days)):
            raise NotSure("ts day")
        gateways = pc.unique(t.column("gateway_id")).to_pylist()
        if gateways != [gateway] or not self.checker.name(gateway):
            raise NotSure("gateway")
        names = pc.unique(t.column("node_id")).to_pylist()
        names += [p for p in pc.unique(t.column("profile")).to_pylist() if p is not None]
        if not all(map(self.checker.name, names)):
            raise NotSure("name")
        # label: a string or absent (Arrow's type); flags: a list of strings (type), and a
        # null one can only be an absent one (structure_ok refused `null`).


# ---------------------------------------------------------------- 4 canonical ids


class Streams:
    """The batch's streams (one gateway, checked): node and boot per row → a stream code,
    and the seqs as numpy."""

    def __init__(self, t: pa.Table, gateway: str) -> None:
        nodes = t.column("node_id").combine_chunks().dictionary_encode()
        node_code = nodes.indices.to_numpy().astype(np.int64)
        boot = t.column("boot").to_numpy()
        boots, boot_code = np.unique(boot, return_inverse=True)
        pair = node_code * len(boots) + boot_code
        pairs, self.code = np.unique(pair, return_inverse=True)
        node_names = nodes.dictionary.to_pylist()
        self.keys = [
            (gateway, node_names[p // len(boots)], int(boots[p % len(boots)])) for p in pairs
        ]
        self.seq = t.column("seq").to_numpy()
        self.n = len(self.seq)


def _prefixes(streams: Streams) -> list[bytes]:
    return [NAMESPACE + f"{g}/{n}/{b}/".encode() for g, n, b in streams.keys]


def digests_copy(streams: Streams) -> bytes:
    """SHA-1 state after namespace + "gw/node/boot/" per stream, `.copy()`'d per reading."""
    states = [_sha1(p) for p in _prefixes(streams)]
    out = []
    append = out.append
    for code, seq in zip(streams.code.tolist(), streams.seq.tolist(), strict=True):
        h = states[code].copy()
        h.update(b"%d" % seq)
        append(h.digest())
    return b"".join(out)


def digests_map(streams: Streams) -> bytes:
    """One sha1() per message, messages built by a comprehension, digests by map()."""
    p = _prefixes(streams)
    msgs = [
        p[c] + b"%d" % s for c, s in zip(streams.code.tolist(), streams.seq.tolist(), strict=True)
    ]
    return b"".join(map(methodcaller("digest"), map(_sha1, msgs)))


def digests_builtin(streams: Streams) -> bytes:
    """digests_map with CPython's own SHA-1 (`_sha1`, HACL*) instead of OpenSSL's, whose
    per-object set-up costs more than hashing a one-block message."""
    p = _prefixes(streams)
    msgs = [
        p[c] + b"%d" % s for c, s in zip(streams.code.tolist(), streams.seq.tolist(), strict=True)
    ]
    return b"".join(map(methodcaller("digest"), map(_builtin_sha1, msgs)))


def digests_arrow(streams: Streams) -> bytes:
    """Messages joined by Arrow compute (prefix column + seq cast to string)."""
    prefixes = pa.array(_prefixes(streams), pa.binary()).take(pa.array(streams.code))
    seqs = pc.cast(pc.cast(pa.array(streams.seq), pa.string()), pa.binary())
    msgs = pc.binary_join_element_wise(prefixes, seqs, b"").to_pylist()
    return b"".join(map(methodcaller("digest"), map(_sha1, msgs)))


DIGESTS = {
    "hashlib copy() per reading": digests_copy,
    "sha1() per message, map()": digests_map,
    "_sha1 (CPython builtin) per message": digests_builtin,
    "arrow-built messages, map()": digests_arrow,
}
GUNZIPS = {"zlib (stdlib, one-shot bounded)": zlib}
if isal_zlib is not None:
    GUNZIPS["isal_zlib (one-shot bounded)"] = isal_zlib


def uuid_bytes(digests: bytes, n: int) -> np.ndarray:
    """(n, 16) uint8: the first 16 bytes of each SHA-1 with the uuid5 version and variant."""
    d = np.frombuffer(digests, dtype=np.uint8).reshape(n, 20)[:, :16].copy()
    d[:, 6] = d[:, 6] & 0x0F | 0x50
    d[:, 8] = d[:, 8] & 0x3F | 0x80
    return d


def uuid_text(u: np.ndarray) -> np.ndarray:
    """(n, 36) uint8: str(uuid.UUID(bytes=row)) for each row, lower-case hex with dashes."""
    n = len(u)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[u >> 4]
    hexed[:, 1::2] = _HEX[u & 0x0F]
    out[:, _HEX_COLS] = hexed
    return out


def fixed_width(column: pa.ChunkedArray, width: int) -> np.ndarray | None:
    """The strings of `column` as an (n, width) uint8 view, or None unless each is `width`
    bytes long."""
    arr = column.combine_chunks()
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + n + 1]
    if not np.all(np.diff(offsets) == width):
        return None
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return data.reshape(n, width)


def canonical(t: pa.Table, streams: Streams, digests: Callable[[Streams], bytes]) -> np.ndarray:
    """Every id == wire.reading_id(gw, node, boot, seq), exactly (text compared byte for
    byte); returns the (n, 16) uuid bytes."""
    ids = fixed_width(t.column("id"), 36)
    if ids is None:
        raise NotSure("id length")
    u = uuid_bytes(digests(streams), streams.n)
    if not np.array_equal(ids, uuid_text(u)):
        raise NotSure("id not canonical")
    return u


# ---------------------------------------------------------------- 5 dedupe by seq ranges

SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    stream INTEGER PRIMARY KEY,
    gateway_id TEXT NOT NULL, node_id TEXT NOT NULL, boot INTEGER NOT NULL,
    UNIQUE (gateway_id, node_id, boot)
);
CREATE TABLE IF NOT EXISTS seq_ranges (
    stream INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,
    PRIMARY KEY (stream, lo)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (
    bid INTEGER PRIMARY KEY,
    stream INTEGER NOT NULL, node_id TEXT NOT NULL, boot INTEGER NOT NULL,
    seq_lo INTEGER NOT NULL, seq_hi INTEGER NOT NULL,
    ts_lo TEXT NOT NULL, ts_hi TEXT NOT NULL, n INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS blocks_node_ts ON blocks (node_id, ts_lo);
"""


def open_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA + summary.SCHEMA + BATCHES)
    return db


class Plan:
    """Rows of the batch in (stream, seq) order, each stream's run, its seq intervals."""

    def __init__(self, streams: Streams) -> None:
        key = streams.code.astype(np.int64) << 32 | streams.seq
        self.order = np.argsort(key, kind="stable")
        k = key[self.order]
        if len(k) > 1 and not np.all(np.diff(k) > 0):
            raise NotSure("seq repeated inside the batch")
        code = streams.code[self.order]
        seq = streams.seq[self.order]
        cut = np.flatnonzero(np.diff(code)) + 1
        self.runs = list(zip([0, *cut.tolist()], [*cut.tolist(), len(k)], strict=True))
        self.keys = streams.keys
        self.intervals = []
        for start, end in self.runs:
            s = seq[start:end]
            gaps = np.flatnonzero(np.diff(s) != 1) + 1
            lo = s[np.r_[0, gaps]].tolist()
            hi = s[np.r_[gaps - 1, len(s) - 1]].tolist()
            self.intervals.append(list(zip(lo, hi, strict=True)))


def stream_ids(db: sqlite3.Connection, keys: list[tuple[str, str, int]]) -> list[int]:
    out = []
    for key in keys:
        row = db.execute(
            "SELECT stream FROM streams WHERE gateway_id = ? AND node_id = ? AND boot = ?", key
        ).fetchone()
        if row is None:
            row = (
                db.execute(
                    "INSERT INTO streams (gateway_id, node_id, boot) VALUES (?, ?, ?)", key
                ).lastrowid,
            )
        out.append(row[0])
    return out


def dedupe(db: sqlite3.Connection, plan: Plan) -> list[int]:
    """Inside the write transaction: NotSure if any seq of the batch is stored already;
    otherwise record the batch's intervals (merged with touching ones) and return the
    stream numbers. Stored ranges of a stream are disjoint, so the one with the greatest
    lo ≤ the batch's last seq is the only one that can overlap the batch's hull."""
    ids = stream_ids(db, plan.keys)
    for stream, intervals in zip(ids, plan.intervals, strict=True):
        lo, hi = intervals[0][0], intervals[-1][1]
        row = db.execute(
            "SELECT lo, hi FROM seq_ranges WHERE stream = ? AND lo <= ? ORDER BY lo DESC LIMIT 1",
            (stream, hi),
        ).fetchone()
        if row is not None and row[1] >= lo:  # within the hull: compare interval by interval
            stored = db.execute(
                "SELECT lo, hi FROM seq_ranges WHERE stream = ? AND lo <= ? AND hi >= ?",
                (stream, hi, lo),
            ).fetchall()
            for a, b in intervals:
                if any(a <= d and c <= b for c, d in stored):
                    raise NotSure("seq already stored")
        for a, b in intervals:
            before = db.execute(
                "SELECT lo, hi FROM seq_ranges WHERE stream = ? AND lo < ?"
                " ORDER BY lo DESC LIMIT 1",
                (stream, a),
            ).fetchone()
            if before is not None and before[1] != a - 1:
                before = None
            after = db.execute(
                "SELECT hi FROM seq_ranges WHERE stream = ? AND lo = ?", (stream, b + 1)
            ).fetchone()
            if after is not None:
                db.execute("DELETE FROM seq_ranges WHERE stream = ? AND lo = ?", (stream, b + 1))
                b = after[0]
            if before is not None:
                db.execute(
                    "UPDATE seq_ranges SET hi = ? WHERE stream = ? AND lo = ?",
                    (b, stream, before[0]),
                )
            else:
                db.execute("INSERT INTO seq_ranges VALUES (?, ?, ?)", (stream, a, b))
    return ids


# ---------------------------------------------------------------- 6 blocks + write

STORED = ["ts", "profile", "seq", "values", "score", "label", "flags"]  # + id as 16 bytes
_zstd = zstandard.ZstdCompressor(level=1)
_unzstd = zstandard.ZstdDecompressor()


def arrow_blocks(
    t: pa.Table, plan: Plan, u: np.ndarray, codec: str
) -> list[tuple[pa.Table, bytes]]:
    """Per stream: its rows in seq order as an Arrow IPC stream (gateway, node, boot are
    the block row's; the id as its 16 uuid bytes)."""
    order = pa.array(plan.order)
    s = t.select(STORED).take(order)
    ids = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(u), [None, pa.py_buffer(u[plan.order].tobytes())]
    )
    s = s.append_column("uuid", ids)
    options = ipc.IpcWriteOptions(compression=codec)
    out = []
    for start, end in plan.runs:
        part = s.slice(start, end - start)
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, part.schema, options=options) as writer:
            writer.write_table(part)
        out.append((part, sink.getvalue().to_pybytes()))
    return out


def ndjson_blocks(block: bytes, plan: Plan, t: pa.Table) -> list[tuple[pa.Table, bytes]]:
    """Per stream: the validated NDJSON lines themselves, in seq order, zstd level 1."""
    lines = block.split(b"\n")
    order = plan.order.tolist()
    out = []
    for start, end in plan.runs:
        data = b"\n".join([lines[i] for i in order[start:end]])
        out.append((t.take(pa.array(plan.order[start:end])).select(["ts"]), _zstd.compress(data)))
    return out


def write(
    db: sqlite3.Connection,
    plan: Plan,
    ids: list[int],
    blocks: list[tuple[pa.Table, bytes]],
    nodes_summary: summary.Summary,
) -> None:
    rows = []
    for (_gw, node, boot), stream, (start, end), (part, data) in zip(
        plan.keys, ids, plan.runs, blocks, strict=True
    ):
        lo_ts, hi_ts = pc.min_max(part.column("ts")).values()
        interval = plan.intervals[len(rows)]
        rows.append((stream, node, boot, interval[0][0], interval[-1][1],
                     lo_ts.as_py(), hi_ts.as_py(), end - start, data))  # fmt: skip
    db.executemany("INSERT INTO blocks VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    summary.apply(db, nodes_summary)


# ---------------------------------------------------------------- 7 node summary


def columnar_summary(t: pa.Table) -> summary.Summary:
    """summary.summarize from the columns: per node the newest reading (first of equal ts
    in batch order), its count; label and score-bucket counts."""
    nodes = t.column("node_id").combine_chunks().dictionary_encode()
    code = nodes.indices.to_numpy()
    ts = fixed_width(t.column("ts"), 24)
    stamps = ts.view("S24").ravel() if ts is not None else np.array(t.column("ts").to_pylist())
    counts = np.bincount(code)
    rows = []
    for k, node in enumerate(nodes.dictionary.to_pylist()):
        where = np.flatnonzero(code == k)
        j = int(where[np.argmax(stamps[where])])
        r = t.slice(j, 1).to_pylist()[0]
        r["values"] = {key: v for key, v in r["values"].items() if v is not None}
        r["flags"] = r["flags"] or []
        r = {k2: v for k2, v in r.items() if v is not None}
        rows.append((node, r["gateway_id"], r.get("profile"), r["ts"],
                     msgspec.json.encode(r).decode(), int(counts[k])))  # fmt: skip
    labels = pc.value_counts(pc.fill_null(t.column("label"), "none"))
    label_rows = [(d["values"], d["counts"]) for d in labels.to_pylist()]
    score = t.column("score").drop_null().to_numpy()
    buckets = np.clip(np.floor_divide(score, 10), 0, 9).astype(np.int64) * 10
    b, c = np.unique(buckets, return_counts=True)
    return rows, label_rows, list(zip(b.tolist(), c.tolist(), strict=True))


# ---------------------------------------------------------------- read back


def read_arrow_block(data: bytes, gw: str, node: str, boot: int) -> list[dict[str, Any]]:
    """One stored block → the read API's reading dicts (as_stored's keys)."""
    t = ipc.open_stream(data).read_all()
    n = t.num_rows
    u = np.frombuffer(t.column("uuid").combine_chunks().buffers()[1], dtype=np.uint8)
    text = uuid_text(u[: n * 16].reshape(n, 16)).tobytes()
    ids = pa.Array.from_buffers(
        pa.string(),
        n,
        [
            None,
            pa.py_buffer(np.arange(0, 36 * n + 1, 36, dtype=np.int32)),
            pa.py_buffer(text),
        ],
    ).to_pylist()
    values = t.column("values").combine_chunks()
    keys = [f.name for f in values.type]
    cols = [values.field(i).to_pylist() for i in range(len(keys))]
    if all(values.field(i).null_count == 0 for i in range(len(keys))):
        vals = [dict(zip(keys, row, strict=True)) for row in zip(*cols, strict=True)]
    else:
        vals = [
            {k: v for k, v in zip(keys, row, strict=True) if v is not None}
            for row in zip(*cols, strict=True)
        ]
    flags = [f or [] for f in t.column("flags").to_pylist()]
    return [
        {
            "id": i,
            "ts": ts,
            "gateway_id": gw,
            "node_id": node,
            "profile": p,
            "boot": boot,
            "seq": s,
            "values": v,
            "score": sc,
            "label": la,
            "flags": f,
        }
        for i, ts, p, s, v, sc, la, f in zip(
            ids,
            t.column("ts").to_pylist(),
            t.column("profile").to_pylist(),
            t.column("seq").to_pylist(),
            vals,
            t.column("score").to_pylist(),
            t.column("label").to_pylist(),
            flags,
            strict=True,
        )
    ]


_KEYS = ("id", "ts", "gateway_id", "node_id", "profile", "boot", "seq", "values", "score",
         "label", "flags")  # fmt: skip
_as_dicts = msgspec.json.Decoder(list[dict[str, Any]])


def read_ndjson_block(data: bytes) -> list[dict[str, Any]]:
    raw = _unzstd.decompress(data)
    out = _as_dicts.decode(b"[" + raw.replace(b"\n", b",") + b"]")
    return [{k: r.get(k, [] if k == "flags" else None) for k in _KEYS} for r in out]


# ---------------------------------------------------------------- the pipeline


class Columnar:
    def __init__(
        self, db: sqlite3.Connection, fmt: str = "arrow-zstd", parser: str = "arrow"
    ) -> None:
        self.db, self.fmt = db, fmt
        self.parser = ArrowParser() if parser == "arrow" else MsgspecParser()
        self.gunzip = list(GUNZIPS)[-1]  # isal when installed; main() sets the fastest
        self.digests = "hashlib copy() per reading"
        self.checks = Checks()
        self.timings: Counter[str] = Counter()

    def ingest(self, body: bytes, gateway: str) -> int:
        """Store one gzip NDJSON batch; NotSure (nothing stored) when the per-line path
        must take it."""
        clock = self.timings
        t0 = time.process_time()
        block = gunzip(body, GUNZIPS[self.gunzip])
        t1 = time.process_time()
        table = self.parser.parse(block)
        t2 = time.process_time()
        self.checks.run(table, gateway)
        t3 = time.process_time()
        streams = Streams(table, gateway)
        u = canonical(table, streams, DIGESTS[self.digests])
        t4 = time.process_time()
        plan = Plan(streams)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            ids = dedupe(self.db, plan)
            t5 = time.process_time()
            nodes_summary = columnar_summary(table)
            t6 = time.process_time()
            if self.fmt == "ndjson-zstd":
                blocks = ndjson_blocks(block, plan, table)
            else:
                blocks = arrow_blocks(table, plan, u, self.fmt.split("-")[1])
            write(self.db, plan, ids, blocks, nodes_summary)
            self.db.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?)",
                (os.urandom(16).hex(), gateway, time.time(), json.dumps({"accepted": len(u)})),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        t7 = time.process_time()
        for name, dt in (("1", t1 - t0), ("2", t2 - t1), ("3", t3 - t2), ("4", t4 - t3),
                         ("5", t5 - t4), ("7", t6 - t5), ("6", t7 - t6)):  # fmt: skip
            clock[name] += dt
        return table.num_rows


# ---------------------------------------------------------------- today's design, frozen
# The design this benchmark is set against — a row per reading, a ledger key per reading —
# as bench_ingest_floor.py measured it at commit a96f84c (ingest/stores/sqlite.py `_row`,
# `_SCHEMA`, `_INSERT`; ingest/stores/idledger.py format 2 `is_canonical`, `prepare`,
# `claim`'s all-new path; sqlite_queries.as_stored). Copied here, because those modules are
# being changed towards a block layout: this column must stay the old design.

OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    rid INTEGER PRIMARY KEY, id TEXT NOT NULL, gateway_id TEXT NOT NULL,
    node_id TEXT NOT NULL, profile TEXT, ts TEXT NOT NULL, boot INTEGER NOT NULL,
    seq INTEGER NOT NULL, score REAL, label TEXT, vals TEXT NOT NULL, flags TEXT
);
CREATE INDEX IF NOT EXISTS readings_node_ts ON readings (node_id, ts);
"""
OLD_INSERT = "INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
OLD_LEDGER = """
CREATE TABLE IF NOT EXISTS reading_ids (h INTEGER PRIMARY KEY, id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS streams (
    stream INTEGER PRIMARY KEY, gateway_id TEXT NOT NULL, node_id TEXT NOT NULL,
    boot INTEGER NOT NULL, UNIQUE (gateway_id, node_id, boot)
);
"""
BATCHES = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, received REAL NOT NULL,
    result TEXT NOT NULL
);
"""
_encode = msgspec.json.encode


def old_row(r: fastwire.Reading) -> tuple:
    flags = _encode(r.flags).decode() if r.flags else None
    return (None, r.id, r.gateway_id, r.node_id, r.profile, r.ts, r.boot, r.seq, r.score,
            r.label, _encode(r.values).decode(), flags)  # fmt: skip


def old_is_canonical(r: fastwire.Reading) -> bool:
    name = f"{r.gateway_id}/{r.node_id}/{r.boot}/{r.seq}".encode()
    d = bytearray(_sha1(NAMESPACE + name).digest()[:16])
    d[6] = d[6] & 0x0F | 0x50
    d[8] = d[8] & 0x3F | 0x80
    x = d.hex()
    return r.id == f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def old_prepare(items: list[fastwire.Reading]) -> tuple[list, list]:
    unique = list({r.id: r for r in items}.values())
    return unique, [None if old_is_canonical(r) else -1 - idledger.id_hash(r.id) for r in unique]


def old_claim(db: sqlite3.Connection, prepared: tuple[list, list]) -> list[int] | None:
    """Format 2's all-new path: a key per reading (stream << 32 | seq), INSERT OR IGNORE."""
    unique, hashed = prepared
    streams: dict[tuple[str, str, int], int] = {}
    for r, h in zip(unique, hashed, strict=True):
        if h is None:
            streams.setdefault((r.gateway_id, r.node_id, r.boot), 0)
    streams = dict(zip(streams, stream_ids(db, list(streams)), strict=True))
    keys = [streams[(r.gateway_id, r.node_id, r.boot)] << 32 | r.seq if h is None else h
            for r, h in zip(unique, hashed, strict=True)]  # fmt: skip
    before = db.total_changes
    db.executemany("INSERT OR IGNORE INTO reading_ids VALUES (?, ?)",
                   zip(keys, (r.id for r in unique), strict=True))  # fmt: skip
    return None if db.total_changes - before == len(unique) else []


_OLD_KEYS = ("id", "ts", "gateway_id", "node_id", "profile", "boot", "seq", "values", "score",
             "label", "flags")  # fmt: skip


def old_as_stored(row: tuple) -> dict[str, Any]:
    out = dict(zip(_OLD_KEYS, row, strict=True))
    out["values"] = json.loads(out["values"])
    out["flags"] = json.loads(out["flags"]) if out["flags"] else []
    return out


# ---------------------------------------------------------------- measuring


def best(repeat: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return min(times)


def old_figures(
    args: argparse.Namespace, bodies: list[bytes], batches: list[bytes], work: Path, n: int
) -> dict[str, float]:
    """Today's stages as bench_ingest_floor.py measures them (its stages live inside its
    main(), so they are re-measured here with the same calls)."""
    decoded = [fastwire._one.decode_lines(b) for b in batches]
    flat = [r for batch in decoded for r in batch]
    rows = [old_row(r) for r in flat]
    checker = fastwire.Checker()

    def insert() -> None:
        db = sqlite3.connect(work / f"old{time.monotonic_ns()}.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(OLD_SCHEMA)
        for start in range(0, n, BATCH):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(OLD_INSERT, rows[start : start + BATCH])
            db.execute("COMMIT")
        db.close()

    def ledger() -> None:
        db = sqlite3.connect(work / f"ledger{time.monotonic_ns()}.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(OLD_LEDGER)
        claim_all(db, decoded, old_prepare, old_claim)
        db.close()

    stages = {
        "1": lambda: [codecs.decompress(b, "gzip") for b in bodies],
        "2": lambda: [fastwire._one.decode_lines(b) for b in batches],
        "3": lambda: [checker.all_ok(b) for b in decoded],
        "4": lambda: [old_is_canonical(r) for r in flat],
        "5": ledger,
        "6a": lambda: [old_row(r) for r in flat],
        "6b": insert,
        "7": lambda: [summary.summarize(b) for b in decoded],
    }

    def head_ledger() -> None:
        """The project's ledger as committed now (idledger.FORMAT), for reference."""
        db = sqlite3.connect(work / f"head{time.monotonic_ns()}.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        idledger.setup(db)
        claim_all(db, decoded)
        db.close()

    out = {}
    for key, run in stages.items():
        log(f"  old stage {key} ...")
        out[key] = best(args.repeat, run) / n * 1e6
    try:  # reference only, never summed: the module is being changed while this is written
        out["head_ledger"] = best(args.repeat, head_ledger) / n * 1e6
        out["head_format"] = float(idledger.FORMAT)
    except Exception as exc:
        log(f"  (the project's current ledger could not be measured: {exc})")
    out["6"] = out["6a"] + out["6b"]
    return out


def race(repeat: int, options: dict[str, Callable[[], Any]], n: int) -> dict[str, float]:
    """µs a reading of each option, the best of `repeat` rounds; each round runs every
    option once, in turn, so that all of them see the same background load."""
    times: dict[str, list[float]] = {name: [] for name in options}
    for _ in range(repeat):
        for name, run in options.items():
            gc.collect()
            started = time.process_time()
            run()
            times[name].append(time.process_time() - started)
    return {name: min(t) / n * 1e6 for name, t in times.items()}


def alternatives(
    args: argparse.Namespace, bodies: list[bytes], batches: list[bytes], n: int
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Each option of stages 1, 2, 4 and 6 timed alone (µs a reading), with notes."""
    alt: dict[str, dict[str, float]] = {}
    notes: dict[str, str] = {}

    log("  alternatives: gunzip ...")
    options: dict[str, Callable[[], Any]] = {
        "zlib (stdlib, one-shot bounded)": lambda: [gunzip(b, zlib) for b in bodies],
        "today: codecs.decompress (GzipFile)": lambda: [
            codecs.decompress(b, "gzip") for b in bodies
        ],
    }
    if isal_zlib is not None:
        options["isal_zlib (one-shot bounded)"] = lambda: [gunzip(b, isal_zlib) for b in bodies]
        options["isal igzip.decompress (unbounded)"] = lambda: [igzip.decompress(b) for b in bodies]
    alt["1"] = race(args.repeat, options, n)

    log("  alternatives: parse ...")
    parser = ArrowParser()
    strict = MsgspecParser()
    for b in batches:  # learn the value keys once (not timed)
        parser.parse(b)
        strict.parse(b)
    decoder = struct_values_decoder(list(parser.keys))
    options = {
        "pyarrow.json explicit schema": lambda: [parser.parse(b) for b in batches],
        "msgspec strict + checks + Arrow columns": lambda: [strict.parse(b) for b in batches],
        "today: msgspec decode_lines (rows)": lambda: [
            fastwire._one.decode_lines(b) for b in batches
        ],
        "msgspec decode_lines + Arrow columns": lambda: [
            msgspec_columns(b, parser.schema) for b in batches
        ],
        "msgspec, values a Struct (rows only)": lambda: [decoder.decode_lines(b) for b in batches],
    }
    if pl is not None:
        schema = polars_schema(list(parser.keys))
        options["polars.read_ndjson schema"] = lambda: [polars_parse(b, schema) for b in batches]
        options["polars + to_arrow"] = lambda: [polars_parse(b, schema).to_arrow() for b in batches]
    alt["2"] = race(args.repeat, options, n)
    notes["2"] = (
        "polars: no error for a missing field, an unknown top-level field or an unknown"
        " value key (dropped): disqualified (see library notes); rows-only options need"
        " columns built after"
    )

    tables = [parser.parse(b) for b in batches]
    streams = [Streams(t, GATEWAY) for t in tables]
    log("  alternatives: canonical ids ...")
    alt["4"] = race(
        args.repeat,
        {
            name: lambda fn=fn: [canonical(t, s, fn) for t, s in zip(tables, streams, strict=True)]
            for name, fn in DIGESTS.items()
        },
        n,
    )
    log("  alternatives: block encodings ...")
    plans = [Plan(s) for s in streams]
    us_ = [canonical(t, s, digests_copy) for t, s in zip(tables, streams, strict=True)]
    sizes: dict[str, int] = {}
    encoders: dict[str, Callable[[int], list]] = {
        "arrow IPC zstd": lambda i: arrow_blocks(tables[i], plans[i], us_[i], "zstd"),
        "arrow IPC lz4": lambda i: arrow_blocks(tables[i], plans[i], us_[i], "lz4"),
        "NDJSON lines zstd-1": lambda i: ndjson_blocks(batches[i], plans[i], tables[i]),
    }
    alt["6"] = race(
        args.repeat,
        {
            f"build: {name}": lambda enc=enc: [enc(i) for i in range(len(tables))]
            for name, enc in encoders.items()
        },
        n,
    )
    for name, enc in encoders.items():
        sizes[name] = sum(len(d) for i in range(len(tables)) for _, d in enc(i))
    raw = sum(len(b) for b in batches)
    notes["6"] = (
        "stored bytes/reading: "
        + ", ".join(f"{k} {v / n:.1f}" for k, v in sizes.items())
        + f" (NDJSON {raw / n:.0f}, gzip body {sum(map(len, bodies)) / n:.1f})"
    )
    return alt, notes


# ---------------------------------------------------------------- correctness


def corrupt(lines: list[bytes], i: int, how: str) -> list[bytes]:
    r = json.loads(lines[i])
    if how == "wrong id":
        r["id"] = wire.reading_id(r["gateway_id"], r["node_id"], r["boot"], r["seq"] + 1)
    elif how == "string for a number":
        r["values"]["temperature"] = str(r["values"]["temperature"])
    elif how == "missing field (ts)":
        del r["ts"]
    elif how == "unknown top-level field":
        r["extra"] = 1
    elif how == "invalid ts 2025-02-30":
        r["ts"] = "2025-02-30" + r["ts"][10:]
    elif how == "unknown value key":
        r["values"]["x_new"] = 1.5
    elif how == "seq 2**32":
        r["seq"] = 2**32
        r["id"] = wire.reading_id(r["gateway_id"], r["node_id"], r["boot"], r["seq"])
    out = list(lines)
    out[i] = json.dumps(r, separators=(",", ":")).encode()
    return out


def wire_verdict(line: bytes) -> str:
    try:
        wire.validate(json.loads(line))
        return "wire accepts"
    except ValueError as exc:
        return f"wire refuses: {str(exc)[:50]}"


def correctness(
    batches: list[bytes], readings: list[dict], work: Path, kind: str
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []

    def record(name: str, ok: bool, detail: str = "") -> None:
        name = f"[{kind}] {name}"
        results.append({"check": name, "pass": ok, "detail": detail})
        print(f"  {'PASS' if ok else 'FAIL'}  {name}{'  — ' + detail if detail else ''}")

    print(f"\ncorrectness, parser {kind}")
    db = open_db(work / f"check-{kind}.sqlite3")
    pipe = Columnar(db, parser=kind)
    accepted = 0
    try:
        for b in batches:
            accepted += pipe.ingest(codecs.compress(b, "gzip"), GATEWAY)
        record("accepts every synthetic batch", accepted == len(readings), f"{accepted} readings")
    except NotSure as exc:
        record("accepts every synthetic batch", False, str(exc))
    stored = db.execute("SELECT node_id, boot, data FROM blocks ORDER BY bid").fetchall()
    back = [r for node, boot, data in stored for r in read_arrow_block(data, GATEWAY, node, boot)]
    back.sort(key=lambda r: (r["ts"], r["node_id"]))
    expect = sorted(readings, key=lambda r: (r["ts"], r["node_id"]))
    record("blocks read back equal the input readings", back == expect, f"{len(back)} read")
    # same node summary as today's summary.summarize
    b0 = batches[0]
    t = (ArrowParser() if kind == "arrow" else MsgspecParser()).parse(b0)
    mine = columnar_summary(t)
    theirs = summary.summarize(fastwire._one.decode_lines(b0))

    def norm(s: summary.Summary) -> tuple:
        nodes = sorted((n, g, p, ts, json.loads(j) | {"flags": json.loads(j).get("flags", [])}, c)
                       for n, g, p, ts, j, c in s[0])  # fmt: skip
        return nodes, sorted(s[1]), sorted(s[2])

    record("node summary equals summary.summarize", norm(mine) == norm(theirs))
    lines = batches[1].split(b"\n")[:-1]
    middle = len(lines) // 2
    for how in ("wrong id", "string for a number", "missing field (ts)",
                "unknown top-level field", "invalid ts 2025-02-30", "seq 2**32"):  # fmt: skip
        bad = corrupt(lines, middle, how)
        body = codecs.compress(b"\n".join(bad) + b"\n", "gzip")
        fresh = Columnar(open_db(work / f"c{time.monotonic_ns()}.sqlite3"), parser=kind)
        fresh.ingest(codecs.compress(batches[0], "gzip"), GATEWAY)  # steady state: keys known
        try:
            fresh.ingest(body, GATEWAY)
            record(f"falls back on: {how}", False, "accepted! " + wire_verdict(bad[middle]))
        except NotSure as exc:
            record(f"falls back on: {how}", True, f"{exc}"[:60] + f"; {wire_verdict(bad[middle])}")
        fresh.db.close()
    # a value key never seen before is valid (wire accepts it): learnt and stored, not dropped
    fresh = Columnar(open_db(work / f"k{time.monotonic_ns()}.sqlite3"), parser=kind)
    fresh.ingest(codecs.compress(batches[0], "gzip"), GATEWAY)
    newkey = corrupt(lines, middle, "unknown value key")
    try:
        fresh.ingest(codecs.compress(b"\n".join(newkey) + b"\n", "gzip"), GATEWAY)
        got = [
            r
            for node, boot, data in fresh.db.execute("SELECT node_id, boot, data FROM blocks")
            for r in read_arrow_block(data, GATEWAY, node, boot)
            if "x_new" in r["values"]
        ]
        want = json.loads(newkey[middle])
        record("accepts a new value key and stores it", len(got) == 1 and got[0]["values"]
               == want["values"], f"{len(got)} stored with it")  # fmt: skip
    except NotSure as exc:
        record("accepts a new value key and stores it", False, f"fell back: {exc}")
    fresh.db.close()
    # a second profile with other value keys: the first profile's keys absent throughout
    fresh = Columnar(open_db(work / f"p{time.monotonic_ns()}.sqlite3"), parser=kind)
    fresh.ingest(codecs.compress(batches[0], "gzip"), GATEWAY)
    other = []
    for line in lines:
        r = json.loads(line)
        r["profile"], r["values"] = "hydro", {"ec": r["values"]["gas"], "water_temp": 21}
        other.append(json.dumps(r, separators=(",", ":")).encode())
    try:
        fresh.ingest(codecs.compress(b"\n".join(other) + b"\n", "gzip"), GATEWAY)
        stored = fresh.db.execute("SELECT node_id, boot, data FROM blocks").fetchall()
        got = [r for node, boot, data in stored for r in read_arrow_block(data, GATEWAY, node, boot)
               if r["profile"] == "hydro"]  # fmt: skip
        want = {(r["node_id"], r["seq"]): r["values"] for r in map(json.loads, other)}
        ok = len(got) == len(other) and all(
            r["values"] == want[(r["node_id"], r["seq"])] for r in got
        )
        record("accepts a second profile's keys (others absent)", ok, f"{len(got)} stored")
    except NotSure as exc:
        record("accepts a second profile's keys (others absent)", False, f"fell back: {exc}")
    fresh.db.close()
    # a seq stored before: batch 0 stored, then batch 1 with one line of batch 0 in it
    fresh = Columnar(open_db(work / f"d{time.monotonic_ns()}.sqlite3"), parser=kind)
    fresh.ingest(codecs.compress(batches[0], "gzip"), GATEWAY)
    again = list(lines)
    again[middle] = batches[0].split(b"\n")[5]
    before = fresh.db.execute("SELECT count(*) FROM blocks").fetchone()[0]
    try:
        fresh.ingest(codecs.compress(b"\n".join(again) + b"\n", "gzip"), GATEWAY)
        record("falls back on: seq already stored", False, "accepted!")
    except NotSure as exc:
        after = fresh.db.execute("SELECT count(*) FROM blocks").fetchone()[0]
        record("falls back on: seq already stored", after == before, f"{exc}; nothing written")
    fresh.ingest(codecs.compress(batches[1], "gzip"), GATEWAY)  # the clean one still goes in
    ranges = fresh.db.execute("SELECT count(*) FROM seq_ranges").fetchone()[0]
    want = len({(r["node_id"], r["boot"]) for r in readings[: 2 * BATCH]})
    record("adjacent batches merge: one range per stream", ranges == want, f"{ranges} ranges")
    fresh.db.close()
    db.close()
    return results


def library_notes(batches: list[bytes]) -> list[str]:
    """What polars does with the same corruptions (pyarrow's are checked above)."""
    if pl is None:
        return ["polars not installed"]
    notes = []
    parser = ArrowParser()
    parser.parse(batches[0])
    schema = polars_schema(list(parser.keys))
    lines = batches[0].split(b"\n")[:-1]
    for how in ("string for a number", "missing field (ts)", "unknown top-level field",
                "unknown value key"):  # fmt: skip
        bad = b"\n".join(corrupt(lines, 3, how)) + b"\n"
        try:
            df = polars_parse(bad, schema)
            row = df.row(3, named=True)
            shown = {"ts": row["ts"], "x_new kept": "x_new" in row["values"],
                     "columns": df.columns[-3:]}  # fmt: skip
            notes.append(f"polars, {how}: no error; row read as {shown}")
        except Exception as exc:
            notes.append(f"polars, {how}: {type(exc).__name__}: {str(exc)[:80]}")
    return notes


# ---------------------------------------------------------------- main

PARSERS = {
    "arrow": "pyarrow.json explicit schema",
    "msgspec": "msgspec strict + checks + Arrow columns",
}
NAMES = {
    "1": "1 gunzip",
    "2": "2 parse into columns",
    "3": "3 checks (all_ok + gateway)",
    "4": "4 canonical-id check",
    "5": "5 dedupe (seq ranges | ledger)",
    "6": "6 blocks + write + COMMIT | rows + INSERT",
    "7": "7 node summary",
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--readings", type=int, default=100_000, help="readings (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, best kept (3)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--format", default="arrow-zstd", choices=["arrow-zstd", "arrow-lz4",
                        "ndjson-zstd"], help="block data format of the pipeline run")  # fmt: skip
    args = parser.parse_args()
    scale = max(1, -(-args.readings // 49_785))
    log(f"generating {args.readings} readings ({scale} nodes) ...")
    readings = paper_readings(scale, GATEWAY)[: args.readings]
    n = len(readings)
    batches = [wire.encode_ndjson(c) for c in chunks(readings, BATCH)]
    bodies = [codecs.compress(b, "gzip") for b in batches]
    work = Path(tempfile.mkdtemp(prefix="ingest-columnar-"))
    print(f"{n} readings of the paper's layout, {len(batches)} gzip NDJSON batches of {BATCH}")

    checks = [c for kind in PARSERS for c in correctness(batches, readings, work, kind)]
    notes_lib = library_notes(batches)

    log("today's stages ...")
    old = old_figures(args, bodies, batches, work, n)
    log("alternatives ...")
    alt, notes = alternatives(args, bodies, batches, n)

    new: dict[str, dict[str, float]] = {}
    whole_best: dict[str, float] = {}
    fastest_gunzip = min(GUNZIPS, key=alt["1"].__getitem__)
    fastest_digests = min(DIGESTS, key=alt["4"].__getitem__)
    runs: dict[str, list] = {kind: [] for kind in PARSERS}
    for i in range(args.repeat):  # the parsers' runs interleaved: both see the same noise
        for kind in PARSERS:
            log(f"columnar pipeline, parser {kind}, run {i + 1} ...")
            db = open_db(work / f"col-{kind}{i}.sqlite3")
            pipe = Columnar(db, args.format, kind)
            pipe.gunzip, pipe.digests = fastest_gunzip, fastest_digests
            pipe.ingest(bodies[0], GATEWAY)  # learn the value keys (a first batch ever)
            db.execute("DELETE FROM blocks")
            db.execute("DELETE FROM seq_ranges")
            pipe.timings.clear()
            gc.collect()
            started = time.process_time()
            for body in bodies:
                pipe.ingest(body, GATEWAY)
            whole = time.process_time() - started
            runs[kind].append(({k: v / n * 1e6 for k, v in pipe.timings.items()}, whole / n * 1e6))
            db.close()
            log(f"  {whole / n * 1e6:.2f} µs/reading")
    for kind in PARSERS:
        new[kind] = {k: min(r[0][k] for r in runs[kind]) for k in NAMES}
        whole_best[kind] = min(r[1] for r in runs[kind])

    log("read back ...")
    db = open_db(work / "read.sqlite3")
    pipe = Columnar(db)
    for body in bodies:
        pipe.ingest(body, GATEWAY)
    node, boot, data, count = db.execute(
        "SELECT node_id, boot, data, n FROM blocks LIMIT 1"
    ).fetchone()
    read_arrow = (
        best(args.repeat, lambda: read_arrow_block(data, GATEWAY, node, boot)) / count * 1e6
    )
    t0 = pipe.parser.parse(batches[0])
    nd = ndjson_blocks(batches[0], Plan(Streams(t0, GATEWAY)), t0)
    nd_count = sum(p.num_rows for p, _ in nd)
    read_nd = best(args.repeat, lambda: [read_ndjson_block(d) for _, d in nd]) / nd_count * 1e6
    old_rows = [old_row(r) for r in fastwire._one.decode_lines(batches[0])]
    old_rows = [(r[1], r[5], r[2], r[3], r[4], r[6], r[7], r[10], r[8], r[9], r[11])
                for r in old_rows]  # fmt: skip
    read_old = best(args.repeat, lambda: [old_as_stored(r) for r in old_rows]) / len(old_rows) * 1e6
    db.close()

    width = 44
    kinds = list(PARSERS)
    head = "".join(f" {k:>8}" for k in kinds)
    print(f"\n{'stage (µs CPU per reading, best of ' + str(args.repeat) + ')':<{width}}"
          f" {'today':>7}{head}   (columns: today's path | columnar, by parser)")  # fmt: skip
    for k, name in NAMES.items():
        note = {
            "4": "   today: inside the ledger claim (5), not summed",
            "6": f"   today: _row {old['6a']:.2f} + INSERT with index {old['6b']:.2f}",
        }.get(k, "")
        cells = "".join(f" {new[kind][k]:>8.2f}" for kind in kinds)
        print(f"{name:<{width}} {old[k]:>7.2f}{cells}{note}")
    total_old = sum(old[k] for k in NAMES if k != "4")  # 4 is inside 5
    totals = {kind: sum(new[kind].values()) for kind in kinds}
    cells = "".join(f" {totals[k]:>8.2f}" for k in kinds)
    print(f"{'TOTAL (sum of stages)':<{width}} {total_old:>7.2f}{cells}")
    cells = "".join(f" {whole_best[k]:>8.2f}" for k in kinds)
    print(f"{'  the loop as a whole (one timer)':<{width}} {'':>7}{cells}")
    cells = "".join(f" {1e6 / totals[k]:>8,.0f}" for k in kinds)
    print(f"{'readings/s on one core (1e6 / TOTAL)':<{width}} {1e6 / total_old:>7,.0f}{cells}"
          f"   target {TARGET:,} (= {1e6 / TARGET:.1f} µs)")  # fmt: skip
    winner = min(kinds, key=totals.__getitem__)
    verdict = "meets" if totals[winner] <= 1e6 / TARGET else "misses"
    print(f"fastest: parser {winner}, {totals[winner]:.2f} µs/reading: {verdict} the 5 µs budget")
    if "head_ledger" in old:
        print(f"(reference: the project's ledger as committed now, format"
              f" {int(old['head_format'])}, prepare + claim: {old['head_ledger']:.2f} µs/reading;"
              " 'today' above is the format-2 design of commit a96f84c)")  # fmt: skip
    print(
        f"\nread back into reading dicts, µs/reading: arrow block {read_arrow:.2f}, "
        f"NDJSON-zstd block {read_nd:.2f}; today as_stored per row {read_old:.2f} "
        "(without its SELECT)"
    )
    print(
        "\nalternatives tried (each alone, µs/reading; * = in the pipeline: the fastest"
        " bounded gunzip and id check of this run, the parser of the fastest TOTAL)"
    )
    formats = {"arrow-zstd": "arrow IPC zstd", "arrow-lz4": "arrow IPC lz4",
               "ndjson-zstd": "NDJSON lines zstd-1"}  # fmt: skip
    chosen = {
        "1": fastest_gunzip,
        "2": PARSERS[winner],
        "4": fastest_digests,
        "6": f"build: {formats[args.format]}",
    }
    for k, options in alt.items():
        print(f"  {NAMES[k]}")
        for name, v in sorted(options.items(), key=lambda x: x[1]):
            print(f"    {'*' if name == chosen[k] else ' '} {name:<40} {v:>7.2f}")
        if k in notes:
            print(f"      {notes[k]}")
    print("\nlibrary notes")
    for note in notes_lib:
        print(f"  {note}")
    failed = [c for c in checks if not c["pass"]]
    print(f"\ncorrectness: {len(checks) - len(failed)} passed, {len(failed)} failed")
    if args.json:
        args.json.write_text(json.dumps({
            "readings": n, "repeat": args.repeat, "format": args.format, "clock": "process_time",
            "today_us": old, "columnar_us": new, "total_today_us": total_old,
            "total_columnar_us": totals, "whole_loop_us": whole_best, "fastest": winner,
            "target_readings_per_s": TARGET, "alternatives_us": alt, "notes": notes,
            "read_back_us": {"arrow": read_arrow, "ndjson_zstd": read_nd,
                             "today_as_stored": read_old},
            "library_notes": notes_lib, "correctness": checks,
        }, indent=2))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
