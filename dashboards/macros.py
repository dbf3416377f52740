"""Expand Grafana's InfluxQL macros and template variables the way Grafana does before it sends
a panel's query to InfluxDB. Pure (no I/O): the dashboard tests use it to run every panel's
query for real, so the expansion follows Grafana's influxdb datasource:

- `$timeFilter` / `$__timeFilter` → `time >= <from>ms and time <= <to>ms`
- `$__interval` → the auto interval (range / max data points, rounded like Grafana's
  rangeutil.roundInterval, never below the datasource's `timeInterval`); `$__interval_ms`
- `$__range`, `$__range_s`, `$__range_ms`, `$__from`, `$__to`
- `$var`, `${var}`, `${var:regex}`, `[[var]]` → the variable's value; a multi-value or
  include-all variable is regex-escaped and rendered as `(a|b)` (Grafana's
  `interpolateQueryExpr`), a plain single value is left as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# (upper bound in ms of the raw interval, rounded interval in ms): Grafana's roundInterval.
_ROUNDING: tuple[tuple[float, int], ...] = (
    (10, 1),
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)
_YEAR_MS = 31_536_000_000
_UNITS_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_REGEX_SPECIALS = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]|\$(\w+)")


class MacroError(ValueError):
    """A query names a variable or macro that has no value."""


def round_interval(interval_ms: float) -> int:
    for bound, rounded in _ROUNDING:
        if interval_ms < bound:
            return rounded
    return _YEAR_MS


def parse_duration_ms(text: str) -> int:
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d|w)", text.strip())
    if not match:
        raise MacroError(f"not a Grafana duration: {text!r} (expected e.g. 10s, 5m)")
    return int(match.group(1)) * _UNITS_MS[match.group(2)]


def format_duration(ms: int) -> str:
    for unit in ("w", "d", "h", "m", "s"):
        if ms >= _UNITS_MS[unit] and ms % _UNITS_MS[unit] == 0:
            return f"{ms // _UNITS_MS[unit]}{unit}"
    return f"{ms}ms"


def auto_interval_ms(range_ms: int, max_data_points: int, min_interval: str | None) -> int:
    interval = round_interval(range_ms / max(max_data_points, 1))
    if min_interval:
        interval = max(interval, parse_duration_ms(min_interval))
    return interval


def regex_escape(value: str) -> str:
    return _REGEX_SPECIALS.sub(lambda m: "\\" + m.group(0), value)


@dataclass(frozen=True)
class Variable:
    """A template variable's selection: one value, several, or all of its options."""

    name: str
    values: tuple[str, ...]
    multi: bool = False
    include_all: bool = False

    def render(self, fmt: str | None = None) -> str:
        if fmt == "raw":
            return ",".join(self.values)
        regex_form = fmt == "regex" or self.multi or self.include_all
        if not regex_form:
            return self.values[0] if self.values else ""
        escaped = [regex_escape(v) for v in self.values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


@dataclass(frozen=True)
class QueryContext:
    """What Grafana knows when it runs a panel: the time range and the variable selection."""

    from_ms: int
    to_ms: int
    max_data_points: int = 1_000
    min_interval: str | None = None
    variables: dict[str, Variable] = field(default_factory=dict)

    @property
    def interval_ms(self) -> int:
        return auto_interval_ms(self.to_ms - self.from_ms, self.max_data_points, self.min_interval)


def expand(query: str, ctx: QueryContext) -> str:
    """Return `query` as Grafana would send it to InfluxDB. Raises MacroError on unknowns."""
    range_ms = ctx.to_ms - ctx.from_ms
    builtins = {
        "timeFilter": f"time >= {ctx.from_ms}ms and time <= {ctx.to_ms}ms",
        "__timeFilter": f"time >= {ctx.from_ms}ms and time <= {ctx.to_ms}ms",
        "__interval": format_duration(ctx.interval_ms),
        "__interval_ms": str(ctx.interval_ms),
        "__range": f"{range_ms // 1000}s",
        "__range_s": str(range_ms // 1000),
        "__range_ms": str(range_ms),
        "__from": str(ctx.from_ms),
        "__to": str(ctx.to_ms),
    }

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3) or match.group(4)
        fmt = match.group(2)
        if name in builtins:
            return builtins[name]
        if name in ctx.variables:
            return ctx.variables[name].render(fmt)
        raise MacroError(f"query uses ${name}, which is neither a Grafana macro nor a variable")

    return _VARIABLE.sub(substitute, query)
