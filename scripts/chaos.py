"""The chaos suite (`make chaos`): break the pipeline on purpose and count every reading from
birth to storage — generated, acknowledged, stored, duplicated, lost — then run the fuzzers
with many more examples than `make test` does. Prints one table and writes the figures as
JSON (default out/chaos.json) for docs/reliability.md.

    .venv/bin/python scripts/chaos.py            # full: ~15 min on a 2-core box
    .venv/bin/python scripts/chaos.py --short    # CI form: a few minutes
    .venv/bin/python scripts/chaos.py --only kill9,replug --no-fuzz

Exit status 1 if any scenario lost or duplicated a reading, or a fuzz target crashed.
The disk-full scenario mounts a tmpfs and so needs root (it is skipped, and says so, if not).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability import scenarios  # noqa: E402

FUZZ_FILES = [
    "tests/reliability/test_fuzz_frames.py",
    "tests/reliability/test_fuzz_batches.py",
    "tests/reliability/test_fuzz_codecs.py",
    "tests/reliability/test_fuzz_files.py",
    "tests/reliability/test_hostile_http.py",
    "tests/reliability/test_hostile_server.py",
]


def run_scenario(name: str, plan: scenarios.Plan, seed: int, base: Path) -> dict[str, Any]:
    if name == "disk_full" and os.geteuid() != 0:
        return {"skipped": "needs root to mount a tmpfs"}
    work = base / name
    work.mkdir(parents=True)
    started = time.monotonic()
    try:
        figures = scenarios.SCENARIOS[name](work, plan, random.Random(seed))
    except Exception as exc:  # a scenario that cannot run is reported, not hidden
        traceback.print_exc()
        return {
            "error": f"{type(exc).__name__}: {exc}",
            "seconds": round(time.monotonic() - started),
        }
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


def run_fuzz(examples: int, out: Path) -> dict[str, Any]:
    figures_path = out.with_suffix(".fuzz.json")
    env = {**os.environ, "RELIABILITY_FUZZ_EXAMPLES": str(examples),
           "RELIABILITY_FIGURES": str(figures_path), "PYTHONPATH": str(ROOT)}  # fmt: skip
    files = [f for f in FUZZ_FILES if (ROOT / f).exists()]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    figures = json.loads(figures_path.read_text()) if figures_path.exists() else {}
    inputs = figures.get("inputs", {})
    known = {k: v for k, v in inputs.items() if k.startswith("known crash")}
    return {
        "examples_per_property": examples,
        "inputs_tried": sum(v for k, v in inputs.items() if not k.startswith("known crash")),
        "targets": {k: v for k, v in inputs.items() if not k.startswith("known crash")},
        "known_crash_inputs": known,
        "failed_tests": figures.get("failed_tests"),
        "pytest": summary,
        "exit": done.returncode,
        "seconds": round(time.monotonic() - started, 1),
    }


def verdict(results: dict[str, Any]) -> list[str]:
    problems = []
    for name, fig in results["scenarios"].items():
        if "error" in fig:
            problems.append(f"{name}: {fig['error']}")
        elif "skipped" not in fig and (fig.get("lost") or fig.get("duplicated")):
            problems.append(f"{name}: lost {fig['lost']}, duplicated {fig['duplicated']}")
    fuzz = results.get("fuzz")
    if fuzz and fuzz["exit"] != 0:
        problems.append(f"fuzz: {fuzz['pytest']}")
    return problems


def table(results: dict[str, Any]) -> str:
    head = f"{'scenario':<15}{'cycles':>7}{'generated':>10}{'acked':>8}{'stored':>8}"
    head += f"{'dup':>5}{'lost':>6}{'secs':>7}"
    lines = [head]
    for name, fig in results["scenarios"].items():
        if "generated" not in fig:
            lines.append(f"{name:<15} {fig.get('skipped') or fig.get('error')}")
            continue
        lines.append(
            f"{name:<15}{fig.get('cycles', fig.get('disk_mb', '')):>7}{fig['generated']:>10}"
            f"{fig['acknowledged']:>8}{fig['stored']:>8}{fig['duplicated']:>5}{fig['lost']:>6}"
            f"{fig['seconds']:>7}"
        )
    fuzz = results.get("fuzz")
    if fuzz:
        lines.append(
            f"fuzz: {fuzz['inputs_tried']} inputs ({fuzz['examples_per_property']} examples per"
            f" property), known-crash inputs {sum(fuzz['known_crash_inputs'].values())},"
            f" pytest: {fuzz['pytest']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--short", action="store_true", help="the CI form (a few minutes)")
    p.add_argument("--only", help=f"comma-separated scenarios of {','.join(scenarios.SCENARIOS)}")
    p.add_argument("--no-fuzz", action="store_true", help="skip the long fuzz run")
    p.add_argument("--fuzz-examples", type=int, help="hypothesis examples per property")
    p.add_argument("--seed", type=int, default=9, help="random seed of the chaos timings")
    p.add_argument("--out", type=Path, default=ROOT / "out" / "chaos.json")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, stores)")
    args = p.parse_args(argv)

    plan = scenarios.SHORT if args.short else scenarios.FULL
    names = args.only.split(",") if args.only else list(scenarios.SCENARIOS)
    unknown = set(names) - set(scenarios.SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s) {sorted(unknown)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="chaos-"))
    started = time.monotonic()
    results: dict[str, Any] = {
        "command": "scripts/chaos.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "plan": vars(plan),
        "scenarios": {},
    }
    for i, name in enumerate(names):
        print(f"[chaos] {name} ...", flush=True)
        results["scenarios"][name] = run_scenario(name, plan, args.seed + i, base)
        print(f"[chaos] {name}: {json.dumps(results['scenarios'][name])}", flush=True)
    if not args.no_fuzz:
        examples = args.fuzz_examples or (300 if args.short else 2000)
        print(f"[chaos] fuzz with {examples} examples per property ...", flush=True)
        results["fuzz"] = run_fuzz(examples, args.out)
    results["seconds"] = round(time.monotonic() - started, 1)
    problems = verdict(results)
    results["problems"] = problems
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True))
    print(table(results))
    print(f"[chaos] {results['seconds']} s; figures in {args.out}; work dir {base}")
    if not args.keep:
        subprocess.run(["rm", "-rf", str(base)], check=False)
    for problem in problems:
        print(f"[chaos] PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
