"""The native engine format: TOML, one table per variable, rules in fuzzylite's rule text.

See docs/fuzzy.md for the full description; `fuzzy/profiles/orchid.toml` is an example.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from fuzzy.model import EngineSpec, InputVariable, LabelBand, OutputVariable, RuleBlock
from fuzzy.rules import RuleError, parse_rule
from fuzzy.terms import Term, TermError


class NativeFormatError(ValueError):
    """A native (TOML) engine file that is malformed; the message names the place."""


def _terms(where: str, table: dict[str, Any]) -> list[Term]:
    terms = []
    for i, raw in enumerate(table.get("terms", [])):
        try:
            terms.append(Term.create(raw["name"], raw["type"], raw.get("params", [])))
        except KeyError as exc:
            raise NativeFormatError(f"{where}, term #{i + 1}: missing key {exc}") from None
        except TermError as exc:
            raise NativeFormatError(f"{where}: {exc}") from None
    return terms


def _range(where: str, table: dict[str, Any]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in table["range"])
    except (KeyError, TypeError, ValueError):
        raise NativeFormatError(f"{where}: 'range' must be [minimum, maximum]") from None
    if not lo < hi:
        raise NativeFormatError(f"{where}: range minimum must be below maximum")
    return lo, hi


def _resolution(where: str, value: Any) -> int | None:
    if value == "exact":
        return None
    if isinstance(value, int) and value > 0:
        return value
    raise NativeFormatError(f'{where}: resolution must be a positive integer or "exact"')


def parse_native(text: str, source: str = "<string>") -> EngineSpec:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NativeFormatError(f"{source}: {exc}") from None
    meta = doc.get("engine", {})
    spec = EngineSpec(
        name=meta.get("name", Path(source).stem),
        inputs=[],
        outputs=[],
        rule_blocks=[],
        description=meta.get("description", ""),
    )
    for i, table in enumerate(doc.get("input", [])):
        where = f"{source}: [[input]] #{i + 1} ({table.get('name', '?')})"
        lo, hi = _range(where, table)
        optimal = table.get("optimal")
        spec.inputs.append(
            InputVariable(
                name=table.get("name") or _missing(where, "name"),
                minimum=lo,
                maximum=hi,
                terms=_terms(where, table),
                enabled=table.get("enabled", True),
                lock_range=table.get("lock_range", False),
                unit=table.get("unit", ""),
                optimal=(float(optimal[0]), float(optimal[1])) if optimal else None,
            )
        )
    for i, table in enumerate(doc.get("output", [])):
        where = f"{source}: [[output]] #{i + 1} ({table.get('name', '?')})"
        lo, hi = _range(where, table)
        labels = [
            LabelBand(b["label"], float(b.get("below", math.inf))) for b in table.get("labels", [])
        ]
        spec.outputs.append(
            OutputVariable(
                name=table.get("name") or _missing(where, "name"),
                minimum=lo,
                maximum=hi,
                terms=_terms(where, table),
                enabled=table.get("enabled", True),
                lock_range=table.get("lock_range", False),
                unit=table.get("unit", ""),
                aggregation=table.get("aggregation", "Maximum"),
                defuzzifier=table.get("defuzzifier", "Centroid"),
                resolution=_resolution(where, table.get("resolution", 1000)),
                default=float(table.get("default", math.nan)),
                lock_previous=table.get("lock_previous", False),
                labels=labels,
                label_column=table.get("label_column")
                or (f"{table['name']}_label" if labels else None),
            )
        )
    for i, table in enumerate(doc.get("rule_block", [])):
        where = f"{source}: [[rule_block]] #{i + 1}"
        block = RuleBlock(
            rules=[],
            conjunction=table.get("conjunction", "Minimum"),
            disjunction=table.get("disjunction", "Maximum"),
            implication=table.get("implication", "Minimum"),
            name=table.get("name", ""),
        )
        for j, text in enumerate(table.get("rules", [])):
            try:
                block.rules.append(parse_rule(text, spec))
            except RuleError as exc:
                raise NativeFormatError(f"{where}, rule #{j + 1}: {exc}") from None
        spec.rule_blocks.append(block)
    if not spec.inputs or not spec.outputs or not spec.rule_blocks:
        raise NativeFormatError(f"{source}: needs [[input]], [[output]] and [[rule_block]] tables")
    return spec


def _missing(where: str, key: str):
    raise NativeFormatError(f"{where}: missing {key!r}")


def load_native(path: str | Path) -> EngineSpec:
    path = Path(path)
    return parse_native(path.read_text(encoding="utf-8"), str(path))
