"""Profile the ingest in-process: the paper's data set posted as gzip NDJSON batches through
the Flask test client (no HTTP server, no gunicorn), printing CPU time per reading and, with
`--profile`, cProfile's top functions by own time. For finding where a reading's CPU goes;
bench_ingest.py gives the end-to-end figures.

Usage: python scripts/profile_ingest.py [--scale 12] [--batch 10000] [--format csv] [--profile]
           [--sort cumulative] [--top 60]
(`--batch 1440` = the paper's 10-minute dumps of 12 nodes; `--format csv` = the paper's CSV
layout, as bench_ingest.py sends it)
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_ingest import chunks, paper_csv, paper_readings  # noqa: E402

from ingest import codecs, wire  # noqa: E402
from ingest.app import close_app, create_app  # noqa: E402
from ingest.settings import Settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=12, help="nodes (12 = the paper's 12×)")
    parser.add_argument("--batch", type=int, default=10_000, help="readings per batch")
    parser.add_argument("--format", choices=("ndjson", "csv"), default="ndjson")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--sort", default="tottime", help="cProfile order (e.g. cumulative)")
    parser.add_argument("--top", type=int, default=25, help="how many functions to print")
    args = parser.parse_args()
    readings = paper_readings(args.scale, "gw-bench")
    encode = paper_csv if args.format == "csv" else wire.encode_ndjson
    bodies = [codecs.compress(encode(c), "gzip") for c in chunks(readings, args.batch)]
    n = len(readings)
    del readings
    app = create_app(Settings(var_dir=Path(tempfile.mkdtemp()), rate_limit=0, silent_sweep_s=0))
    token = app.extensions["ingest"].tokens.create("gateway", "gw-bench")
    client = app.test_client()
    mime = "text/csv" if args.format == "csv" else "application/x-ndjson"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": mime,
               "Content-Encoding": "gzip"}  # fmt: skip

    def run() -> None:
        for body in bodies:
            answer = client.post(
                "/v1/batches", data=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
            )
            if answer.status_code != 200:
                raise SystemExit(f"batch refused: {answer.status_code} {answer.json}")

    profiler = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.runcall(run)
    else:
        run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{n} readings in {len(bodies)} batches: {cpu / n * 1e6:.1f} µs CPU a reading,"
          f" {n / wall:,.0f} readings/s wall (in-process)")  # fmt: skip
    if profiler is not None:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    close_app(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
