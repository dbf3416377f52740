"""`python -m fuzzy score | check | bench` — see docs/fuzzy.md.

score  --profile NAME_OR_PATH INPUT.csv  → CSV on stdout: the input columns, one column per
       output variable, then the label column of each output that defines labels.
check  --engine FILE --fld FILE.fld      → the max abs error on stdout; exit 1 above 1e-3.
bench  --profile orchid --n 1000000      → last line: JSON with engine_evals_per_s,
       skfuzzy_evals_per_s and ratio, measured in the same run.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Sequence

import numpy as np

from fuzzy.engine import InputError
from fuzzy.fis import FisError
from fuzzy.fld import TOLERANCE, FldError, compare, read_fld
from fuzzy.fll import FllError
from fuzzy.loader import load_profile
from fuzzy.native import NativeFormatError

LOAD_ERRORS = (FileNotFoundError, FllError, FisError, NativeFormatError, FldError, InputError)


def _parse_cell(text: str) -> float:
    value = text.strip()
    if value == "" or value.lower() in ("na", "nan", "none", "null"):
        return math.nan
    try:
        return float(value)
    except ValueError:
        return math.nan


def _format(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.6f}"


def score(profile: str, path: str, with_flags: bool) -> int:
    engine = load_profile(profile)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise InputError(
                f"{path}: empty CSV (expected columns {', '.join(engine.input_names)})"
            )
        header = [h.strip() for h in header]
        missing = [n for n in engine.input_names if n not in header]
        if missing:
            raise InputError(
                f"{path}: missing column(s) {', '.join(missing)}; "
                f"profile {engine.name!r} expects: {', '.join(engine.input_names)}"
            )
        rows = list(reader)
    index = {n: header.index(n) for n in engine.input_names}
    columns = {
        n: np.array([_parse_cell(r[i]) if i < len(r) else math.nan for r in rows])
        for n, i in index.items()
    }
    result = engine.evaluate(columns)
    outputs = [engine.output(n) for n in engine.output_names]
    labelled = [o for o in outputs if o.labels]
    out_header = [*header, *(o.name for o in outputs), *(o.label_column for o in labelled)]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([*out_header, "flags"] if with_flags else out_header)
    for i, row in enumerate(rows):
        values = [result.outputs[o.name][i] for o in outputs]
        labels = [o.label_for(float(result.outputs[o.name][i])) or "" for o in labelled]
        line = [*row, *(_format(v) for v in values), *labels]
        if with_flags:
            flags = [f"nan_input:{n}" for n in engine.input_names if math.isnan(columns[n][i])]
            flags += [f"no_rule_fired:{o.name}" for o in outputs if result.no_rule_fired[o.name][i]]
            line.append(";".join(flags))
        writer.writerow(line)
    bad = int(result.nan_rows.sum())
    if bad:
        print(
            f"warning: {bad} row(s) with a missing or non-numeric input scored NaN", file=sys.stderr
        )
    return 0


def check(engine_path: str, fld_path: str) -> int:
    engine = load_profile(engine_path)
    for warning in engine.spec.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    comparison = compare(engine, read_fld(fld_path))
    details = ", ".join(f"{k} {v:.3g}" for k, v in comparison.per_output.items())
    print(
        f"{engine_path}: {comparison.rows} rows, max abs error per output: {details}",
        file=sys.stderr,
    )
    print(f"{comparison.max_abs_error:.6g}")
    return 0 if comparison.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fuzzy", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("score", help="score a CSV of readings")
    p.add_argument("--profile", required=True, help="built-in name, .toml, .fll or .fis")
    p.add_argument("--flags", action="store_true", help="append a flags column")
    p.add_argument("input", help="CSV with a header naming the input variables")
    p = commands.add_parser("check", help=f"compare an engine with a .fld (tolerance {TOLERANCE})")
    p.add_argument("--engine", required=True, help=".fll, .fis or .toml")
    p.add_argument("--fld", required=True, help="FuzzyLite Dataset")
    p = commands.add_parser("bench", help="engine vs scikit-fuzzy evaluations per second")
    p.add_argument("--profile", default="orchid")
    p.add_argument("--n", type=int, default=1_000_000, help="readings for the engine")
    p.add_argument("--skfuzzy-n", type=int, default=300, help="readings for scikit-fuzzy")
    p.add_argument("--pin", action="store_true", help="pin the process to one CPU")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "score":
            return score(args.profile, args.input, args.flags)
        if args.command == "check":
            return check(args.engine, args.fld)
        from fuzzy.bench import main as bench_main

        return bench_main(args.profile, args.n, args.skfuzzy_n, args.pin)
    except LOAD_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
