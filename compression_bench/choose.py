"""Derive ``choice_table.json`` (read by ``choice.choose_codec``) from a run's batch study.

For each link and measured batch size the wire encoding with the least
``cpu_factor * compress_s + compressed_bytes * 8 / bandwidth + decompress_s`` wins; brackets
run to the geometric mid-point between measured sizes; a bracket keeps the previous one's
choice when that costs at most 5 % more (measurement noise must not flip the table).
``cpu_factor`` scales this machine's compress time to the gateway's (1.0 = as measured
here; it is not a measured Orange Pi figure).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from compression_bench.choice import LINKS_BIT_S, TABLE_PATH


def cost_s(entry: dict, link: str, cpu_factor: float = 1.0) -> float:
    return (
        cpu_factor * entry["compress_s_per_batch"]
        + entry["compressed_bytes_per_batch"] * 8 / LINKS_BIT_S[link]
        + entry["decompress_s_per_batch"]
    )


def derive_table(batches: dict, cpu_factor: float = 1.0, source: str = "") -> dict:
    sizes = sorted(int(s) for s in batches)
    links: dict[str, list] = {}
    for link in LINKS_BIT_S:
        rows: list[list] = []
        for i, size in enumerate(sizes):
            wire = {n: e for n, e in batches[str(size)].items() if e["wire_encoding"]}
            best = min(wire.values(), key=lambda e: cost_s(e, link, cpu_factor))
            choice = [best["wire_encoding"], best["level"] or 0]
            if rows:  # keep the previous bracket's choice when within 5 %: noise, not a trend
                prev = next(e for e in wire.values() if [e["wire_encoding"], e["level"] or 0]
                            == rows[-1][1:])  # fmt: skip
                if cost_s(prev, link, cpu_factor) <= 1.05 * cost_s(best, link, cpu_factor):
                    choice = rows[-1][1:]
            upper = None if i == len(sizes) - 1 else int(math.sqrt(size * sizes[i + 1]))
            if rows and rows[-1][1:] == choice:
                rows[-1][0] = upper
            else:
                rows.append([upper, *choice])
        links[link] = rows
    return {
        "provisional": False,
        "source": source,
        "cpu_factor": cpu_factor,
        "links_bit_s": LINKS_BIT_S,
        "links": links,
    }


def write_table(results_path: Path, out: Path = TABLE_PATH, cpu_factor: float = 1.0) -> dict:
    results = json.loads(results_path.read_text())
    if not results.get("batches"):
        raise ValueError(f"{results_path} has no batch study (run without --no-batches)")
    source = (
        f"measured: {results['meta']['command']} on {results['meta']['date']}, "
        f"derived by `python -m compression_bench choose --from {results_path}`"
    )
    table = derive_table(results["batches"], cpu_factor, source)
    links = ",\n".join(
        f'  "{link}": [{", ".join(json.dumps(r) for r in rows)}]'
        for link, rows in table["links"].items()
    )
    head = json.dumps({k: v for k, v in table.items() if k != "links"}, indent=1)[:-2]
    out.write_text(head + ',\n "links": {\n' + links + "\n }\n}\n")
    return table
