"""Agent configuration: a TOML file checked key by key, then command-line overrides.

Every section is a dataclass; the loader names any unknown section or key and any value of
the wrong type, so a typo in /etc/edge-agent/config.toml fails at `edge-agent config check`
instead of silently running with a default.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

CODECS = ("identity", "gzip", "bzip2", "xz", "zstd", "auto")
QUOTA_POLICIES = ("drop_oldest", "refuse_new")
TRANSPORTS = ("http", "mqtt")
_GATEWAY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the section and key."""


@dataclass
class AgentSection:
    gateway_id: str = ""
    state_dir: str = "/var/lib/edge-agent"
    log_level: str = "info"
    shutdown_flush_seconds: float = 10.0


@dataclass
class SerialSection:
    ports: list[str] = field(default_factory=list)
    baud: int = 9600
    reconnect_seconds: float = 1.0


@dataclass
class HttpSection:
    listen: str = ""  # "HOST:PORT"; empty = no HTTP server (no /sensors, no status page)
    admin_token: str = ""  # needed to change settings from the status page
    ack_timeout_seconds: float = 2.5


@dataclass
class BufferSection:
    quota_mb: float = 512.0
    quota_policy: str = "drop_oldest"
    group_commit_ms: int = 100
    commit_gap_ms: int = 10


@dataclass
class UplinkSection:
    transport: str = "http"
    ingest_url: str = ""
    token: str = ""
    batch_interval: float = 600.0
    batch_max_rows: int = 5000
    codec: str = "gzip"
    timeout_seconds: float = 30.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_topic_prefix: str = "uplink"  # topics P/<gateway>/batches and P/<gateway>/ack


@dataclass
class MqttSourceSection:
    host: str = ""  # empty = no MQTT source
    port: int = 1883
    topic: str = "subak/nodes/+/reading"
    client_id: str = ""


@dataclass
class LocalMqttSection:
    host: str = ""  # empty = publish nothing locally
    port: int = 1883
    topic_prefix: str = "subak/local"


@dataclass
class AlertsSection:
    cooldown_seconds: float = 900.0
    band_hysteresis: float = 0.05  # fraction of the band width a value must come back inside


@dataclass
class Config:
    agent: AgentSection = field(default_factory=AgentSection)
    serial: SerialSection = field(default_factory=SerialSection)
    http: HttpSection = field(default_factory=HttpSection)
    buffer: BufferSection = field(default_factory=BufferSection)
    uplink: UplinkSection = field(default_factory=UplinkSection)
    mqtt_source: MqttSourceSection = field(default_factory=MqttSourceSection)
    local_mqtt: LocalMqttSection = field(default_factory=LocalMqttSection)
    alerts: AlertsSection = field(default_factory=AlertsSection)


def _check_type(where: str, value: Any, expected: Any) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected == list[str]:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise ConfigError(f"{where} must be a list of strings, got {value!r}")
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{where} must be {expected.__name__}, got {value!r}")


def _section(name: str, cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"[{name}] must be a table")
    hints = get_type_hints(cls)
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in [{name}]; known keys: {', '.join(sorted(hints))}"
        )
    kwargs = {key: _check_type(f"[{name}] {key}", v, hints[key]) for key, v in data.items()}
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> Config:
    hints = get_type_hints(Config)
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise ConfigError(
            f"unknown section [{unknown[0]}]; known sections: {', '.join(sorted(hints))}"
        )
    return Config(**{name: _section(name, hints[name], data[name]) for name in data})


def load(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return from_dict(data)


def parse_host_port(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{what} must be HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _check_finite(config: Config) -> None:
    """TOML accepts nan and inf; no duration, quota or fraction of the agent can be one."""
    for section in dataclasses.fields(config):
        values = dataclasses.asdict(getattr(config, section.name))
        for key, value in values.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"[{section.name}] {key} must be a finite number, got {value}")


def validate(config: Config, *, need_uplink: bool = True) -> Config:
    """Cross-field checks; returns the config or raises ConfigError naming the key."""
    _check_finite(config)
    a, b, u = config.agent, config.buffer, config.uplink
    if not _GATEWAY_ID.fullmatch(a.gateway_id):
        raise ConfigError(
            f"[agent] gateway_id must be 1-64 of [A-Za-z0-9_.:-], got {a.gateway_id!r}"
        )
    if a.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"[agent] log_level must be debug/info/warning/error, not {a.log_level}")
    if b.quota_policy not in QUOTA_POLICIES:
        raise ConfigError(f"[buffer] quota_policy must be one of {QUOTA_POLICIES}")
    if not 1 <= b.group_commit_ms <= 250:
        raise ConfigError("[buffer] group_commit_ms must be 1..250 (acks wait for the commit)")
    if not 0 <= b.commit_gap_ms <= b.group_commit_ms:
        raise ConfigError(
            f"[buffer] commit_gap_ms must be 0..group_commit_ms ({b.group_commit_ms}), "
            f"got {b.commit_gap_ms}"
        )
    if b.quota_mb <= 0:
        raise ConfigError("[buffer] quota_mb must be > 0")
    if u.codec not in CODECS:
        raise ConfigError(f"[uplink] codec must be one of {', '.join(CODECS)}, got {u.codec!r}")
    if u.transport not in TRANSPORTS:
        raise ConfigError(f"[uplink] transport must be one of {TRANSPORTS}, got {u.transport!r}")
    if u.batch_interval <= 0 or u.batch_max_rows <= 0:
        raise ConfigError("[uplink] batch_interval and batch_max_rows must be > 0")
    if need_uplink and u.transport == "http":
        if not u.ingest_url.startswith(("http://", "https://")):
            raise ConfigError(f"[uplink] ingest_url must be an http(s) URL, got {u.ingest_url!r}")
        if not u.token:
            raise ConfigError("[uplink] token is required (create one with `ingest tokens create`)")
    if config.http.listen:
        parse_host_port(config.http.listen, "[http] listen")
    return config


# command-line flag -> (section, key); the flags override the file
OVERRIDES = {
    "gateway_id": ("agent", "gateway_id"),
    "state_dir": ("agent", "state_dir"),
    "serial": ("serial", "ports"),
    "http_listen": ("http", "listen"),
    "ingest_url": ("uplink", "ingest_url"),
    "token": ("uplink", "token"),
    "batch_interval": ("uplink", "batch_interval"),
    "codec": ("uplink", "codec"),
}


def apply_overrides(config: Config, flags: dict[str, Any]) -> Config:
    for flag, (section, key) in OVERRIDES.items():
        value = flags.get(flag)
        if value is not None:
            setattr(getattr(config, section), key, value)
    return config


def as_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)
