"""Uniform counters for every component, and their Prometheus exposition.

Every source, pipeline step and sink counts the same events (`received`, `sent`,
`discarded` by reason, `errors` by reason), so operators read each part the same way.
A few extra event names carry what the status command needs (`label` by score label,
`bytes_raw`, `bytes_compressed`, `batches`). Counts are cumulative across restarts: the
group committer persists the deltas in the buffer database in the same transaction as the
readings they describe.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

Key = tuple[str, str, str]  # (component, event, reason)
UNIFORM_EVENTS = ("received", "sent", "discarded", "errors")


class Counters:
    """Thread-safe cumulative counters with a delta log for persistence."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: Counter[Key] = Counter()
        self._deltas: Counter[Key] = Counter()

    def inc(self, component: str, event: str, reason: str = "", n: int = 1) -> None:
        if n == 0:
            return
        key = (component, event, reason)
        with self._lock:
            self._totals[key] += n
            self._deltas[key] += n

    def load(self, totals: Iterable[tuple[Key, int]]) -> None:
        """Seed with the totals persisted by a previous run (not counted as deltas)."""
        with self._lock:
            for key, value in totals:
                self._totals[key] = value

    def take_deltas(self) -> dict[Key, int]:
        with self._lock:
            deltas, self._deltas = dict(self._deltas), Counter()
        return deltas

    def restore_deltas(self, deltas: dict[Key, int]) -> None:
        """Put back deltas whose write failed, so they are persisted with the next commit."""
        with self._lock:
            self._deltas.update(deltas)

    def get(self, component: str, event: str, reason: str = "") -> int:
        with self._lock:
            return self._totals.get((component, event, reason), 0)

    def snapshot(self) -> dict[Key, int]:
        with self._lock:
            return dict(self._totals)


def _families(totals: dict[Key, int]) -> Iterator[CounterMetricFamily]:
    by_event: dict[str, list[tuple[str, str, int]]] = {}
    for (component, event, reason), value in sorted(totals.items()):
        by_event.setdefault(event, []).append((component, reason, value))
    for event in sorted(set(by_event) | set(UNIFORM_EVENTS)):
        family = CounterMetricFamily(
            f"edge_agent_{event}",
            f"Count of '{event}' events per component (uniform across components)",
            labels=["component", "reason"],
        )
        for component, reason, value in by_event.get(event, []):
            family.add_metric([component, reason], value)
        yield family


class AgentCollector(Collector):
    """Exposes the counters plus live gauges (buffer usage) computed at scrape time."""

    def __init__(self, counters: Counters, gauges: Callable[[], dict[str, float]]) -> None:
        self.counters = counters
        self.gauges = gauges

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield from _families(self.counters.snapshot())
        for name, value in sorted(self.gauges().items()):
            yield GaugeMetricFamily(f"edge_agent_{name}", f"Current {name}", value=value)


def registry_for(counters: Counters, gauges: Callable[[], dict[str, float]]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(counters, gauges))
    return registry
