"""``python -m compression_bench``: run | choose | generate."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from compression_bench import generator as gen


def _dups(text: str) -> list[int]:
    try:
        dups = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--dup wants numbers like 1,6,12, got {text!r}") from None
    if not dups or any(d < 1 for d in dups):
        raise argparse.ArgumentTypeError(f"--dup wants positive numbers, got {text!r}")
    return dups


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m compression_bench", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="measure codecs, write DIR/results.json, report.md, plots")
    r.add_argument("--input", type=Path, help="a CSV or NDJSON file instead of generated data")
    r.add_argument("--rows", type=int, default=gen.PAPER_ROWS, help="rows of the week")
    r.add_argument("--dup", type=_dups, default=[1, 6, 12], help="paper duplications")
    r.add_argument("--codecs", help="codec names or sets (paper, default, large, sweep)")
    r.add_argument("--out", type=Path, default=Path("bench-out"), help="output directory")
    r.add_argument("--no-batches", action="store_true", help="skip the per-batch study")
    r.add_argument(
        "--transfer", nargs="?", const="default", metavar="CODECS",
        help="also time transfers through a local ingest service (wire codecs)",
    )  # fmt: skip
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    c = sub.add_parser("choose", help="derive the auto codec table from results.json")
    c.add_argument("--from", dest="source", type=Path, required=True)
    c.add_argument("--out", type=Path, help="table path (default: the package's table)")
    c.add_argument("--cpu-factor", type=float, default=1.0)
    t = sub.add_parser("transfer", help="add transfer runs to an existing DIR/results.json")
    t.add_argument("--results", type=Path, required=True, help="DIR/results.json of a run")
    t.add_argument("--dup", type=_dups, default=[1], help="paper duplications to send")
    t.add_argument("--codecs", default="default", help="wire codecs (+ tlm-* modelled)")
    t.add_argument("--no-gateway", action="store_true", help="skip the gateway NDJSON set")
    t.add_argument("--quiet", action="store_true")
    rp = sub.add_parser("report", help="redraw report.md and the plots from a results.json")
    rp.add_argument("--results", type=Path, required=True)
    g = sub.add_parser("generate", help="write the generated data sets")
    g.add_argument("--rows", type=int, default=gen.PAPER_ROWS)
    g.add_argument("--dup", type=_dups, default=[1])
    g.add_argument("--out", type=Path, default=Path("bench-data"))
    args = p.parse_args(argv)

    if args.cmd == "run":
        from compression_bench import report
        from compression_bench.run import run

        if args.rows < 2:
            p.error("--rows must be at least 2")
        if args.input is not None and not args.input.is_file():
            p.error(f"--input {args.input}: no such file")
        transfer = None
        command = "python -m compression_bench " + shlex.join(argv)
        doc = run(
            args.out, args.rows, args.dup, args.codecs, args.input,
            not args.no_batches, transfer, not args.quiet, command,
        )  # fmt: skip
        if args.transfer:
            from compression_bench import transfer as tr

            doc = tr.add_transfer(
                doc, args.out, args.rows, args.dup, args.transfer, args.input, not args.quiet
            )
        report.write(doc, args.out)
        print(report.summary(doc))
        return 0
    if args.cmd == "transfer":
        import json

        from compression_bench import report
        from compression_bench import transfer as tr

        if not args.results.is_file():
            p.error(f"--results {args.results}: no such file")
        doc = json.loads(args.results.read_text())
        rows = doc["datasets"].get("paper-1x", {}).get("rows", gen.PAPER_ROWS)
        out = args.results.parent
        before = (doc.get("transfer") or {}).get("commands", [])
        doc = tr.add_transfer(
            doc, out, rows, args.dup, args.codecs, None, not args.quiet, not args.no_gateway
        )
        doc["transfer"]["commands"] = [*before, "python -m compression_bench " + shlex.join(argv)]
        args.results.write_text(json.dumps(doc, indent=1) + "\n")
        report.write(doc, out)
        print("\n".join(report.transfer_table(doc)))
        return 0
    if args.cmd == "report":
        import json

        from compression_bench import report

        if not args.results.is_file():
            p.error(f"--results {args.results}: no such file")
        report.write(json.loads(args.results.read_text()), args.results.parent)
        print(f"wrote {args.results.parent / 'report.md'}")
        return 0
    if args.cmd == "choose":
        from compression_bench.choose import TABLE_PATH, write_table

        table = write_table(args.source, args.out or TABLE_PATH, args.cpu_factor)
        for link, rows in table["links"].items():
            print(link, rows)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    readings = gen.generate(args.rows)
    for dup in args.dup:
        (args.out / f"paper-{dup}x.csv").write_bytes(gen.paper_csv(readings, dup))
    (args.out / "gateway-1x.ndjson").write_bytes(gen.gateway_ndjson(readings))
    print(f"wrote {args.out}")
    return 0
