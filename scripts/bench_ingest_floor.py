"""What one reading costs at each stage of the sqlite ingest path, each stage alone, in this
process (no HTTP, no locks): the floor under the end-to-end figure of bench_ingest.py, set
beside the 5 µs a reading that the 200k readings/s target leaves on one core.

Stages: gunzip of the NDJSON body; msgspec `decode_lines` into `fastwire.Reading`; the
batch checks (`Checker.all_ok`); the canonical-id check of the ledger (`canonical_flags`:
one SHA-1 per reading); the store's block building (`blocks`: readings grouped per node and
encoded as JSON arrays); their INSERT and COMMIT; the ledger claim (prepare + sequence runs,
format 4); the per-node summary; the notification rules (`evaluate_many` per node). Then
the paper's CSV layout, parsed by block and line by line. CPU time (`time.process_time`),
the best of `--repeat` runs, on `--rows` readings of the paper's layout in 10k-reading
batches.

Usage: python scripts/bench_ingest_floor.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_ingest import chunks, paper_csv, paper_readings  # noqa: E402

from ingest import codecs, fastwire, formats, wire  # noqa: E402
from ingest.notify import rules  # noqa: E402
from ingest.notify.bands import optimal_bands  # noqa: E402
from ingest.stores import idledger, summary  # noqa: E402
from ingest.stores import sqlite as sqlite_store  # noqa: E402

BUDGET_US = 5.0  # 200,000 readings/s on one core
NOT_SUMMED = {"canonical-id check": "part of the ledger claim"}


def best(repeat: int, run: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return min(times)


def claim_all(
    db: sqlite3.Connection,
    batches: list[list[fastwire.Reading]],
    prepare: Callable[[Any], Any] = idledger.prepare,
    claim: Callable[[sqlite3.Connection, Any], Any] = idledger.claim,
) -> None:
    """Claim each batch in its own write transaction; every reading must be new (the
    ledger's fast path). `prepare`/`claim`: another ledger's pair, for comparisons."""
    for batch in batches:
        prepared = prepare(batch)
        db.execute("BEGIN IMMEDIATE")
        assert claim(db, prepared) is None
        db.execute("COMMIT")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scale = max(1, -(-args.rows // 49_785))
    readings = paper_readings(scale, "gw-bench")[: args.rows]
    n = len(readings)
    batches = [wire.encode_ndjson(c) for c in chunks(readings, 10_000)]
    bodies = [codecs.compress(b, "gzip") for b in batches]
    print(f"{n} readings of the paper's layout, {len(batches)} batches", flush=True)
    decoded = [fastwire._one.decode_lines(b) for b in batches]
    work = Path(tempfile.mkdtemp(prefix="ingest-floor-"))

    def insert() -> None:
        path = work / f"b{time.monotonic_ns()}.sqlite3"
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(sqlite_store._SCHEMA)
        for batch in built:
            db.execute("BEGIN IMMEDIATE")
            sqlite_store._insert_blocks(db, batch)
            db.execute("COMMIT")
        db.close()

    built = [sqlite_store.blocks(batch) for batch in decoded]

    def ledger() -> None:
        db = sqlite3.connect(work / f"l{time.monotonic_ns()}.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        idledger.setup(db)
        claim_all(db, decoded)
        db.close()

    def notify() -> None:
        """The rules over each batch, per node in time order, states kept across batches."""
        states: dict[str, rules.NodeState] = {}
        for batch in decoded:
            for node, group in rules.by_node(batch).items():
                state = states.setdefault(node, rules.NodeState())
                rules.evaluate_many(state, group, optimal_bands(group[-1].profile))

    checker = fastwire.Checker()
    stages = [
        ("gunzip", lambda: [codecs.decompress(b, "gzip") for b in bodies]),
        ("msgspec decode_lines", lambda: [fastwire._one.decode_lines(b) for b in batches]),
        ("batch checks (all_ok)", lambda: [checker.all_ok(b) for b in decoded]),
        ("canonical-id check", lambda: [idledger.canonical_flags(b) for b in decoded]),
        ("block building (blocks)", lambda: [sqlite_store.blocks(b) for b in decoded]),
        ("blocks INSERT + COMMIT", insert),
        ("ledger claim (prepare + runs)", ledger),
        ("node summary (summarize)", lambda: [summary.summarize(b) for b in decoded]),
        ("notification rules (evaluate_many)", notify),
    ]
    total = 0.0
    print(f"\n{'stage':<40} {'µs/reading':>10}   budget for 200k/s: {BUDGET_US:.1f} µs in all")
    for name, run in stages:
        us = best(args.repeat, run) / n * 1e6
        summed = name not in NOT_SUMMED
        total += us if summed else 0.0
        note = "" if summed else f"   (not summed: {NOT_SUMMED[name]})"
        print(f"{name:<40} {us:>10.2f}{note}", flush=True)
    print(f"{'sum':<40} {total:>10.2f}   = {1e6 / total:,.0f} readings/s at most")

    # The paper's CSV layout: the block parser against the line-by-line reference.
    lines = paper_csv(readings[:20_000]).split(b"\n")[:-1]
    blocks = [
        (start + 1, b"".join(line + b"\n" for line in lines[start : start + 500]))
        for start in range(0, len(lines), 500)
    ]
    rows_n = len(lines) - 1
    slow = best(args.repeat, lambda: formats.parse("csv", lines)) / rows_n * 1e6
    fast = best(args.repeat, lambda: formats.parse_blocks("csv", blocks)) / rows_n * 1e6
    print(f"\nCSV parse, {rows_n} rows: line by line {slow:.1f} µs/row (the reference),"
          f" by block {fast:.1f} µs/row ({slow / fast:.1f}x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
