"""Notification rules, pure: per node state in, readings in, notifications out.

- `label_drop`: the label falls to `buruk` (warning) or `sangat_buruk` (critical).
- `out_of_band`: a value leaves its profile's optimal band (bands.py).
- `silent`: no reading for `silent_factor` × the node's usual interval.

Hysteresis: an alarm, once raised, stays raised (and silent) until the condition is clearly
gone — the label back to sedang/optimal for `clear_after` readings, a value back inside its
band by the sensor's deadband, a reading from a silent node. Cooldown: the same alarm of the
same node is not raised again within `cooldown_s` of the last time it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from math import inf, nan
from operator import attrgetter, is_
from typing import Any

import numpy as np

from ingest.feeds.base import Notification
from ingest.notify.bands import Band, deadband
from ingest.wire import format_ts, ts_to_ms

BAD_LABELS = {"buruk": "warning", "sangat_buruk": "critical", "sangat buruk": "critical"}
UNITS = {"temperature": " °C", "humidity": " %RH", "soil_moisture": " %", "light": " lux"}


@dataclass(frozen=True)
class Policy:
    cooldown_s: float = 1800.0
    clear_after: int = 3
    silent_factor: float = 3.0
    min_silent_s: float = 60.0


@dataclass
class NodeState:
    gateway_id: str = ""
    profile: str | None = None
    last_ts: float = 0.0  # epoch seconds of the newest reading evaluated
    interval_s: float | None = None  # smoothed gap between readings
    active: dict[str, bool] = field(default_factory=dict)  # alarm key → raised
    good_streak: dict[str, int] = field(default_factory=dict)
    last_raised: dict[str, float] = field(default_factory=dict)  # alarm key → epoch s

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NodeState:
        return cls(**data)


def _raise(state: NodeState, key: str, now: float, policy: Policy) -> bool:
    """Mark alarm `key` raised; True when a notification should go out (not in cooldown)."""
    if state.active.get(key):
        return False
    state.active[key] = True
    state.good_streak.pop(key, None)
    if now - state.last_raised.get(key, float("-inf")) < policy.cooldown_s:
        return False
    state.last_raised[key] = now
    return True


def evaluate(
    state: NodeState, reading: Any, bands: dict[str, Band], policy: Policy = Policy()
) -> list[Notification]:
    """Apply one reading (a fastwire.Reading or anything with its attributes) in time order."""
    now = ts_to_ms(reading.ts) / 1000
    if now <= state.last_ts:
        return []  # older than what was seen: a late resend does not rewrite history
    if state.last_ts:
        gap = now - state.last_ts
        state.interval_s = gap if state.interval_s is None else 0.8 * state.interval_s + 0.2 * gap
    state.last_ts = now
    state.gateway_id, state.profile = reading.gateway_id, reading.profile
    state.active.pop("silent", None)
    out: list[Notification] = []

    def note(kind: str, severity: str, message: str, value: float | None = None) -> None:
        out.append(
            Notification(
                ts=reading.ts,
                gateway_id=reading.gateway_id,
                node_id=reading.node_id,
                kind=kind,
                severity=severity,
                message=message,
                value=value,
                reading_id=reading.id,
            )
        )

    label = reading.label
    if label in BAD_LABELS:
        if _raise(state, "label", now, policy):
            score = f" (score {reading.score:.1f})" if reading.score is not None else ""
            note(
                "label_drop",
                BAD_LABELS[label],
                f"{reading.node_id}: condition {label}{score}",
                reading.score,
            )
    elif label is not None and state.active.get("label"):
        streak = state.good_streak.get("label", 0) + 1
        state.good_streak["label"] = streak
        if streak >= policy.clear_after:
            state.active["label"] = False
            state.good_streak.pop("label", None)

    for sensor, (low, high) in bands.items():
        value = reading.values.get(sensor)
        if value is None:
            continue
        key = f"band:{sensor}"
        unit = UNITS.get(sensor, "")
        if high is not None and value > high:
            if _raise(state, key, now, policy):
                note(
                    "out_of_band",
                    "warning",
                    f"{reading.node_id}: {sensor} {value:g}{unit} above {high:g}{unit}",
                    value,
                )
        elif low is not None and value < low:
            if _raise(state, key, now, policy):
                note(
                    "out_of_band",
                    "warning",
                    f"{reading.node_id}: {sensor} {value:g}{unit} below {low:g}{unit}",
                    value,
                )
        elif state.active.get(key):
            inside_high = high is None or value <= high - deadband(sensor, high)
            inside_low = low is None or value >= low + deadband(sensor, low)
            if inside_high and inside_low:
                state.active[key] = False
    return out


def check_silent(
    node_id: str, state: NodeState, now: float, policy: Policy = Policy()
) -> Notification | None:
    """A `silent` notification when the node has been quiet too long (once per silence)."""
    if not state.last_ts or state.interval_s is None:
        return None
    limit = max(policy.min_silent_s, policy.silent_factor * state.interval_s)
    quiet = now - state.last_ts
    if quiet <= limit or not _raise(state, "silent", now, policy):
        return None
    return Notification(
        ts=format_ts(now),
        gateway_id=state.gateway_id,
        node_id=node_id,
        kind="silent",
        severity="critical",
        message=f"{node_id}: no reading for {quiet / 60:.0f} min (usually every "
        f"{state.interval_s:.0f} s)",
        value=quiet,
    )


class _Columns:
    """What `_steady` compares, per reading of one node's run, built once per
    `evaluate_many` call (a missing value is NaN, which no comparison holds)."""

    def __init__(self, readings: list[Any], bands: dict[str, Band]) -> None:
        n = len(readings)
        labels = list(map(_label, readings))
        self.bad = np.fromiter(map(BAD_LABELS.__contains__, labels), bool, n)
        self.unlabeled = np.fromiter(map(is_, labels, repeat(None)), bool, n)
        values = list(map(_values, readings))
        self.values = {
            sensor: np.fromiter(map(dict.get, values, repeat(sensor), repeat(nan)), float, n)
            for sensor in bands
        }


def _steady(
    state: NodeState, columns: _Columns, bands: dict[str, Band], start: int, stop: int
) -> np.ndarray:
    """For readings [start, stop), True when `evaluate` under the current alarms would raise
    nothing, clear nothing and count no streak: only the time figures move."""
    active = state.active
    if active.get("label"):  # a bad label is absorbed, a good one counts towards clearing
        steady = columns.bad[start:stop] | columns.unlabeled[start:stop]
    else:
        steady = ~columns.bad[start:stop]
    for sensor, (low, high) in bands.items():
        column = columns.values[sensor][start:stop]
        if active.get(f"band:{sensor}"):  # steady unless back inside by the deadband
            lo = -inf if low is None else low + deadband(sensor, low)
            hi = inf if high is None else high - deadband(sensor, high)
            steady &= ~((column >= lo) & (column <= hi))
        else:  # steady while inside the band
            lo = -inf if low is None else low
            hi = inf if high is None else high
            steady &= ~((column < lo) | (column > hi))
    return steady


def _advance(state: NodeState, first: Any, last: Any, count: int) -> None:
    """What `evaluate` does to the time figures over a run of `count` steady readings from
    `first` to `last` (up to the smoothing of the gaps inside the run)."""
    first_s, last_s = ts_to_ms(first.ts) / 1000, ts_to_ms(last.ts) / 1000
    if last_s <= state.last_ts:
        return
    start = state.last_ts if state.last_ts and state.last_ts < first_s else first_s
    steps = count if start != first_s else count - 1
    if steps > 0:
        gap = (last_s - start) / steps
        state.interval_s = gap if state.interval_s is None else 0.8 * state.interval_s + 0.2 * gap
    state.last_ts = last_s
    state.gateway_id, state.profile = last.gateway_id, last.profile
    state.active.pop("silent", None)


def evaluate_many(
    state: NodeState, readings: list[Any], bands: dict[str, Band], policy: Policy = Policy()
) -> list[Notification]:
    """`evaluate` over one node's readings in time order, with a fast path: runs of steady
    readings (`_steady`: nothing raised or cleared) only move `last_ts` and the interval
    estimate. The columns compared are built once per call; the steadiness of a window of
    readings (at first the largest) is computed at once and recomputed when an alarm
    changes; after a change the window starts small again and grows while nothing changes,
    so the work stays linear in the readings."""
    out: list[Notification] = []
    columns = _Columns(readings, bands)
    i, n, window = 0, len(readings), _MAX_WINDOW
    while i < n:
        chunk = readings[i : i + window]
        unsteady = np.flatnonzero(~_steady(state, columns, bands, i, i + len(chunk)))
        done = 0
        for j in unsteady.tolist():
            if j > done:
                _advance(state, chunk[done], chunk[j - 1], j - done)
            before = (dict(state.active), dict(state.good_streak))
            out += evaluate(state, chunk[j], bands, policy)
            done = j + 1
            if (state.active, state.good_streak) != before:
                break  # the alarms changed: the rest of the window must be looked at again
        else:
            if done < len(chunk):
                _advance(state, chunk[done], chunk[-1], len(chunk) - done)
            done = len(chunk)
            window = min(window * 2, _MAX_WINDOW)
        if done < len(chunk):
            window = _MIN_WINDOW
        i += done
    return out


def by_node(readings: list[Any]) -> dict[str, list[Any]]:
    """A batch's readings per node, each node's in time order: what `evaluate_many` takes."""
    groups: dict[str, list[Any]] = {}
    for reading in readings:
        groups.setdefault(reading.node_id, []).append(reading)
    for group in groups.values():
        group.sort(key=_ts)
    return groups


_MIN_WINDOW, _MAX_WINDOW = 16, 4096
_label = attrgetter("label")
_ts = attrgetter("ts")
_values = attrgetter("values")
