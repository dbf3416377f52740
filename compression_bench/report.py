"""results.json → report.md (the paper's figures beside ours) and the PNG plots."""

from __future__ import annotations

from pathlib import Path

from compression_bench import plots


def _f(x: float | None, fmt: str = ".3f") -> str:
    return "–" if x is None else format(x, fmt)


def paper_table(doc: dict) -> list[str]:
    lines = [
        "| data set | raw MB paper / ours | B/row paper / ours | gzip-6 ratio paper / ours "
        "| bzip2-9 ratio paper / ours | saving gzip / bzip2 ours (paper 80.6 / 86.5 %) |",
        "|---|---|---|---|---|---|",
    ]
    for name, paper in doc["paper"]["sets"].items():
        ours = doc["datasets"].get(name)
        if not ours or not {"gzip-6", "bzip2-9"} <= ours["codecs"].keys():
            continue
        gz, bz = ours["codecs"]["gzip-6"], ours["codecs"]["bzip2-9"]
        lines.append(
            f"| {name} | {paper['raw_mb']} / {ours['raw_bytes'] / 1e6:.2f} "
            f"| {doc['paper']['bytes_per_row']:.1f} / {ours['bytes_per_row']:.1f} "
            f"| {paper['gzip']} / {gz['ratio']:.3f} | {paper['bzip2']} / {bz['ratio']:.3f} "
            f"| {gz['saving'] * 100:.1f} / {bz['saving'] * 100:.1f} % |"
        )
    return lines


def codec_table(ds: dict) -> list[str]:
    lines = [
        "| codec | ratio | saving | B/row | × floor | compress MB/s | decompress MB/s "
        "| peak MiB c / d | lossless |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = sorted(ds["codecs"].values(), key=lambda c: -c.get("ratio", 0))
    for c in rows:
        if "error" in c and "ratio" not in c:
            lines.append(f"| {c['codec']} | error: {c['error']} |||||||| no |")
            continue
        lines.append(
            f"| {c['codec']} | {c['ratio']:.3f} | {c['saving'] * 100:.1f} % "
            f"| {c['bytes_per_row']:.2f} | {_f(c.get('x_floor'), '.2f')} "
            f"| {c['compress_mb_s']:.1f} | {_f(c.get('decompress_mb_s'), '.1f')} "
            f"| {c['compress_peak_mib']:.0f} / {_f(c.get('decompress_peak_mib'), '.0f')} "
            f"| {'yes' if c.get('lossless') else 'NO'}"
            f"{'' if c.get('bytes_identical') else ' (records)'} |"
        )
    return lines


def targets_text(doc: dict) -> list[str]:
    t = doc["targets"]
    lines = []
    if "target1" in t:
        a = t["target1"]
        lines.append(
            f"- **Target 1** ({a['rule']}): best = `{a['best_codec']}` ratio "
            f"{_f(a['best_ratio'])} = {_f(a['x_bzip2'], '.2f')}× bzip2-9 "
            f"({a['bzip2_9_ratio']:.3f}; "
            f"needed {a['needed_ratio']:.3f}), compress {_f(a['best_compress_mb_s'], '.1f')} MB/s "
            f"vs gzip-6 {a['gzip_6_compress_mb_s']:.1f} MB/s → "
            f"**{'PASSED' if a['passed'] else 'NOT MET'}**. Information floor: ratio "
            f"{_f(a['floor_ratio'])} (random row UUID alone {a['uuid_bytes_per_row']} B/row)."
        )
    if "target2" in t:
        b = t["target2"]
        lines.append(
            f"- **Target 2** ({b['rule']}): best = `{b['best_codec']}` ratio "
            f"{b['best_ratio']:.2f} = {b['x_bzip2']:.2f}× bzip2-9 ({b['bzip2_9_ratio']:.3f}) → "
            f"**{'PASSED' if b['passed'] else 'NOT MET'}**."
        )
    return lines


def batch_table(doc: dict) -> list[str]:
    b = doc["batches"]
    if not b:
        return ["_no batch study in this run_"]
    sizes = sorted(b, key=int)
    names = list(b[sizes[0]])
    lines = ["| codec | " + " | ".join(f"{int(s) // 1024} KiB" for s in sizes) + " |"]
    lines.append("|---|" + "---|" * len(sizes))
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{b[s][n]['ratio']:.2f}" for s in sizes) + " |")
    return lines


def transfer_table(doc: dict) -> list[str]:
    t = doc.get("transfer") or {}
    if not t.get("runs"):
        return [f"_{t.get('status', 'transfer not run (use --transfer)')}_"]
    lines = [
        "; ".join(f"`{c}`" for c in t.get("commands", [doc["meta"]["command"]]))
        + f" — {t['status']}.",
        "",
        "| data set | codec | link | send s | decompress s | parse s | write s | total s "
        "| paper total s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in t["runs"]:
        paper = doc["paper"]["transfer_s"].get(r["data_set"], {}).get(r["wire_encoding"])
        lines.append(
            f"| {r['data_set']} | {r['codec']} | {r['link']} | {r['send_s']:.2f} "
            f"| {r['decompress_s']:.2f} | {r['parse_s']:.2f} | {r['write_s']:.2f} "
            f"| {r['total_s']:.2f} | {_f(paper, '.2f') if r['link'] == 'lan' else '–'} |"
        )
    return lines


def write(doc: dict, out: Path) -> None:
    images = plots.draw(doc, out)
    m = doc["meta"]
    lines = [
        "# Compression benchmark — results",
        "",
        f"`{m['command']}` — {m['date']} — Python {m['python']} — {m['machine']}.",
        f"Peak memory: {m['peak_memory']}. Speeds are MB/s of raw data, best of up to 3 runs.",
        "",
        "## The paper's figures beside ours",
        "",
        *paper_table(doc),
        "",
        "## Targets",
        "",
        *targets_text(doc),
        "",
    ]
    for name, ds in doc["datasets"].items():
        floor = ds.get("floor_bytes_per_row")
        floor_text = (
            f"{floor:.2f} B/row (ratio {ds['bytes_per_row'] / floor:.2f})." if floor else "n/a."
        )
        lines += [
            f"## {name} — {ds['rows']:,} rows, {ds['raw_bytes'] / 1e6:.2f} MB, "
            f"{ds['bytes_per_row']:.1f} B/row",
            "",
            f"{ds['note']}. Information floor: {floor_text}",
            "",
            *codec_table(ds),
            "",
        ]
    lines += ["## Batches of the gateway's NDJSON (ratio by batch size)", "", *batch_table(doc)]
    if doc["batches"]:
        from compression_bench.choose import derive_table

        lines += ["", "The `auto` choice these batches give (`choose --from results.json`):", ""]
        table = derive_table(doc["batches"])["links"]
        lines += [f"- {link}: {rows}" for link, rows in table.items()]
    lines += ["", "## Transfer through the ingest service", "", *transfer_table(doc), ""]
    lines += [f"![{p.stem}]({p.name})" for p in images]
    (out / "report.md").write_text("\n".join(lines) + "\n")


def summary(doc: dict) -> str:
    if not any(name in doc["datasets"] for name in doc["paper"]["sets"]):
        tables = [line for ds in doc["datasets"].values() for line in codec_table(ds)]
        return "\n".join(tables)
    return "\n".join([*paper_table(doc), "", *targets_text(doc)])
