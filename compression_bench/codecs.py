"""The benchmark's codec set, by name: ``gzip-6``, ``bzip2-9``, ``xz-6``, ``zstd-19``,
``zstd-19-long`` (128 MiB window), ``zstd-dict-3`` (dictionary trained on other data),
``tlm-xz-9`` / ``tlm-zstd-3`` (the telemetry-aware encoding with its back end), ``identity``.

The wire encodings (gzip/bzip2/xz/zstd/identity) go through ``ingest.codecs``, the product's
own code, so what is measured is what ships.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import zstandard

from compression_bench import telemetry
from ingest import codecs as wire

DICT_SIZE = 112 * 1024
LONG_WINDOW_LOG = 27


@dataclass(frozen=True)
class Codec:
    name: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes], bytes]
    wire_encoding: str | None  # Content-Encoding ingest accepts, None if benchmark-only
    level: int | None = None


def _wire(encoding: str, level: int | None) -> Codec:
    name = encoding if level is None else f"{encoding}-{level}"
    return Codec(
        name,
        lambda d: wire.compress(d, encoding, level),
        lambda d: wire.decompress(d, encoding, limit=1 << 40),
        encoding,
        level,
    )


def _zstd_long(level: int) -> Codec:
    params = zstandard.ZstdCompressionParameters.from_level(
        level, window_log=LONG_WINDOW_LOG, enable_ldm=True
    )

    def compress(data: bytes) -> bytes:
        return zstandard.ZstdCompressor(compression_params=params).compress(data)

    def decompress(data: bytes) -> bytes:
        return zstandard.ZstdDecompressor(max_window_size=1 << LONG_WINDOW_LOG).decompress(data)

    return Codec(f"zstd-{level}-long", compress, decompress, None, level)


def train_dictionary(training: bytes, size: int = DICT_SIZE) -> zstandard.ZstdCompressionDict:
    """A zstd dictionary from ~4 KiB samples (whole lines) of data other than the test data."""
    lines = training.splitlines(keepends=True)
    samples, chunk = [], []
    for line in lines:
        chunk.append(line)
        if sum(map(len, chunk)) >= 4096:
            samples.append(b"".join(chunk))
            chunk = []
    return zstandard.train_dictionary(size, samples[:2000])


def _zstd_dict(level: int, dictionary: zstandard.ZstdCompressionDict) -> Codec:
    def compress(data: bytes) -> bytes:
        return zstandard.ZstdCompressor(level=level, dict_data=dictionary).compress(data)

    def decompress(data: bytes) -> bytes:
        return zstandard.ZstdDecompressor(dict_data=dictionary).decompress(data)

    return Codec(f"zstd-dict-{level}", compress, decompress, None, level)


def _tlm(backend: str, level: int) -> Codec:
    return Codec(
        f"tlm-{backend}-{level}",
        lambda d: telemetry.encode(d, backend, level),
        telemetry.decode,
        None,
        level,
    )


_NAME = re.compile(
    r"(identity)|(gzip|bzip2|xz|zstd)-(\d+)(-long)?|zstd-dict-(\d+)|tlm-(xz|zstd|bz2)-(\d+)"
)


def make(name: str, training: bytes | None = None) -> Codec:
    """Build a codec from its name; zstd-dict-N needs `training` data for its dictionary."""
    m = _NAME.fullmatch(name)
    if m is None:
        raise ValueError(
            f"unknown codec {name!r}: use identity, gzip-1..9, bzip2-1..9, xz-0..9, "
            "zstd-1..22, zstd-N-long, zstd-dict-N or tlm-{xz,zstd,bz2}-N"
        )
    if m[1]:
        return _wire("identity", None)
    if m[2]:
        level = int(m[3])
        bounds = {"gzip": (1, 9), "bzip2": (1, 9), "xz": (0, 9), "zstd": (1, 22)}[m[2]]
        if not bounds[0] <= level <= bounds[1]:
            raise ValueError(f"{name}: {m[2]} levels run {bounds[0]}..{bounds[1]}")
        if m[4]:
            if m[2] != "zstd":
                raise ValueError(f"{name}: only zstd has a long mode")
            return _zstd_long(level)
        return _wire(m[2], level)
    if m[5]:
        if training is None:
            raise ValueError(f"{name} needs training data for its dictionary")
        return _zstd_dict(int(m[5]), train_dictionary(training))
    return _tlm(m[6], int(m[7]))


SETS = {
    "paper": ["gzip-6", "bzip2-9"],
    "default": [
        "identity", "gzip-1", "gzip-6", "gzip-9", "bzip2-1", "bzip2-9", "xz-0", "xz-6", "xz-9",
        "zstd-1", "zstd-3", "zstd-9", "zstd-19", "zstd-19-long", "zstd-dict-3",
        "tlm-zstd-3", "tlm-zstd-19", "tlm-bz2-9", "tlm-xz-9",
    ],
    "large": [
        "identity", "gzip-6", "bzip2-9", "xz-6", "zstd-3", "zstd-19-long",
        "tlm-zstd-3", "tlm-xz-9",
    ],
    "sweep": [
        *(f"gzip-{i}" for i in range(1, 10)), *(f"bzip2-{i}" for i in range(1, 10)),
        *(f"xz-{i}" for i in range(10)), *(f"zstd-{i}" for i in (1, 3, 6, 9, 12, 15, 19, 22)),
        "zstd-19-long", "zstd-dict-3", "zstd-dict-19",
        "tlm-zstd-3", "tlm-zstd-9", "tlm-zstd-19", "tlm-bz2-9", "tlm-xz-6", "tlm-xz-9",
    ],
}  # fmt: skip


def expand(spec: str) -> list[str]:
    """'default' or 'gzip-6,tlm-xz-9,paper' → codec names, set names expanded, order kept."""
    names: list[str] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        for name in SETS.get(part, [part]):
            if name not in names:
                names.append(name)
    return names
