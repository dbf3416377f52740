"""A benchmark run: data sets × codecs measured, targets judged, results.json + report + plots."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from compression_bench import batches as batch_study
from compression_bench import codecs as cb
from compression_bench import datasets as ds
from compression_bench.measure import measure

PAPER = {
    "rows": 49_785,
    "bytes_per_row": 9.41e6 / 49_785,
    "sets": {
        "paper-1x": {"raw_mb": 9.41, "gzip_mb": 1.82, "bzip2_mb": 1.27,
                     "gzip": 5.164, "bzip2": 7.421},
        "paper-6x": {"raw_mb": 56.48, "gzip_mb": 10.94, "bzip2_mb": 7.60,
                     "gzip": 5.164, "bzip2": 7.43},
        "paper-12x": {"raw_mb": 112.95, "gzip_mb": 21.87, "bzip2_mb": 15.20,
                      "gzip": 5.164, "bzip2": 7.429},
    },
    "saving": {"gzip": 0.806, "bzip2": 0.865},
    "transfer_s": {
        "paper-1x": {"identity": 15.31, "gzip": 6.45, "bzip2": 7.79},
        "paper-6x": {"identity": 113.5, "gzip": 21.55, "bzip2": 21.04},
        "paper-12x": {"identity": 229.88, "gzip": 57.26, "bzip2": 39.53},
    },
}  # fmt: skip


def codec_names(dataset: ds.DataSet, spec: str | None) -> list[str]:
    if spec:
        return cb.expand(spec)
    big = dataset.kind == "paper-csv" and not dataset.name.endswith("-1x")
    return cb.SETS["large" if big else "default"]


def judge_targets(results: dict) -> dict:
    out: dict = {}
    paper = results.get("paper-1x")
    if paper and {"gzip-6", "bzip2-9"} <= paper["codecs"].keys():
        codecs = paper["codecs"]
        gz, bz = codecs["gzip-6"], codecs["bzip2-9"]
        faster = [
            c
            for n, c in codecs.items()
            if c.get("lossless") and n != "gzip-6" and c["compress_mb_s"] > gz["compress_mb_s"]
        ]
        best = max(faster, key=lambda c: c["ratio"], default=None)
        floor = paper["floor_bytes"]
        out["target1"] = {
            "data_set": "paper-1x",
            "rule": "ratio >= 1.3 x bzip2-9, compress MB/s > gzip-6, lossless",
            "bzip2_9_ratio": bz["ratio"],
            "needed_ratio": 1.3 * bz["ratio"],
            "gzip_6_compress_mb_s": gz["compress_mb_s"],
            "best_codec": best and best["codec"],
            "best_ratio": best and best["ratio"],
            "best_compress_mb_s": best and best["compress_mb_s"],
            "x_bzip2": best and best["ratio"] / bz["ratio"],
            "floor_ratio": floor and paper["raw_bytes"] / floor,
            "uuid_bytes_per_row": ds.UUID_BITS / 8,
            "passed": bool(best and best["ratio"] >= 1.3 * bz["ratio"]),
        }
    gate = results.get("gateway-1x")
    if gate and "bzip2-9" in gate["codecs"]:
        codecs = gate["codecs"]
        bz = codecs["bzip2-9"]
        best = max((c for c in codecs.values() if c.get("lossless")), key=lambda c: c["ratio"])
        out["target2"] = {
            "data_set": "gateway-1x",
            "rule": "ratio >= 3 x bzip2-9 on the gateway's NDJSON, lossless",
            "bzip2_9_ratio": bz["ratio"],
            "best_codec": best["codec"],
            "best_ratio": best["ratio"],
            "x_bzip2": best["ratio"] / bz["ratio"],
            "passed": best["ratio"] >= 3 * bz["ratio"],
        }
    return out


def run(
    out_dir: Path,
    rows: int = ds.gen.PAPER_ROWS,
    dups: list[int] | None = None,
    codecs: str | None = None,
    input_path: Path | None = None,
    with_batches: bool = True,
    transfer: dict | None = None,
    progress: bool = True,
    command: str = "",
) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    if input_path is not None:
        sets = [ds.input_set(input_path)]
    else:
        sets = [*ds.paper_sets(rows, dups or [1, 6, 12]), ds.gateway_set(rows)]
    plan = [(s, name) for s in sets for name in codec_names(s, codecs)]
    results: dict[str, dict] = {s.name: s.describe() | {"codecs": {}} for s in sets}
    for dataset, name in tqdm(plan, desc="codecs", unit="run", disable=not progress):
        try:
            codec = cb.make(name, training=dataset.training)
        except ValueError as exc:  # e.g. a dictionary with too little training data
            results[dataset.name]["codecs"][name] = {"codec": name, "error": str(exc)}
            continue
        r = measure(codec, dataset.data)
        if "compressed_bytes" in r:
            r["bytes_per_row"] = r["compressed_bytes"] / dataset.rows
            if dataset.floor_bytes:
                r["x_floor"] = r["compressed_bytes"] / dataset.floor_bytes
        results[dataset.name]["codecs"][name] = r
    gateway = next((s for s in sets if s.kind == "gateway-ndjson"), None)
    batches = (
        batch_study.study(gateway.data, gateway.training, progress=progress)
        if with_batches and gateway
        else {}
    )
    doc = {
        "meta": {
            "command": command or "python -m compression_bench run",
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": sys.version.split()[0],
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
            "peak_memory": "ru_maxrss growth in a forked child per compress / decompress",
        },
        "paper": PAPER,
        "datasets": results,
        "targets": judge_targets(results),
        "batches": batches,
        "transfer": transfer or {},
    }
    (out_dir / "results.json").write_text(json.dumps(doc, indent=1) + "\n")
    return doc
