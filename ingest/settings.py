"""Where the ingest service keeps its files and which stores it talks to.

One frozen dataclass built from CLI flags and environment variables; everything else takes a
`Settings` rather than reading the environment itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.ratelimit import DEFAULT_BURST, DEFAULT_RATE

MiB = 2**20
DEFAULT_MAX_COMPRESSED = 16 * MiB
DEFAULT_MAX_DECOMPRESSED = 256 * MiB
DEFAULT_BODY_TIMEOUT = 5.0


@dataclass(frozen=True)
class Settings:
    var_dir: Path = field(default_factory=lambda: Path(os.environ.get("INGEST_VAR_DIR", "var")))
    store_url: str = ""
    feed_url: str = ""
    tokens_db: Path | None = None
    mqtt_url: str = ""  # mqtt://host:port — notifications topic and the uplink consumer
    max_compressed: int = DEFAULT_MAX_COMPRESSED
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED
    silent_sweep_s: float = 30.0  # how often the server checks for silent nodes; 0 = never
    rate_limit: float = DEFAULT_RATE  # requests/s per token and worker (ratelimit.py); 0 = off
    rate_burst: float = DEFAULT_BURST
    body_timeout: float = DEFAULT_BODY_TIMEOUT  # s without a byte of a batch body → 408; 0 = none

    def resolved(self) -> Settings:
        """Fill the defaults that depend on var_dir (and the INGEST_* environment)."""
        env = os.environ
        var_dir = Path(self.var_dir)
        return replace(
            self,
            var_dir=var_dir,
            store_url=self.store_url
            or env.get("INGEST_STORE")
            or f"sqlite:///{var_dir / 'readings.sqlite3'}",
            feed_url=self.feed_url
            or env.get("INGEST_FEED")
            or f"sqlite:///{var_dir / 'feed.sqlite3'}",
            tokens_db=Path(
                self.tokens_db or env.get("INGEST_TOKENS_DB") or var_dir / "tokens.sqlite3"
            ),
            mqtt_url=self.mqtt_url or env.get("INGEST_MQTT", ""),
        )


def sqlite_path(url: str) -> Path:
    """`sqlite:///rel/path` → rel/path; `sqlite:////abs/path` → /abs/path."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ValueError(f"not a sqlite URL: {url!r} (expected sqlite:///PATH)")
    return Path(url[len(prefix) :])


def settings_from_env() -> Settings:
    env = os.environ
    return Settings(
        max_compressed=int(env.get("INGEST_MAX_COMPRESSED", DEFAULT_MAX_COMPRESSED)),
        max_decompressed=int(env.get("INGEST_MAX_DECOMPRESSED", DEFAULT_MAX_DECOMPRESSED)),
        rate_limit=float(env.get("INGEST_RATE_LIMIT", DEFAULT_RATE)),
        rate_burst=float(env.get("INGEST_RATE_BURST", DEFAULT_BURST)),
        body_timeout=float(env.get("INGEST_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT)),
    ).resolved()
