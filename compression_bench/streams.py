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


def _lzma_filters(level: int, size: int) -> list[dict]:
    """LZMA1 in the .lzma container (13-byte header holding its own properties), the
    dictionary no larger than the stream so small streams don't pay for 64 MiB tables."""
    dict_size = max(1 << 12, min(1 << 26, 1 << max(size - 1, 1).bit_length()))
    return [{"id": lzma.FILTER_LZMA1, "preset": level, "dict_size": dict_size, "lc": 1}]


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
            filters = _lzma_filters(level, len(payload))
            out.append(lzma.compress(payload, format=lzma.FORMAT_ALONE, filters=filters))
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
        return lzma.decompress(blob, format=lzma.FORMAT_ALONE)
    if backend == "zstd":
        return zstandard.ZstdDecompressor().decompress(blob)
    if backend == "bz2":
        return bz2.decompress(blob)
    raise FormatError(f"unknown back end {backend!r}")


def write_container(meta: dict, streams: list[tuple[bytes, bool]]) -> bytes:
    """MAGIC, back end, level, then one back-end-compressed blob holding the JSON header and
    every compressible stream, then the incompressible streams (packed random UUIDs) as they
    are. One compressed blob keeps the fixed cost low for small batches."""
    backend, level = meta["backend"], meta["level"]
    meta = dict(meta, sizes=[len(p) for p, _ in streams], compressible=[c for _, c in streams])
    head = json.dumps(meta, separators=(",", ":")).encode()
    inner = struct.pack("<I", len(head)) + head + b"".join(p for p, c in streams if c)
    blob = pack_streams(backend, level, [(inner, True)])[0]
    prefix = MAGIC + bytes([BACKENDS.index(backend), level]) + struct.pack("<I", len(blob))
    return prefix + blob + b"".join(p for p, c in streams if not c)


def read_container(data: bytes) -> tuple[dict, list[bytes]]:
    """The header and every stream, decompressed."""
    if data[:4] != MAGIC or len(data) < 10 or data[4] >= len(BACKENDS):
        raise FormatError("not a telemetry-encoded blob (bad magic or back end)")
    backend, level = BACKENDS[data[4]], data[5]
    (blen,) = struct.unpack("<I", data[6:10])
    try:
        inner = unpack_stream(backend, level, data[10 : 10 + blen], True)
        (hlen,) = struct.unpack("<I", inner[:4])
        meta = json.loads(inner[4 : 4 + hlen])
    except (ValueError, struct.error, lzma.LZMAError, zstandard.ZstdError, OSError) as exc:
        raise FormatError(f"bad header: {exc}") from None
    payloads, pos, raw_pos = [], 4 + hlen, 10 + blen
    for size, compressible in zip(meta["sizes"], meta["compressible"], strict=True):
        if compressible:
            payloads.append(inner[pos : pos + size])
            pos += size
        else:
            payloads.append(data[raw_pos : raw_pos + size])
            raw_pos += size
    if pos != len(inner) or raw_pos != len(data):
        raise FormatError("stream sizes do not match the blob")
    return meta, payloads


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


# UUID version 4 / RFC 4122 variant: 6 of the 128 bits are fixed, 122 are random. Packed as
# 15 bytes a row (version nibble and variant bits dropped) plus 2 bits a row at the end.
_M12, _M56, _M62 = (1 << 12) - 1, (1 << 56) - 1, (1 << 62) - 1


def _halves(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    words = np.ascontiguousarray(raw).view(">u8").reshape(-1, 2).astype(np.uint64)
    return words[:, 0], words[:, 1]


def is_uuid4(raw: np.ndarray) -> bool:
    hi, lo = _halves(raw)
    return bool(((hi >> np.uint64(12)) & np.uint64(15) == 4).all()) and bool(
        ((lo >> np.uint64(62)) == 2).all()
    )


def pack_uuid4(raw: np.ndarray) -> bytes:
    """(rows, 16) uint8 of v4 UUIDs → 122 bits a row."""
    hi, lo = _halves(raw)
    a = ((hi >> np.uint64(16)) << np.uint64(12)) | (hi & np.uint64(_M12))  # 60 bits
    lo = lo & np.uint64(_M62)
    b, c = lo >> np.uint64(2), (lo & np.uint64(3)).astype(np.uint8)  # 60 + 2 bits
    first = (a << np.uint64(4)) | (b >> np.uint64(56))
    second = b & np.uint64(_M56)
    body = np.empty((len(raw), 15), dtype=np.uint8)
    body[:, :8] = first.astype(">u8").view(np.uint8).reshape(-1, 8)
    body[:, 8:] = second.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 1:]
    tail = np.packbits(np.stack([c >> 1, c & 1], axis=1).reshape(-1))
    return body.tobytes() + tail.tobytes()


def unpack_uuid4(payload: bytes, rows: int) -> np.ndarray:
    if len(payload) != rows * 15 + (rows * 2 + 7) // 8:
        raise FormatError("packed UUID stream has the wrong length")
    body = np.frombuffer(payload[: rows * 15], dtype=np.uint8).reshape(rows, 15)
    bits = np.unpackbits(np.frombuffer(payload[rows * 15 :], dtype=np.uint8))[: rows * 2]
    c = (bits.reshape(rows, 2).astype(np.uint64) * np.array([2, 1], dtype=np.uint64)).sum(1)
    first = body[:, :8].copy().view(">u8").reshape(rows).astype(np.uint64)
    second_bytes = np.zeros((rows, 8), dtype=np.uint8)
    second_bytes[:, 1:] = body[:, 8:]
    second = second_bytes.view(">u8").reshape(rows).astype(np.uint64)
    a = first >> np.uint64(4)
    b = ((first & np.uint64(15)) << np.uint64(56)) | second
    hi = ((a >> np.uint64(12)) << np.uint64(16)) | np.uint64(4 << 12) | (a & np.uint64(_M12))
    lo = np.uint64(2 << 62) | (b << np.uint64(2)) | c.astype(np.uint64)
    words = np.stack([hi, lo], axis=1).astype(">u8")
    return words.view(np.uint8).reshape(rows, 16)
