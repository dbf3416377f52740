"""Benchmark: engine evaluations per second against scikit-fuzzy, measured in the same run.

The engine scores `n` random readings in one `evaluate` call (chunked internally); scikit-fuzzy's
ControlSystemSimulation scores a smaller sample one reading at a time (it has no batch API).
Both run in this one thread (numpy's element-wise operations do not spawn threads), so the
figures are single-core figures; `pin=True` additionally pins the process to one CPU. Rates are
wall-clock (best of `repeats` for the engine); the thread's CPU time is reported beside them
because the benchmark machine is shared and noisy.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

from fuzzy.engine import Engine
from fuzzy.loader import load_spec
from fuzzy.skfuzzy_ref import build_simulation, evaluate


def random_inputs(spec, n: int, seed: int = 12345) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {v.name: rng.uniform(v.minimum, v.maximum, n) for v in spec.inputs}


def pin_to_one_cpu() -> int | None:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return cpu
    except (AttributeError, OSError):
        return None


def run(profile: str, n: int, skfuzzy_n: int, repeats: int = 3, pin: bool = False) -> dict:
    cpu = pin_to_one_cpu() if pin else None
    spec = load_spec(profile)
    engine = Engine(spec)
    inputs = random_inputs(spec, n)
    engine.evaluate({k: v[:1000] for k, v in inputs.items()})  # warm-up
    best = best_cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        result = engine.evaluate(inputs)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.thread_time() - start_cpu)
    simulation = build_simulation(spec)
    sample = {k: v[:skfuzzy_n] for k, v in inputs.items()}
    start, start_cpu = time.perf_counter(), time.thread_time()
    reference = evaluate(simulation, spec, sample)
    skfuzzy_seconds = time.perf_counter() - start
    skfuzzy_cpu = time.thread_time() - start_cpu
    ours = result.outputs[spec.outputs[0].name][:skfuzzy_n]
    engine_rate = n / best
    skfuzzy_rate = skfuzzy_n / skfuzzy_seconds
    return {
        "profile": profile,
        "n": n,
        "skfuzzy_n": skfuzzy_n,
        "cpu": cpu,
        "engine_seconds": round(best, 4),
        "engine_evals_per_s": round(engine_rate),
        "skfuzzy_evals_per_s": round(skfuzzy_rate, 1),
        "ratio": round(engine_rate / skfuzzy_rate, 1),
        "engine_cpu_evals_per_s": round(n / best_cpu),
        "skfuzzy_cpu_evals_per_s": round(skfuzzy_n / skfuzzy_cpu, 1),
        "ratio_cpu": round((n / best_cpu) / (skfuzzy_n / skfuzzy_cpu), 1),
        "max_abs_diff_vs_skfuzzy": float(np.nanmax(np.abs(ours - reference))),
    }


def main(profile: str, n: int, skfuzzy_n: int, pin: bool = False) -> int:
    figures = run(profile, n, skfuzzy_n, pin=pin)
    print(
        f"{profile}: engine {figures['engine_evals_per_s']:,} evals/s "
        f"({n:,} readings in {figures['engine_seconds']} s), scikit-fuzzy "
        f"{figures['skfuzzy_evals_per_s']:,} evals/s ({skfuzzy_n} readings), "
        f"ratio {figures['ratio']:,}x, max |diff| {figures['max_abs_diff_vs_skfuzzy']:.2e}"
    )
    print(json.dumps(figures))
    return 0
