"""Config loading: unknown keys named, wrong types named, flags override the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent import config as cfg

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "edge_agent" / "edge-agent.example.toml"


def test_example_config_is_valid() -> None:
    config = cfg.validate(cfg.load(EXAMPLE))
    assert config.uplink.batch_interval == 600.0
    assert config.buffer.quota_policy == "drop_oldest"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[uplink]\nbatch_intervall = 5\n", "unknown key 'batch_intervall' in [uplink]"),
        ("[uplnk]\n", "unknown section [uplnk]"),
        ("[serial]\nports = '/dev/ttyUSB0'\n", "[serial] ports must be a list of strings"),
        ("[buffer]\ngroup_commit_ms = 'fast'\n", "[buffer] group_commit_ms must be int"),
        ("[buffer]\ngroup_commit_ms = 1000\n", "group_commit_ms must be 1..250"),
        ("[uplink]\ncodec = 'lz4'\n", "codec must be one of"),
        ("[agent]\ngateway_id = 'bad id!'\n", "gateway_id must be"),
        ("[http]\nlisten = 'localhost'\n", "[http] listen must be HOST:PORT"),
        ("[agent\n", "not valid TOML"),
    ],
)
def test_bad_config_names_what_is_wrong(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "c.toml"
    base = "[agent]\ngateway_id = 'gw-1'\n" if "[agent]" not in toml else ""
    path.write_text(
        base + toml + "\n[uplink]\ningest_url = 'http://x'\ntoken = 't'\n"
        if "[uplink]" not in toml
        else base + toml
    )
    with pytest.raises(cfg.ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        cfg.validate(cfg.apply_overrides(cfg.load(path), {"ingest_url": "http://x", "token": "t"}))


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "[agent]\ngateway_id = 'gw-file'\n[uplink]\nbatch_interval = 600.0\ncodec = 'xz'\n"
    )
    flags = {
        "gateway_id": "gw-flag",
        "batch_interval": 10.0,
        "serial": ["/dev/a", "/dev/b"],
        "ingest_url": "http://127.0.0.1:1",
        "token": "tok",
        "codec": None,
    }
    config = cfg.validate(cfg.apply_overrides(cfg.load(path), flags))
    assert config.agent.gateway_id == "gw-flag"
    assert config.uplink.batch_interval == 10.0
    assert config.uplink.codec == "xz"  # not overridden
    assert config.serial.ports == ["/dev/a", "/dev/b"]


def test_config_check_cli_exits_2_and_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[agent]\ngateway_id = 'gw-1'\nstate_dri = '/tmp/x'\n")
    done = subprocess.run(
        [sys.executable, "-m", "edge_agent", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown key 'state_dri' in [agent]" in done.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "edge_agent", "config", "check", "--config", str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr


def test_status_without_state_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "edge_agent", "status", "--state-dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 1
    assert "no agent state at" in done.stderr
