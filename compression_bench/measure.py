"""One codec on one data set: size, speed, peak memory and the lossless proof.

Compression and decompression each run in a forked child process: its peak memory is the
growth of ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` over the value it inherited at the
fork (Linux reports KiB), i.e. everything the codec allocated, output buffer included.
Times are the best of a few repeats (the machine is shared and noisy).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
import traceback
from collections.abc import Callable
from typing import Any

from compression_bench.codecs import Codec
from compression_bench.records import same_records

MIN_TIMED_S = 0.4
MAX_REPEATS = 3
_CTX = mp.get_context("fork")


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_time(fn: Callable[[], Any], repeats: int = MAX_REPEATS) -> tuple[float, Any]:
    """Best wall time of up to `repeats` calls, stopping once MIN_TIMED_S has been spent."""
    best, spent, result = float("inf"), 0.0, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
        if spent >= MIN_TIMED_S:
            break
    return best, result


def _in_child(work: Callable[[], dict]) -> dict:
    parent, child = _CTX.Pipe(duplex=False)

    def target() -> None:
        try:
            base = _maxrss_mib()
            out = work()
            out["peak_mib"] = round(_maxrss_mib() - base, 1)
        except Exception as exc:  # reported, not raised: one bad codec must not stop a run
            out = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
        child.send(out)
        child.close()

    proc = _CTX.Process(target=target)
    proc.start()
    child.close()
    try:
        result = parent.recv()
    except EOFError:
        result = {"error": f"child died (exit code {proc.exitcode})"}
    proc.join()
    return result


def measure(codec: Codec, data: bytes, repeats: int = MAX_REPEATS) -> dict:
    comp = _in_child(
        lambda: dict(
            zip(
                ("compress_s", "blob"),
                best_time(lambda: codec.compress(data), repeats),
                strict=True,
            )
        )
    )
    if "error" in comp:
        return {"codec": codec.name, "lossless": False, "error": comp["error"]}
    blob = comp["blob"]

    def decompress() -> dict:
        seconds, out = best_time(lambda: codec.decompress(blob), repeats)
        return {
            "decompress_s": seconds,
            "identical": out == data,
            "lossless": same_records(data, out),
        }

    dec = _in_child(decompress)
    raw, size = len(data), len(blob)
    result = {
        "codec": codec.name,
        "wire_encoding": codec.wire_encoding,
        "raw_bytes": raw,
        "compressed_bytes": size,
        "ratio": raw / size if size else float("inf"),
        "saving": 1 - size / raw if raw else 0.0,
        "compress_s": comp["compress_s"],
        "compress_mb_s": raw / comp["compress_s"] / 1e6,
        "compress_peak_mib": comp["peak_mib"],
    }
    if "error" in dec:
        return result | {"lossless": False, "error": dec["error"]}
    return result | {
        "decompress_s": dec["decompress_s"],
        "decompress_mb_s": raw / dec["decompress_s"] / 1e6,
        "decompress_peak_mib": dec["peak_mib"],
        "lossless": dec["lossless"],
        "bytes_identical": dec["identical"],
    }
