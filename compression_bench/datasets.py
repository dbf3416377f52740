"""The data sets of a run: the paper's layout at 1x / 6x / 12x, our gateway's NDJSON of the same
readings, or a user's file; each with its information floor when the source model is known."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from compression_bench import generator as gen

UUID_BITS = 122
MS_BITS = math.log2(1000)  # the gateway stamps receipt time to the millisecond


@dataclass
class DataSet:
    name: str
    kind: str  # paper-csv | gateway-ndjson | input
    data: bytes
    rows: int
    floor_bytes: float | None  # information content; None when the source model is unknown
    training: bytes  # other data of the same layout, for zstd dictionaries
    note: str = ""

    def describe(self) -> dict:
        out = {
            "kind": self.kind,
            "rows": self.rows,
            "raw_bytes": len(self.data),
            "bytes_per_row": len(self.data) / self.rows if self.rows else None,
            "floor_bytes": self.floor_bytes,
            "floor_bytes_per_row": self.floor_bytes / self.rows if self.floor_bytes else None,
            "note": self.note,
        }
        return out


def paper_sets(rows: int, dups: list[int], seed: int = 20250510) -> list[DataSet]:
    readings = gen.generate(rows, seed)
    training = gen.paper_csv(gen.generate(min(rows, 20_000), seed + 1), 1, seed=99)
    out = []
    for dup in dups:
        # one copy of the readings carries their information; the copies add only new ids
        floor_bits = dup * rows * UUID_BITS + (dup + 1) * UUID_BITS + readings.bits
        out.append(
            DataSet(
                f"paper-{dup}x",
                "paper-csv",
                gen.paper_csv(readings, dup),
                rows * dup,
                floor_bits / 8,
                training,
                "paper layout, random UUID ids",
            )
        )
    return out


def gateway_set(rows: int, seed: int = 20250510) -> DataSet:
    readings = gen.generate(rows, seed)
    training = gen.gateway_ndjson(gen.generate(min(rows, 20_000), seed + 1))
    floor_bits = readings.bits + rows * MS_BITS
    return DataSet(
        "gateway-1x",
        "gateway-ndjson",
        gen.gateway_ndjson(readings),
        rows,
        floor_bits / 8,
        training,
        "uplink-api NDJSON, ids derived from gateway/node/boot/seq",
    )


def input_set(path: Path) -> DataSet:
    data = path.read_bytes()
    if not data:
        raise ValueError(f"{path}: empty file")
    rows = data.count(b"\n") or 1
    lines = data.splitlines(keepends=True)
    return DataSet(
        f"input:{path.name}",
        "input",
        data,
        rows,
        None,
        b"".join(lines[: max(1, len(lines) // 10)]),
        "user file; zstd dictionary trained on its first 10 % (not independent)",
    )
