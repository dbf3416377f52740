"""Run the stages: start the server under test, run one headless locust process (or, for the
gateway with `--generator wrk`, one wrk process) per user count, sample CPU, write the results
(report.py)."""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from loadtests import payloads, report, sut
from loadtests.cpu import TreeCpu

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "sensors.lua"
GENERATORS = ("locust", "wrk")
USER_CLASSES = {
    ("gateway", "nowait"): "NoWaitNodeUser",
    ("gateway", "paced"): "NodeUser",
    ("ingest", "nowait"): "GatewayBatchUser",
    ("ingest", "paced"): "GatewayBatchUser",
}


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not match:
        raise ValueError(f"duration {text!r}: expected e.g. 60s, 5m, 1h or seconds")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
    return float(match.group(1)) * scale


def parse_users(text: str) -> list[int]:
    try:
        users = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(
            f"--users {text!r}: expected comma-separated integers, e.g. 25,50"
        ) from None
    if not users or min(users) < 1:
        raise ValueError(f"--users {text!r}: need at least one positive user count")
    return users


@dataclass
class RunConfig:
    target: str
    users: list[int]
    duration_s: float
    out: Path
    mode: str = "nowait"
    ramp_s: float | None = None
    gateways: int | None = None  # ingest target: tokens/gateways (default max users)
    batch_size: int = 120
    batch_pacing_s: float = 0.0
    ingest_workers: int = 2
    group_commit_ms: int | None = None  # gateway: agent's [buffer] group_commit_ms
    commit_gap_ms: int | None = None  # gateway: agent's [buffer] commit_gap_ms
    profile: str = "orchid"  # gateway: the nodes' profile
    generator: str = "locust"  # or wrk: gateway, no-wait only
    command: str = ""

    def __post_init__(self) -> None:
        if self.generator not in GENERATORS:
            raise ValueError(f"generator {self.generator!r}: expected one of {GENERATORS}")
        if self.generator == "wrk":
            if (self.target, self.mode) != ("gateway", "nowait"):
                raise ValueError(
                    "--generator wrk drives the gateway's no-wait users only "
                    "(use locust for --mode paced and --target ingest)"
                )
            if shutil.which("wrk") is None:
                raise ValueError(
                    "--generator wrk: the wrk binary is not on PATH "
                    "(apt-get install wrk; `make system-deps` installs it)"
                )

    @property
    def user_class(self) -> str:
        if self.generator == "wrk":
            return "wrk, one keep-alive connection a user, no wait"
        return USER_CLASSES[(self.target, self.mode)]

    def ramp_for(self, users: int) -> float:
        return self.ramp_s if self.ramp_s is not None else min(10.0, max(1.0, users / 50))


