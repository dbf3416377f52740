"""`python -m loadtests run --target gateway|ingest --users 25,50,75,100 --duration 60s
[--out DIR]`: see loadtests/__init__.py and docs/loadtests.md."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from loadtests.runner import RunConfig, parse_duration, parse_users, run


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loadtests", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="start the server under test and run the stages")
    r.add_argument("--target", choices=("gateway", "ingest"), required=True)
    r.add_argument("--users", default="25,50,75,100", help="comma-separated user counts")
    r.add_argument("--duration", default="60s", help="hold time of each stage (60s, 5m)")
    r.add_argument("--ramp", help="ramp-up of each stage (default users/50 s, 1-10 s)")
    r.add_argument("--out", type=Path, help="result dir (default out/loadtests/TARGET-TIME)")
    r.add_argument(
        "--mode", choices=("nowait", "paced"), default="nowait",
        help="gateway: nowait = k6-style users posting back to back; paced = one reading "
        "every 5 s per node. ingest: paced uses --batch-pacing",
    )  # fmt: skip
    r.add_argument("--gateways", type=int, help="ingest: gateway tokens (default max users)")
    r.add_argument("--batch-size", type=int, default=120, help="ingest: readings a batch")
    r.add_argument("--batch-pacing", default="0s", help="ingest: time between a gateway's batches")
    r.add_argument("--ingest-workers", type=int, default=2, help="ingest: gunicorn workers")
    r.add_argument(
        "--group-commit-ms", type=int,
        help="gateway: the agent's [buffer] group_commit_ms (its default is 100)",
    )  # fmt: skip
    r.add_argument(
        "--commit-gap-ms", type=int,
        help="gateway: the agent's [buffer] commit_gap_ms (its default is 10)",
    )  # fmt: skip
    r.add_argument(
        "--profile", choices=("orchid", "rice"), default="orchid",
        help="gateway: the nodes' profile (orchid readings are fuzzy-scored by the agent)",
    )  # fmt: skip
    r.add_argument(
        "--generator", choices=("locust", "wrk"), default="locust",
        help="gateway no-wait users only: wrk (C, one thread, µs latencies; the closest to the "
        "paper's k6 that installs here) instead of locust",
    )  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    try:
        cfg = RunConfig(
            target=args.target,
            users=parse_users(args.users),
            duration_s=parse_duration(args.duration),
            out=args.out
            or Path("out/loadtests") / f"{args.target}-{time.strftime('%Y%m%dT%H%M%S')}",
            mode=args.mode,
            ramp_s=parse_duration(args.ramp) if args.ramp else None,
            gateways=args.gateways,
            batch_size=args.batch_size,
            batch_pacing_s=parse_duration(args.batch_pacing),
            ingest_workers=args.ingest_workers,
            group_commit_ms=args.group_commit_ms,
            commit_gap_ms=args.commit_gap_ms,
            profile=args.profile,
            generator=args.generator,
            command="python -m loadtests " + shlex.join(argv),
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run(cfg)
    print(f"results in {cfg.out}/ (summary.md, summary.json, chart.png, stage-*_stats.csv)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
