"""Per-token request rate limit: one token bucket per bearer token id, in process memory.

A bucket holds up to `burst` requests and refills at `rate` requests per second; a request
that finds it empty is answered 429 with `Retry-After` (whole seconds until one request is
available again) and a JSON error. Pure apart from the clock, which is injectable.

Each gunicorn worker keeps its own buckets, so the limit a token meets across a server is
at most `workers × rate`. Buckets idle long enough to be full again are forgotten, so memory
stays bounded by the number of tokens active within `burst / rate` seconds.
Configuration: `INGEST_RATE_LIMIT` (requests/s per token, `0` = off) and `INGEST_RATE_BURST`,
or `ingest serve --rate-limit R --rate-burst B` (docs/reliability.md).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_RATE = 50.0  # requests per second per token; a gateway sends one batch every few s
DEFAULT_BURST = 100.0
SWEEP_EVERY = 1024  # checks between sweeps of idle buckets


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0  # seconds until a request would be allowed (0 when allowed)

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after_s)))


class RateLimiter:
    """Token buckets keyed by any string (the token id). Thread-safe."""

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: float = DEFAULT_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 0 or (rate > 0 and burst < 1):
            raise ValueError(f"rate must be >= 0 and burst >= 1, got rate={rate} burst={burst}")
        self.rate, self.burst, self._clock = float(rate), float(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()
        self._checks = 0

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def check(self, key: str) -> Decision:
        """Take one request from `key`'s bucket if there is one."""
        if not self.enabled:
            return Decision(True)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            self._checks += 1
            if self._checks % SWEEP_EVERY == 0:
                self._sweep(now)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return Decision(True)
            self._buckets[key] = (tokens, now)
            return Decision(False, (1.0 - tokens) / self.rate)

    def _sweep(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key, (_tokens, last) in list(self._buckets.items()):
            if now - last >= full_after:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
