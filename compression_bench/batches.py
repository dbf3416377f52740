"""Per-batch study: how each wire encoding does on batches of our gateway's NDJSON of a given
size (what the edge agent ships every few minutes), the input of the ``auto`` choice."""

from __future__ import annotations

import time

from tqdm import tqdm

from compression_bench import codecs as cb

SIZES = (1024, 4096, 16384, 65536, 262144, 1048576)
WIRE_CODECS = [
    "identity", "gzip-1", "gzip-6", "gzip-9", "bzip2-1", "bzip2-9", "xz-0", "xz-6", "xz-9",
    "zstd-1", "zstd-3", "zstd-9", "zstd-19",
]  # fmt: skip
EXTRA_CODECS = ["zstd-dict-3", "zstd-dict-19", "tlm-zstd-19", "tlm-xz-9"]
BUDGET_BYTES = 2 * 1024 * 1024  # raw bytes compressed per (size, codec) ...
MAX_BATCHES = 48  # ... and at most this many batches (xz -9 allocates ~670 MiB per call)


def split_batches(data: bytes, size: int) -> list[bytes]:
    """Whole lines, each batch at most `size` bytes (at least one line)."""
    batches, current, used = [], [], 0
    for line in data.splitlines(keepends=True):
        if current and used + len(line) > size:
            batches.append(b"".join(current))
            current, used = [], 0
        current.append(line)
        used += len(line)
    if current:
        batches.append(b"".join(current))
    return batches


def study(data: bytes, training: bytes, sizes=SIZES, codecs=None, progress=True) -> dict:
    names = codecs or WIRE_CODECS + EXTRA_CODECS
    made = [cb.make(n, training=training) for n in names]
    out: dict[str, dict] = {}
    total = len(sizes) * len(made)
    bar = tqdm(total=total, desc="batches", unit="codec", disable=not progress)
    for size in sizes:
        batches = split_batches(data, size)
        keep = max(1, min(len(batches), BUDGET_BYTES // size, MAX_BATCHES))
        step = max(1, len(batches) // keep)
        chosen = batches[::step][:keep]
        raw = sum(map(len, chosen))
        per_codec = {}
        for codec in made:
            comp_s = dec_s = 0.0
            size_out = 0
            for batch in chosen:
                t0 = time.perf_counter()
                blob = codec.compress(batch)
                t1 = time.perf_counter()
                back = codec.decompress(blob)
                t2 = time.perf_counter()
                if back != batch:
                    raise AssertionError(f"{codec.name} lost data on a {size}-byte batch")
                comp_s, dec_s, size_out = comp_s + t1 - t0, dec_s + t2 - t1, size_out + len(blob)
            n = len(chosen)
            per_codec[codec.name] = {
                "wire_encoding": codec.wire_encoding,
                "level": codec.level,
                "batches": n,
                "raw_bytes_per_batch": raw / n,
                "compressed_bytes_per_batch": size_out / n,
                "ratio": raw / size_out,
                "compress_s_per_batch": comp_s / n,
                "decompress_s_per_batch": dec_s / n,
            }
            bar.update()
        out[str(size)] = per_codec
    bar.close()
    return out
