"""PNG plots of a run: ratio against compress speed per data set, and stacked transfer-time
bars (send / decompress / parse / write) like the paper's figures 8-10."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

FAMILY_COLOURS = {
    "gzip": "tab:blue", "bzip2": "tab:orange", "xz": "tab:green", "zstd": "tab:purple",
    "tlm": "tab:red", "identity": "tab:gray",
}  # fmt: skip


def _set_order(name: str) -> tuple[int, int]:
    """paper-1x, paper-6x, paper-12x, then the gateway's sets."""
    kind, _, dup = name.rpartition("-")
    return (0 if kind == "paper" else 1, int(dup.rstrip("x")) if dup.rstrip("x").isdigit() else 0)


def _family(name: str) -> str:
    return name.split("-")[0]


def ratio_vs_speed(name: str, ds: dict, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 6))
    codecs = [c for c in ds["codecs"].values() if "ratio" in c and c["codec"] != "identity"]
    placed: list[tuple[float, float]] = []
    y_span = max(c["ratio"] for c in codecs) - min(c["ratio"] for c in codecs) or 1.0
    for c in sorted(codecs, key=lambda c: (-c["ratio"], c["compress_mb_s"])):
        colour = FAMILY_COLOURS.get(_family(c["codec"]), "black")
        x, y = c["compress_mb_s"], c["ratio"]
        ax.scatter(x, y, color=colour, s=40, zorder=3)
        near = sum(
            1 for px, py in placed if abs(math.log10(px / x)) < 0.25 and abs(py - y) < y_span / 25
        )
        placed.append((x, y))
        ax.annotate(c["codec"], (x, y), fontsize=7, xytext=(5, 3 - 10 * near),
                    textcoords="offset points")  # fmt: skip
    bz = ds["codecs"].get("bzip2-9")
    gz = ds["codecs"].get("gzip-6")
    gateway = ds.get("kind") == "gateway-ndjson"
    if bz and gateway:
        ax.axhline(3 * bz["ratio"], color="tab:orange", ls="--", lw=1,
                   label=f"target 2: 3 × bzip2-9 = {3 * bz['ratio']:.1f}")  # fmt: skip
    elif bz:
        ax.axhline(1.3 * bz["ratio"], color="tab:orange", ls="--", lw=1,
                   label=f"1.3 × bzip2-9 = {1.3 * bz['ratio']:.2f}")  # fmt: skip
    if gz and bz and not gateway:
        label = "target 1: faster than gzip-6, ≥ 1.3 × bzip2-9"
        ax.fill_between([gz["compress_mb_s"], 1e6], 1.3 * bz["ratio"], 1e3, color="tab:green",
                        alpha=0.08, label=label)  # fmt: skip
    if gz:
        ax.axvline(gz["compress_mb_s"], color="tab:blue", ls=":", lw=1,
                   label=f"gzip-6 speed {gz['compress_mb_s']:.0f} MB/s")  # fmt: skip
    if ds.get("floor_bytes"):
        floor_ratio = ds["raw_bytes"] / ds["floor_bytes"]
        ax.axhline(floor_ratio, color="black", lw=1, label=f"information floor {floor_ratio:.2f}")
    ax.set_xscale("log")
    if gateway:
        ax.set_yscale("log")
    ax.set_xlim(
        min(c["compress_mb_s"] for c in codecs) / 2, max(c["compress_mb_s"] for c in codecs) * 3
    )
    ax.set_ylim(
        min(c["ratio"] for c in codecs) * 0.9,
        max(
            [c["ratio"] for c in codecs]
            + [ds["raw_bytes"] / ds["floor_bytes"] if ds.get("floor_bytes") else 0]
        )
        * 1.06,
    )
    ax.set_xlabel("compress speed, MB/s of raw data (log)")
    ax.set_ylabel("compression ratio (raw / compressed)")
    ax.set_title(f"{name}: ratio against compress speed ({ds['raw_bytes'] / 1e6:.1f} MB)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower left" if gateway else "center left", fontsize=8)
    path = out / f"ratio_vs_speed_{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def transfer_bars(transfer: dict, out: Path) -> list[Path]:
    """One figure per link: for each data set a group of stacked bars, one per codec."""
    paths = []
    runs = transfer.get("runs", [])
    for link in dict.fromkeys(r["link"] for r in runs):
        sel = [r for r in runs if r["link"] == link]
        sets = sorted(dict.fromkeys(r["data_set"] for r in sel), key=_set_order)
        codecs = list(dict.fromkeys(r["codec"] for r in sel))
        fig, axes = plt.subplots(1, len(codecs), figsize=(3.2 * len(codecs), 5), sharey=True,
                                 squeeze=False)  # fmt: skip
        parts = [("send_s", "send (bytes / link)", "tab:blue"),
                 ("decompress_s", "decompress", "tab:orange"),
                 ("parse_s", "parse", "tab:green"), ("write_s", "write", "tab:red")]  # fmt: skip
        for ax, codec in zip(axes[0], codecs, strict=True):
            bottom = [0.0] * len(sets)
            for key, label, colour in parts:
                vals = [next((r[key] for r in sel if r["data_set"] == s and r["codec"] == codec), 0)
                        for s in sets]  # fmt: skip
                ax.bar(sets, vals, bottom=bottom, color=colour, label=label)
                bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
            for x, total in enumerate(bottom):
                ax.text(x, total, f"{total:.1f}", ha="center", va="bottom", fontsize=8)
            ax.set_title(codec)
            ax.tick_params(axis="x", labelrotation=30)
        axes[0][0].set_ylabel("seconds")
        axes[0][0].legend(loc="upper left", fontsize=8)
        fig.suptitle(f"Transfer time through the ingest service, link {link}")
        fig.tight_layout()
        path = out / f"transfer_{link}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def draw(doc: dict, out: Path) -> list[Path]:
    paths = [ratio_vs_speed(name, ds, out) for name, ds in doc["datasets"].items()]
    return paths + transfer_bars(doc.get("transfer") or {}, out)
