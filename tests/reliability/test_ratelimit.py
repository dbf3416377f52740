"""ingest/ratelimit.py: the token bucket alone (fake clock), then wired into the app (429)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.ratelimit import RateLimiter
from tests.ingest.conftest import build_env, make_readings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refused_then_refilled() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.check("a").allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.check("a")
    assert not refused.allowed and refused.retry_after_s == pytest.approx(0.5)
    assert refused.retry_after_header == "1"
    clock.now += 0.5
    assert limiter.check("a").allowed
    assert not limiter.check("a").allowed


def test_buckets_are_per_key() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    assert limiter.check("a").allowed
    assert not limiter.check("a").allowed
    assert limiter.check("b").allowed


def test_zero_rate_disables() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.check("a").allowed for _ in range(10_000))


def test_idle_buckets_are_forgotten() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10.0, burst=10, clock=clock)
    for i in range(2000):
        limiter.check(f"k{i}")
    clock.now += 5
    for _ in range(1024):
        limiter.check("busy")
    assert len(limiter) < 100


@pytest.mark.parametrize(("rate", "burst"), [(-1, 5), (1, 0)])
def test_bad_settings_rejected(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        RateLimiter(rate=rate, burst=burst)


def test_app_answers_429_with_retry_after_per_token(tmp_path: Path) -> None:
    env = build_env(tmp_path / "var", rate_limit=0.5, rate_burst=3)
    codes = [env.post(make_readings(1, start_seq=i)).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    refused = env.post(make_readings(1, start_seq=99))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "rate limit" in refused.get_json()["error"]
    # another token (the app's) has its own bucket
    assert env.get("/v1/nodes").status_code == 200
    # the refused readings were not stored, the accepted ones were
    stored = env.get("/v1/readings?limit=100").get_json()["readings"]
    assert sorted(r["seq"] for r in stored) == [0, 1, 2]


def test_unknown_tokens_get_401_not_429(tmp_path: Path) -> None:
    env = build_env(tmp_path / "var", rate_limit=0.1, rate_burst=1)
    codes = {env.post(make_readings(1), token="gw_nope_nope").status_code for _ in range(5)}
    assert codes == {401}
