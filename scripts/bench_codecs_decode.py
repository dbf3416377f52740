"""Decode speed of ingest/codecs.py `iter_decompressed` (bounded streaming decompression that
checks the body ends where a stream ends) per encoding, beside the same-run anchor: the
implementation before that check (the stdlib's BZ2File/LZMAFile readers and zstandard's
stream_reader, read in the same 64 KiB chunks), which decoded the same bytes but ended
quietly on cut or trailing data. gzip goes through GzipFile in both: its ratio shows the
noise of the run. Both decode the same body, the paper's 1x rice data set
(49,785 readings) as uplink NDJSON; best of --repeats runs each, interleaved.

Usage: python scripts/bench_codecs_decode.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import lzma
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from bench_ingest import paper_readings  # noqa: E402

from ingest import codecs, wire  # noqa: E402

ANCHOR_READERS: dict[str, Callable[[io.BytesIO], io.BufferedIOBase]] = {
    "gzip": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    "bzip2": lambda f: bz2.BZ2File(f, mode="rb"),
    "xz": lambda f: lzma.LZMAFile(f, mode="rb"),  # noqa: SIM115 - read in full, then dropped
    "zstd": lambda f: zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True),
}


def anchor(data: bytes, encoding: str) -> int:
    reader = ANCHOR_READERS[encoding](io.BytesIO(data))
    total = 0
    while chunk := reader.read(codecs.READ_SIZE):
        total += len(chunk)
    return total


def ours(data: bytes, encoding: str) -> int:
    return sum(map(len, codecs.iter_decompressed(data, encoding, 1 << 40)))


def best(fn: Callable[[bytes, str], int], data: bytes, encoding: str, raw: int) -> float:
    started = time.perf_counter()
    assert fn(data, encoding) == raw
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    raw = wire.encode_ndjson(paper_readings(1, "gw-bench"))
    print(f"body: {len(raw) / 1e6:.2f} MB NDJSON; load average {os.getloadavg()[0]:.2f}")
    print("encoding  compressed  ours MB/s  anchor MB/s  ours/anchor")
    for encoding in ANCHOR_READERS:
        data = codecs.compress(raw, encoding)
        times: dict[str, list[float]] = {"ours": [], "anchor": []}
        for _ in range(args.repeats):
            times["ours"].append(best(ours, data, encoding, len(raw)))
            times["anchor"].append(best(anchor, data, encoding, len(raw)))
        ours_s, anchor_s = min(times["ours"]), min(times["anchor"])
        print(
            f"{encoding:8} {len(data):>11,} {len(raw) / ours_s / 1e6:>10.1f}"
            f" {len(raw) / anchor_s / 1e6:>12.1f} {anchor_s / ours_s:>12.2f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("ours/anchor is a speed ratio: above 1, ours is faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
