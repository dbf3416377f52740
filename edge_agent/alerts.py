"""Alert rules for local actuators and apps: pure state machines, no I/O.

Two kinds, each per node (and per variable for bands), each with hysteresis and cooldown:
- `label_drop`: the score's label falls to buruk or sangat_buruk (and again if it falls
  further). It clears once the score is back `label_hysteresis_points` above the buruk
  boundary (50), so a score wobbling around 50 does not flap.
- `out_of_band`: a value leaves its profile's optimal band. It clears only once the value
  is back inside the band shrunk by `band_hysteresis` × band width on each side.
A raise is suppressed if the same alert was raised less than `cooldown_seconds` ago
(escalations of label_drop excepted). Clears are always reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RANK = {"sangat_buruk": 0, "buruk": 1, "sedang": 2, "optimal": 3}
BAD_RANK = 1
GOOD_SCORE = 50.0  # the buruk/sedang boundary of the output labels


@dataclass
class _State:
    alerted_rank: int | None = None
    out_of_band: set[str] = field(default_factory=set)
    last_raised: dict[str, float] = field(default_factory=dict)


class AlertRules:
    def __init__(
        self,
        bands_for: Callable[[str], dict[str, tuple[float, float]]],
        cooldown_seconds: float = 900.0,
        band_hysteresis: float = 0.05,
        label_hysteresis_points: float = 5.0,
    ) -> None:
        self.bands_for = bands_for
        self.cooldown = cooldown_seconds
        self.band_hysteresis = band_hysteresis
        self.label_hysteresis = label_hysteresis_points
        self._nodes: dict[str, _State] = {}

    def evaluate(self, reading: dict[str, Any], now: float) -> list[dict[str, Any]]:
        state = self._nodes.setdefault(reading["node_id"], _State())
        alerts = self._label(state, reading, now)
        if reading.get("profile"):
            alerts += self._bands(state, reading, now)
        return alerts

    def _base(self, reading: dict[str, Any], kind: str, raised: bool) -> dict[str, Any]:
        return {
            "gateway_id": reading["gateway_id"],
            "node_id": reading["node_id"],
            "kind": kind,
            "state": "raised" if raised else "cleared",
            "reading_id": reading["id"],
            "ts": reading["ts"],
            "score": reading.get("score"),
            "label": reading.get("label"),
        }

    def _cooled(self, state: _State, key: str, now: float) -> bool:
        last = state.last_raised.get(key)
        return last is None or now - last >= self.cooldown

    def _label(self, state: _State, reading: dict[str, Any], now: float) -> list[dict]:
        label, score = reading.get("label"), reading.get("score")
        if label not in RANK or score is None:
            return []
        rank = RANK[label]
        if rank <= BAD_RANK:
            escalation = state.alerted_rank is not None and rank < state.alerted_rank
            fresh = state.alerted_rank is None and self._cooled(state, "label", now)
            if escalation or fresh:
                state.alerted_rank = rank
                state.last_raised["label"] = now
                return [self._base(reading, "label_drop", True)]
            return []  # still bad, or in cooldown: quiet
        if state.alerted_rank is not None and score >= GOOD_SCORE + self.label_hysteresis:
            state.alerted_rank = None
            return [self._base(reading, "label_drop", False)]
        return []

    def _bands(self, state: _State, reading: dict[str, Any], now: float) -> list[dict]:
        out = []
        for name, (low, high) in self.bands_for(reading["profile"]).items():
            value = reading["values"].get(name)
            if value is None:
                continue
            margin = (high - low) * self.band_hysteresis
            if name not in state.out_of_band:
                if (value < low or value > high) and self._cooled(state, f"band:{name}", now):
                    state.out_of_band.add(name)
                    state.last_raised[f"band:{name}"] = now
                    out.append(
                        {
                            **self._base(reading, "out_of_band", True),
                            "variable": name,
                            "value": value,
                            "band": [low, high],
                        }
                    )
            elif low + margin <= value <= high - margin:
                state.out_of_band.discard(name)
                out.append(
                    {
                        **self._base(reading, "out_of_band", False),
                        "variable": name,
                        "value": value,
                        "band": [low, high],
                    }
                )
        return out