def run_stage(cfg: RunConfig, server: sut.Server, users: int, env: dict[str, str]) -> report.Stage:
    if cfg.generator == "wrk":
        return run_wrk_stage(cfg, server, users, env)
    ramp = cfg.ramp_for(users)
    prefix = cfg.out / f"stage-{users:04d}"
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--host", server.url, "-u", str(users), "-r", f"{users / ramp:.3f}",
        "-t", f"{ramp + cfg.duration_s:.0f}s", "--reset-stats", "--csv", str(prefix),
        "--loglevel", "WARNING", "--exit-code-on-error", "0", cfg.user_class,
    ]  # fmt: skip
    with TreeCpu(server.pid) as server_cpu, open(f"{prefix}.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        with TreeCpu(proc.pid) as loadgen_cpu:
            rc = proc.wait(timeout=ramp + cfg.duration_s + 120)
        end = time.monotonic()
    if rc != 0:
        raise RuntimeError(f"locust exited {rc} at {users} users; see {prefix}.log")
    return report.stage_from_csv(
        users, Path(f"{prefix}_stats.csv"), *_cpu_figures(cfg, end, server_cpu, loadgen_cpu)
    )


def _wrk(url: str, users: int, seconds: float, env: dict, log) -> subprocess.Popen:
    """One wrk process: `users` connections from one thread (a single-process load generator,
    as locust is here), the request timeout far above any latency we report."""
    cmd = ["wrk", "-t1", f"-c{users}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
           "--latency", "-s", str(WRK_SCRIPT), url]  # fmt: skip
    env = dict(env, WRK_NODES=str(users), WRK_BOOT=str(next(_boots)))
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def run_wrk_stage(
    cfg: RunConfig, server: sut.Server, users: int, env: dict[str, str]
) -> report.Stage:
    """wrk has no ramp and no statistics reset: a warm-up run of the ramp's length opens the
    connections and warms the agent, then a second wrk run of the hold time is the stage."""
    prefix = cfg.out / f"stage-{users:04d}"
    ramp = cfg.ramp_for(users)
    values = cfg.out / "wrk-values.ndjson"
    if not values.exists():
        rng = random.Random(7)
        make = payloads.PROFILES[cfg.profile]
        values.write_text("".join(json.dumps(make(rng)) + "\n" for _ in range(1024)))
    env = dict(env, WRK_VALUES=str(values))
    with open(f"{prefix}-warmup.log", "wb") as log:
        if _wrk(server.url, users, ramp, env, log).wait(timeout=ramp + 60) != 0:
            raise RuntimeError(f"wrk warm-up failed at {users} users; see {prefix}-warmup.log")
    with TreeCpu(server.pid) as server_cpu, open(f"{prefix}.log", "wb") as log:
        proc = _wrk(server.url, users, cfg.duration_s, env, log)
        with TreeCpu(proc.pid) as loadgen_cpu:
            rc = proc.wait(timeout=cfg.duration_s + 120)
        end = time.monotonic()
    if rc != 0:
        raise RuntimeError(f"wrk exited {rc} at {users} users; see {prefix}.log")
    result = parse_wrk(Path(f"{prefix}.log").read_text(errors="replace"))
    Path(f"{prefix}_wrk.json").write_text(json.dumps(result, indent=2) + "\n")
    return report.stage_from_wrk(users, result, *_cpu_figures(cfg, end, server_cpu, loadgen_cpu))


def _cpu_figures(cfg: RunConfig, end: float, server_cpu: TreeCpu, loadgen_cpu: TreeCpu):
    """(server % of one core, CPUs, load generator % of one core, load average) over the
    hold that ended at `end`."""
    hold = (end - cfg.duration_s, end - 0.5)
    return (
        server_cpu.core_percent(*hold),
        os.cpu_count() or 1,
        loadgen_cpu.core_percent(*hold),
        os.getloadavg()[0],
    )


def parse_wrk(text: str) -> dict:
    """The JSON line loadtests/wrk/sensors.lua prints when wrk is done."""
    for line in text.splitlines():
        if line.startswith("WRK-JSON "):
            return json.loads(line[len("WRK-JSON ") :])
    raise ValueError(f"no WRK-JSON line in wrk's output:\n{text[-2000:]}")


# a fresh boot number for each wrk process (the firmware's boot counter is 16-bit)
_boots = iter(range(int(time.time()) // 60 % 60_000 + 1, 65_536))


def run(cfg: RunConfig, log=print) -> list[report.Stage]:
    cfg.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(LOCUSTFILE.parents[1]))
    env["LOADTEST_BATCH_SIZE"] = str(cfg.batch_size)
    env["LOADTEST_BATCH_PACING"] = str(cfg.batch_pacing_s)
    env["LOADTEST_PROFILE"] = cfg.profile
    with tempfile.TemporaryDirectory(prefix=f"loadtest-{cfg.target}-") as tmp:
        work = Path(tmp)
        if cfg.target == "ingest":
            gateways = cfg.gateways or max(cfg.users)
            server, tokens = sut.start_ingest(work, gateways, workers=cfg.ingest_workers)
            env["LOADTEST_TOKENS"] = str(tokens)
        else:
            server = sut.start_gateway(
                work, group_commit_ms=cfg.group_commit_ms, commit_gap_ms=cfg.commit_gap_ms
            )
        log(f"{cfg.target} under test at {server.url} (pid {server.pid})")
        stages = []
        try:
            for users in cfg.users:
                stage = run_stage(cfg, server, users, env)
                log(
                    f"{users:>5} users: {stage.rps:8.1f} req/s  p50 {stage.p50_ms:g}  "
                    f"p95 {stage.p95_ms:g}  p99 {stage.p99_ms:g} ms  CPU {stage.cpu_pct:.1f} % "
                    f"of machine  failures {stage.failures}"
                )
                stages.append(stage)
        finally:
            server.stop()
            for path in (server.log_path, *(c.log_path for c in server.children)):
                if path.exists():
                    (cfg.out / path.name).write_bytes(path.read_bytes())
    meta = {
        "target": cfg.target,
        "user_class": cfg.user_class,
        "duration_s": cfg.duration_s,
        "ramp_s": cfg.ramp_for(max(cfg.users)),
        "ncpu": os.cpu_count() or 1,
        "batch_size": cfg.batch_size if cfg.target == "ingest" else None,
        "group_commit_ms": cfg.group_commit_ms if cfg.target == "gateway" else None,
        "commit_gap_ms": cfg.commit_gap_ms if cfg.target == "gateway" else None,
        "profile": cfg.profile if cfg.target == "gateway" else None,
        "generator": cfg.generator,
        "command": cfg.command or " ".join(shlex.quote(a) for a in sys.argv),
    }
    report.write_json(cfg.out / "summary.json", meta, stages)
    (cfg.out / "summary.md").write_text(report.markdown(meta, stages))
    report.chart(cfg.out / "chart.png", meta, stages)
    return stages
