"""Plot a soak run's curve (the JSON that `agent_bench_soak.py --out` writes): the agent's RSS
and the readings pending in its buffer against time, the ingest outage shaded, the 60 MB
target and the in-memory anchor for the largest backlog drawn as lines.

    python scripts/agent_soak_plot.py soak.json docs/agent-soak-3600s.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TARGET_MB = 60.0


def outage_spans(curve: list[dict]) -> list[tuple[float, float]]:
    spans, start = [], None
    for point in curve:
        if point["ingest_down"] and start is None:
            start = point["t"]
        elif not point["ingest_down"] and start is not None:
            spans.append((start, point["t"]))
            start = None
    if start is not None:
        spans.append((start, curve[-1]["t"]))
    return spans


def plot(data: dict, out: Path) -> None:
    curve, summary = data["curve"], data["summary"]
    if not curve:
        raise ValueError("the soak file has no samples")
    t = [p["t"] / 60 for p in curve]
    fig, (rss_ax, pend_ax) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    rss_ax.plot(t, [p["rss_mb"] for p in curve], label="agent RSS (ours)")
    rss_ax.axhline(TARGET_MB, color="red", linestyle="--", label=f"target {TARGET_MB:g} MB")
    anchor = summary["anchor_in_memory_mb_for_that_backlog"]
    rss_ax.axhline(anchor, color="grey", linestyle=":", label=f"anchor: backlog in RAM {anchor} MB")
    rss_ax.set_ylabel("MB")
    rss_ax.set_ylim(0, max(anchor, TARGET_MB) * 1.15)
    rss_ax.legend(loc="lower right", fontsize=8)
    pend_ax.plot(t, [p["pending"] for p in curve], color="tab:orange")
    pend_ax.set_ylabel("readings pending")
    pend_ax.set_xlabel("minutes")
    for ax in (rss_ax, pend_ax):
        for a, b in outage_spans(curve):
            ax.axvspan(a / 60, b / 60, color="grey", alpha=0.15)
    rss_ax.set_title(
        f"edge-agent soak, {summary['seconds'] / 60:g} min (shaded: ingest down); "
        f"RSS max {summary['rss_mb_max']:.1f} MB"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("soak_json", type=Path)
    parser.add_argument("png", type=Path)
    args = parser.parse_args()
    try:
        data = json.loads(args.soak_json.read_text())
        plot(data, args.png)
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot plot {args.soak_json}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
