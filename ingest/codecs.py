"""Content-Encodings of uplink batches: one-shot compression and bounded streaming
decompression. Pure (in-memory streams only); shared by the edge agent, the ingest service
and the compression benchmark.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

import zstandard

ENCODINGS = ("identity", "gzip", "bzip2", "xz", "zstd")
DEFAULT_LEVEL = {"gzip": 6, "bzip2": 9, "xz": 6, "zstd": 3}
READ_SIZE = 64 * 1024


class DecodeError(ValueError):
    """The body is not valid data in its declared encoding."""


class TooLarge(ValueError):
    """Decompressed output passed the limit; decompression stopped there."""


def compress(data: bytes, encoding: str, level: int | None = None) -> bytes:
    level = DEFAULT_LEVEL.get(encoding) if level is None else level
    if encoding == "identity":
        return data
    if encoding == "gzip":
        return gzip.compress(data, compresslevel=level, mtime=0)
    if encoding == "bzip2":
        return bz2.compress(data, compresslevel=level)
    if encoding == "xz":
        return lzma.compress(data, preset=level)
    if encoding == "zstd":
        return zstandard.ZstdCompressor(level=level).compress(data)
    raise ValueError(f"unknown encoding {encoding!r}; known: {', '.join(ENCODINGS)}")


_READERS: dict[str, Callable[[BinaryIO], BinaryIO]] = {
    "identity": lambda f: f,
    "gzip": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    "bzip2": lambda f: bz2.BZ2File(f, mode="rb"),
    "xz": lambda f: lzma.LZMAFile(f, mode="rb"),  # noqa: SIM115 - closed with its source
    "zstd": lambda f: zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True),
}
_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError)


def iter_decompressed(
    source: BinaryIO | bytes, encoding: str, limit: int, read_size: int = READ_SIZE
) -> Iterator[bytes]:
    """Yield decompressed chunks of at most `read_size` bytes; raise TooLarge as soon as the
    total passes `limit`, so memory stays bounded whatever the ratio (zip bombs)."""
    if encoding not in _READERS:
        raise ValueError(f"unknown encoding {encoding!r}; known: {', '.join(ENCODINGS)}")
    fileobj = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    reader = _READERS[encoding](fileobj)
    total = 0
    while True:
        try:
            chunk = reader.read(read_size)
        except _ERRORS as exc:
            raise DecodeError(f"body is not valid {encoding}: {exc}") from None
        if not chunk:
            return
        total += len(chunk)
        if total > limit:
            raise TooLarge(f"decompressed body exceeds {limit} bytes")
        yield chunk


def decompress(data: bytes, encoding: str, limit: int = 256 * 2**20) -> bytes:
    return b"".join(iter_decompressed(data, encoding, limit))
