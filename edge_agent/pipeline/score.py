"""Score readings with their node's fuzzy profile (fuzzy.load_profile).

The profile comes from the node's hello frame (`k=`), else the reading itself (HTTP/MQTT
`profile`), else the node-id prefix (orchid-*, rice-*, water*). Scoring is batched per
profile, because the engines are much faster on a list than one record at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
PREFIXES = (("orchid", "orchid"), ("rice", "rice"), ("water", "watering"))


def profile_by_prefix(node_id: str) -> str | None:
    lowered = node_id.lower()
    for prefix, profile in PREFIXES:
        if lowered.startswith(prefix):
            return profile
    return None


def _default_loader(name: str) -> Any:
    from fuzzy import load_profile  # imported lazily: scoring is optional per node

    return load_profile(name)


class Scorer:
    def __init__(self, loader: Callable[[str], Any] = _default_loader) -> None:
        self._loader = loader
        self._engines: dict[str, Any] = {}
        self._broken: dict[str, str] = {}

    def engine(self, profile: str) -> Any | None:
        if profile in self._engines:
            return self._engines[profile]
        if profile in self._broken:
            return None
        try:
            engine = self._loader(profile)
        except Exception as exc:
            self._broken[profile] = str(exc)
            log.error("fuzzy profile %r unavailable, readings stay unscored: %s", profile, exc)
            return None
        self._engines[profile] = engine
        return engine

    def bands(self, profile: str) -> dict[str, tuple[float, float]]:
        engine = self.engine(profile)
        return dict(getattr(engine, "optimal_bands", {}) or {}) if engine else {}

    def score(self, profile: str, readings: list[dict[str, Any]]) -> int:
        """Add score/label/flags in place; returns how many got a score."""
        engine = self.engine(profile)
        if engine is None or not readings:
            return 0
        try:
            results = engine.score_records([r["values"] for r in readings])
        except Exception as exc:
            log.warning("batch scoring with %r failed (%s); scoring one by one", profile, exc)
            results = [self._one(engine, r["values"]) for r in readings]
        scored = 0
        for reading, result in zip(readings, results, strict=True):
            if not result:
                continue
            if result.get("score") is not None:
                reading["score"] = round(float(result["score"]), 4)
                reading["label"] = result.get("label")
                scored += 1
            for flag in result.get("flags") or ():
                if flag not in reading["flags"]:
                    reading["flags"].append(flag)
        return scored

    @staticmethod
    def _one(engine: Any, values: dict[str, float]) -> dict[str, Any] | None:
        try:
            return engine.score_records([values])[0]
        except Exception:
            return {"score": None, "flags": ["unscored"]}
