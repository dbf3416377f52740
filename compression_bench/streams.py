"""Byte streams of the telemetry-aware encoding: integer columns (delta or offset, zigzag,
byte planes), packed UUIDs, a back-end entropy coder per stream and the container.

Pure: bytes and numpy arrays in, bytes and numpy arrays out.
"""

from __future__ import annotations

import bz2
import json
import lzma
import struct

import numpy as np
import zstandard

MAGIC = b"TLM1"
BACKENDS = ("xz", "zstd", "bz2", "raw")
_XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9, "lc": 1, "lp": 0, "pb": 0}]


class FormatError(ValueError):
    """A telemetry-encoded blob that cannot be decoded."""


def pack_streams(backend: str, level: int, streams: list[tuple[bytes, bool]]) -> list[bytes]:
    """Compress each (payload, compressible) stream with the back end; random payloads
    (packed UUIDs) are stored as they are."""
    out = []
    for payload, compressible in streams:
        if not compressible or backend == "raw" or not payload:
            out.append(payload)
        elif backend == "xz":
            filters = [dict(_XZ_FILTERS[0], preset=level)]
            out.append(lzma.compress(payload, format=lzma.FORMAT_RAW, filters=filters))
        elif backend == "zstd":
            out.append(zstandard.ZstdCompressor(level=level).compress(payload))
        elif backend == "bz2":
            out.append(bz2.compress(payload, level))
        else:
            raise ValueError(f"unknown back end {backend!r}; known: {', '.join(BACKENDS)}")
    return out


def unpack_stream(backend: str, level: int, blob: bytes, compressible: bool) -> bytes:
    if not compressible or backend == "raw" or not blob:
        return blob
    if backend == "xz":
        filters = [dict(_XZ_FILTERS[0], preset=level)]
        return lzma.decompress(blob, format=lzma.FORMAT_RAW, filters=filters)
    if backend == "zstd":
        return zstandard.ZstdDecompressor().decompress(blob)
    if backend == "bz2":
        return bz2.decompress(blob)
    raise FormatError(f"unknown back end {backend!r}")


def write_container(header: dict, blobs: list[bytes]) -> bytes:
    header = dict(header, sizes=[len(b) for b in blobs])
    head = json.dumps(header, separators=(",", ":")).encode()
    return MAGIC + struct.pack("<I", len(head)) + head + b"".join(blobs)


def read_container(data: bytes) -> tuple[dict, list[bytes]]:
    if data[:4] != MAGIC or len(data) < 8:
        raise FormatError("not a telemetry-encoded blob (bad magic)")
    (hlen,) = struct.unpack("<I", data[4:8])
    try:
        header = json.loads(data[8 : 8 + hlen])
    except ValueError as exc:
        raise FormatError(f"bad header: {exc}") from None
    blobs, pos = [], 8 + hlen
    for size in header["sizes"]:
        blobs.append(data[pos : pos + size])
        pos += size
    if pos != len(data):
        raise FormatError(f"container holds {len(data)} bytes, header accounts for {pos}")
    return header, blobs


def _entropy(values: np.ndarray) -> float:
    lo, hi = int(values.min()), int(values.max())
    if hi - lo < 1 << 20:
        counts = np.bincount(values - lo)
        counts = counts[counts > 0]
    else:
        _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def encode_ints(values: np.ndarray) -> tuple[dict, bytes]:
    """Delta or offset (whichever has the lower order-0 entropy), zigzag, little-endian byte
    planes of the narrowest width: slow sensors become runs of 0x00 for the back end."""
    x = np.asarray(values, dtype=np.int64)
    if len(x) == 0:
        return {"mode": "offset", "base": 0, "width": 1}, b""
    delta = np.diff(x, prepend=x[:1])
    offset = x - x.min()
    use_delta = len(x) > 1 and _entropy(delta[1:]) < _entropy(offset)
    if use_delta:
        u = ((delta << 1) ^ (delta >> 63)).astype(np.uint64)
        spec = {"mode": "delta", "base": int(x[0])}
    else:
        u = offset.astype(np.uint64)
        spec = {"mode": "offset", "base": int(x.min())}
    top = int(u.max())
    width = next(w for w in (1, 2, 4, 8) if top < 1 << (8 * w))
    planes = u.astype(f"<u{width}").view(np.uint8).reshape(-1, width).T
    spec["width"] = width
    return spec, planes.tobytes()


def decode_ints(spec: dict, payload: bytes, rows: int) -> np.ndarray:
    width = spec["width"]
    if len(payload) != rows * width:
        raise FormatError(f"integer stream holds {len(payload)} bytes, expected {rows * width}")
    if rows == 0:
        return np.zeros(0, dtype=np.int64)
    planes = np.frombuffer(payload, dtype=np.uint8).reshape(width, rows).T.copy()
    u = planes.view(f"<u{width}").reshape(rows).astype(np.uint64)
    if spec["mode"] == "delta":
        delta = (u >> np.uint64(1)).astype(np.int64) ^ -(u & np.uint64(1)).astype(np.int64)
        delta[0] = 0
        return spec["base"] + np.cumsum(delta)
    return spec["base"] + u.astype(np.int64)


# UUID version 4 / RFC 4122 variant: 6 of the 128 bits are fixed, 122 are random.
_FIXED_BITS = np.r_[48:52, 64:66]
_FIXED_VALUES = np.array([0, 1, 0, 0, 1, 0], dtype=np.uint8)
_FREE_BITS = np.setdiff1d(np.arange(128), _FIXED_BITS)


def is_uuid4(raw: np.ndarray) -> bool:
    bits = np.unpackbits(raw, axis=1)
    return bool((bits[:, _FIXED_BITS] == _FIXED_VALUES).all())


def pack_uuid4(raw: np.ndarray) -> bytes:
    """(rows, 16) uint8 of v4 UUIDs → 122 bits a row, packed."""
    bits = np.unpackbits(raw, axis=1)[:, _FREE_BITS]
    return np.packbits(bits.reshape(-1)).tobytes()


def unpack_uuid4(payload: bytes, rows: int) -> np.ndarray:
    free = np.unpackbits(np.frombuffer(payload, dtype=np.uint8))[: rows * 122]
    if len(free) != rows * 122:
        raise FormatError("packed UUID stream is too short")
    bits = np.zeros((rows, 128), dtype=np.uint8)
    bits[:, _FREE_BITS] = free.reshape(rows, 122)
    bits[:, _FIXED_BITS] = _FIXED_VALUES
    return np.packbits(bits, axis=1)
