"""The batch pipeline shared by HTTP and MQTT: bounded streaming decompression → parse and
validate each line → one atomic store write. No Flask here; errors are `BatchError`s that
carry the HTTP status the uplink spec assigns them.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ingest import codecs, fastwire, formats
from ingest.stores.base import Store, StoreUnavailable, WriteOutcome

CONTENT_TYPES = {"application/x-ndjson": "ndjson", "text/csv": "csv"}
ENCODING_ALIASES = {"x-gzip": "gzip", "x-bzip2": "bzip2", "": "identity"}
MAX_LISTED_REJECTS = 1000
MAX_LINE = 2**20  # bytes in one line; a reading is under 10 KiB


class BatchError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


@dataclass(frozen=True)
class Limits:
    max_compressed: int
    max_decompressed: int


@dataclass
class BatchReport:
    """What the caller needs after a batch: the response body and the per-stage figures."""

    outcome: WriteOutcome
    timings_ms: dict[str, float] = field(default_factory=dict)
    bytes_compressed: int = 0
    bytes_raw: int = 0
    encoding: str = "identity"
    content_type: str = "ndjson"


def negotiate(content_type: str | None, content_encoding: str | None) -> tuple[str, str]:
    """(format, encoding) from the headers, or BatchError 415 naming the unsupported one."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime not in CONTENT_TYPES:
        raise BatchError(
            415,
            f"Content-Type {content_type!r} not supported; use one of {sorted(CONTENT_TYPES)}",
        )
    encoding = (content_encoding or "").strip().lower()
    encoding = ENCODING_ALIASES.get(encoding, encoding)
    if encoding not in codecs.ENCODINGS:
        raise BatchError(
            415,
            f"Content-Encoding {content_encoding!r} not supported;"
            f" use one of {list(codecs.ENCODINGS)}",
        )
    return CONTENT_TYPES[mime], encoding


def check_batch_id(key: str | None) -> str:
    if not key:
        raise BatchError(400, "Idempotency-Key header (the batch id, a UUID) is required")
    try:
        return str(uuid.UUID(key.strip()))
    except ValueError:
        raise BatchError(400, f"Idempotency-Key {key!r} is not a UUID") from None


class _CountingReader:
    """A read-only stream that stops with 413 once more than `limit` bytes came through."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self.source, self.limit, self.count = source, limit, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.count += len(chunk)
        if self.count > self.limit:
            raise BatchError(413, f"compressed body exceeds {self.limit} bytes")
        return chunk

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_body(source: BinaryIO, limit: int, read_size: int = 2**16) -> bytes:
    """All of a compressed body, or BatchError 413 once more than `limit` bytes came (what
    `run_batch` would say), so a chunked body with no length cannot grow without bound."""
    parts: list[bytes] = []
    total = 0
    while chunk := source.read(read_size):
        total += len(chunk)
        if total > limit:
            raise BatchError(413, f"compressed body exceeds {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _blocks(
    chunks: Iterator[bytes], clock: dict[str, float], counted: list[int]
) -> Iterator[tuple[int, bytes]]:
    """Cut decompressed chunks into blocks of whole lines, each ending with a newline:
    (number of the block's first line, block). Chunk time is charged to `decompress` and the
    decompressed size added to `counted[0]`. The unfinished line waits in a bytearray (linear
    in its length); past MAX_LINE bytes the batch is refused (413), so a body of one endless
    line costs what its bytes cost."""
    pending = bytearray()
    number = 1
    while True:
        started = time.perf_counter()
        try:
            chunk = next(chunks, None)
        except codecs.TooLarge as exc:
            raise BatchError(413, str(exc)) from None
        except codecs.DecodeError as exc:
            raise BatchError(400, str(exc)) from None
        finally:
            clock["decompress"] += time.perf_counter() - started
        if chunk is None:
            break
        counted[0] += len(chunk)
        end = chunk.rfind(b"\n")
        first = chunk.find(b"\n") if end >= 0 else len(chunk)
        if len(pending) + first > MAX_LINE:
            raise BatchError(413, f"line {number} exceeds the line limit of {MAX_LINE} bytes")
        if end < 0:
            pending += chunk
            continue
        if pending:
            pending += memoryview(chunk)[: end + 1]
            block = bytes(pending)
            pending = bytearray(memoryview(chunk)[end + 1 :])
        else:
            block = chunk[: end + 1]
            pending += memoryview(chunk)[end + 1 :]
        yield number, block
        number += fastwire.line_count(block)
    if pending:
        yield number, bytes(pending + b"\n")


def run_batch(
    store: Store,
    gateway_id: str,
    batch_id: str,
    fmt: str,
    encoding: str,
    body: BinaryIO | bytes,
    limits: Limits,
) -> BatchReport:
    """Decode, validate and store one batch for `gateway_id`. Raises BatchError."""
    try:
        previous = store.find_batch(batch_id)
    except StoreUnavailable as exc:
        raise BatchError(503, str(exc), retry_after=5) from None
    if previous is not None:
        return BatchReport(
            WriteOutcome({**previous, "replayed": True}), encoding=encoding, content_type=fmt
        )
    if isinstance(body, bytes | bytearray):
        if len(body) > limits.max_compressed:
            raise BatchError(
                413, f"compressed body of {len(body)} bytes exceeds {limits.max_compressed}"
            )
        body = io.BytesIO(body)
    reader = _CountingReader(body, limits.max_compressed)
    clock = {"decompress": 0.0}
    started = time.perf_counter()
    chunks = codecs.iter_decompressed(reader, encoding, limits.max_decompressed)  # type: ignore[arg-type]
    counted = [0]
    items, rejected = formats.parse_blocks(fmt, _blocks(chunks, clock, counted))
    parse_s = time.perf_counter() - started - clock["decompress"]
    if not items and rejected:
        raise BatchError(
            400,
            "no line of the body is a valid reading"
            f" (first: line {rejected[0]['line']}: {rejected[0]['error']})",
            rejected=rejected[:MAX_LISTED_REJECTS],
        )
    foreign = next((r for r in items if r.gateway_id != gateway_id), None)
    if foreign is not None:
        raise BatchError(
            403,
            f"token is for gateway {gateway_id!r} but reading {foreign.id} is from "
            f"{foreign.gateway_id!r}",
        )
    listed = rejected[:MAX_LISTED_REJECTS]
    started = time.perf_counter()
    try:
        total = len(rejected) if len(rejected) > len(listed) else None
        outcome = store.write_batch(batch_id, gateway_id, items, listed, total)
    except StoreUnavailable as exc:
        raise BatchError(503, str(exc), retry_after=5) from None
    write_s = time.perf_counter() - started
    return BatchReport(
        outcome,
        timings_ms={
            "decompress": clock["decompress"] * 1000,
            "parse": parse_s * 1000,
            "write": write_s * 1000,
        },
        bytes_compressed=reader.count,
        bytes_raw=counted[0],
        encoding=encoding,
        content_type=fmt,
    )
