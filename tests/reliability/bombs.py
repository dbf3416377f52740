"""Decompression bombs in every supported Content-Encoding, built by streaming zeros through
each compressor (so building one never holds its decompressed size in memory)."""

from __future__ import annotations

import bz2
import functools
import lzma
import zlib

import zstandard

from ingest import codecs

BOMB_ENCODINGS = [e for e in codecs.ENCODINGS if e != "identity"]
CHUNK = 4 * 2**20


@functools.cache
def bomb(encoding: str, expanded: int, filler: bytes = b"\0") -> bytes:
    """`expanded` bytes of `filler` (rounded up to 4 MiB) compressed in `encoding`."""
    _CHUNK = filler * (CHUNK // len(filler))
    if encoding == "gzip":
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        out = [comp.compress(_CHUNK) for _ in range(-(-expanded // len(_CHUNK)))]
        return b"".join(out) + comp.flush()
    if encoding == "bzip2":
        comp = bz2.BZ2Compressor(9)
    elif encoding == "xz":
        comp = lzma.LZMACompressor(preset=1)
    elif encoding == "zstd":
        comp = zstandard.ZstdCompressor(level=3).compressobj(size=expanded)
    else:
        raise ValueError(encoding)
    out = [comp.compress(_CHUNK) for _ in range(-(-expanded // len(_CHUNK)))]
    return b"".join(out) + comp.flush()


def concatenated(encoding: str, member: bytes, count: int) -> bytes:
    """Many small members/frames/streams back to back: gzip, bzip2, xz and zstd all allow it."""
    return member * count
