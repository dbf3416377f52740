"""Turn locust's CSV output into the run's results: per-stage figures, summary.json, a
Markdown summary beside the paper's k6 table, and a PNG chart. No network, no processes."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

# The paper's k6 load test of the gateway's /sensors (Orange Pi 3 LTS, 4 cores):
# users → (mean ms, p99 ms, gateway CPU %). paper-figures.md.
PAPER_GATEWAY = {25: (121, 386, 11.15), 50: (140, 501, 25.83), 75: (163, 593, 37.7),
                 100: (186, 662, 52.3)}  # fmt: skip


@dataclass
class Stage:
    users: int
    requests: int
    failures: int
    rps: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    cpu_pct: float  # server process tree, % of the whole machine (all cores)
    cpu_core_pct: float  # the same in % of one core
    loadgen_cpu_core_pct: float  # the load generator (locust or wrk), % of one core
    loadavg_1m: float = math.nan  # the machine's 1-minute load average at the stage's end


def read_aggregated(stats_csv: Path) -> dict[str, str]:
    with open(stats_csv, newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                return row
    raise ValueError(f"{stats_csv} has no Aggregated row (did locust run any request?)")


def stage_from_csv(
    users: int, stats_csv: Path, cpu_core: float, ncpu: int, loadgen: float, loadavg: float
) -> Stage:
    row = read_aggregated(stats_csv)

    def num(key: str) -> float:
        value = row.get(key, "")
        return float(value) if value not in ("", "N/A") else math.nan

    return Stage(
        users=users,
        requests=int(num("Request Count")),
        failures=int(num("Failure Count")),
        rps=round(num("Requests/s"), 2),
        mean_ms=round(num("Average Response Time"), 2),
        p50_ms=num("50%"),
        p95_ms=num("95%"),
        p99_ms=num("99%"),
        max_ms=round(num("Max Response Time"), 2),
        **_cpu(cpu_core, ncpu, loadgen, loadavg),
    )


def stage_from_wrk(
    users: int, result: dict, cpu_core: float, ncpu: int, loadgen: float, loadavg: float
) -> Stage:
    """A stage from the JSON line of loadtests/wrk/sensors.lua (latencies in µs)."""
    seconds = result["duration_us"] / 1e6
    return Stage(
        users=users,
        requests=result["requests"],
        failures=result["non2xx"] + result["socket_errors"] + result["timeouts"],
        rps=round(result["requests"] / seconds, 2) if seconds else math.nan,
        mean_ms=round(result["mean_us"] / 1000, 2),
        p50_ms=round(result["p50_us"] / 1000, 1),
        p95_ms=round(result["p95_us"] / 1000, 1),
        p99_ms=round(result["p99_us"] / 1000, 1),
        max_ms=round(result["max_us"] / 1000, 2),
        **_cpu(cpu_core, ncpu, loadgen, loadavg),
    )


def _cpu(cpu_core: float, ncpu: int, loadgen: float, loadavg: float) -> dict[str, float]:
    return {
        "cpu_pct": round(cpu_core / ncpu, 2),
        "cpu_core_pct": round(cpu_core, 2),
        "loadgen_cpu_core_pct": round(loadgen, 2),
        "loadavg_1m": round(loadavg, 2),
    }


def write_json(path: Path, meta: dict, stages: list[Stage]) -> None:
    path.write_text(json.dumps({**meta, "stages": [asdict(s) for s in stages]}, indent=2) + "\n")


def _fmt(value: float, digits: int = 0) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def markdown(meta: dict, stages: list[Stage]) -> str:
    gateway = meta["target"] == "gateway"
    wrk = meta.get("generator") == "wrk"
    timing = (
        "wrk (one thread) records each latency in µs; the ramp is a separate warm-up run, "
        "not counted."
        if wrk
        else "Locust rounds latencies to whole ms (2 significant digits above 100 ms)."
    )
    lines = [
        f"# Load test: {meta['target']} ({meta['user_class']})",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['ncpu']} CPUs; stage = {meta['ramp_s']:g} s ramp + "
        f"{meta['duration_s']:g} s hold (statistics reset after the ramp). CPU = the server's "
        f"process tree, % of the whole machine (and of one core). {timing} load = the "
        "machine's 1-minute load average at the end of the stage (other work shares this box).",
        "",
    ]
    loadgen = "wrk" if wrk else "locust"
    ms = 1 if wrk else 0  # digits: wrk's latencies are µs, locust's whole ms
    per_request = meta.get("batch_size") or 1
    header = (
        "| users | req/s |"
        + (" readings/s |" if per_request > 1 else "")
        + " failures | mean ms | p50 ms | p95 ms | p99 ms | CPU % (1 core) |"
        + f" {loadgen} CPU % | load |"
    )
    if gateway:
        header += " paper mean | paper p99 | paper CPU |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for s in stages:
        row = (
            f"| {s.users} | {_fmt(s.rps, 1)} | "
            + (f"{_fmt(s.rps * per_request)} | " if per_request > 1 else "")
            + f"{s.failures} | {_fmt(s.mean_ms, 1)} | {_fmt(s.p50_ms, ms)} "
            f"| {_fmt(s.p95_ms, ms)} | {_fmt(s.p99_ms, ms)} "
            f"| {_fmt(s.cpu_pct, 1)} ({_fmt(s.cpu_core_pct, 1)}) | {_fmt(s.loadgen_cpu_core_pct)} "
            f"| {_fmt(s.loadavg_1m, 1)} |"
        )
        if gateway:
            paper = PAPER_GATEWAY.get(s.users)
            row += f" {paper[0]} ms | {paper[1]} ms | {paper[2]} % |" if paper else " – | – | – |"
        lines.append(row)
    if gateway:
        lines += [
            "",
            "Paper: k6 against the Orange Pi 3 LTS gateway, 0→N in 5 min, hold 30 min, down 5 min; "
            "criterion p99 < 1 s and CPU < 60 %.",
        ]
    return "\n".join(lines) + "\n"


def chart(path: Path, meta: dict, stages: list[Stage]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    users = [s.users for s in stages]
    fig, (lat, thr, cpu) = plt.subplots(1, 3, figsize=(14, 4.2))
    for key, style in (("p50_ms", "o-"), ("p95_ms", "s-"), ("p99_ms", "^-")):
        lat.plot(users, [getattr(s, key) for s in stages], style, label=key.replace("_ms", ""))
    thr.plot(users, [s.rps for s in stages], "o-", label="req/s")
    cpu.plot(users, [s.cpu_pct for s in stages], "o-", label="server CPU (% machine)")
    loadgen = meta.get("generator") or "locust"
    cpu.plot(
        users, [s.loadgen_cpu_core_pct for s in stages], "x--", label=f"{loadgen} CPU (% 1 core)"
    )
    if meta["target"] == "gateway":
        paper = [(u, PAPER_GATEWAY[u]) for u in users if u in PAPER_GATEWAY]
        if paper:
            lat.plot(
                [u for u, _ in paper],
                [p[1] for _, p in paper],
                "k^:",
                label="paper p99 (Orange Pi)",
            )
            cpu.plot(
                [u for u, _ in paper],
                [p[2] for _, p in paper],
                "ko:",
                label="paper CPU (Orange Pi)",
            )
    lat.set(title="Latency", xlabel="users", ylabel="ms")
    lat.set_yscale("log")
    thr.set(title="Throughput", xlabel="users", ylabel="requests/s")
    cpu.set(title="CPU", xlabel="users", ylabel="%")
    for ax in (lat, thr, cpu):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{meta['target']} — {meta['user_class']} ({meta['duration_s']:g} s per stage)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
