"""The runner against the real edge agent (`edge-agent run --http-listen`, shipping to a real
local ingest), short stages."""

import json

import pytest

from loadtests import runner

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_gateway_run_posts_readings_and_the_agent_ships_them(tmp_path):
    cfg = runner.RunConfig(
        target="gateway", users=[4], duration_s=3, out=tmp_path / "out", ramp_s=1,
        group_commit_ms=10, command="test",
    )  # fmt: skip
    (stage,) = runner.run(cfg, log=lambda *_: None)
    assert stage.requests > 0 and stage.failures == 0  # every POST /sensors answered 200
    assert stage.cpu_pct > 0
    summary = json.loads((cfg.out / "summary.json").read_text())
    assert summary["group_commit_ms"] == 10 and summary["user_class"] == "NoWaitNodeUser"
    agent_log = (cfg.out / "edge-agent.log").read_text()
    # On SIGTERM the agent flushed everything it buffered to the ingest under test.
    assert "shutdown flush emptied the buffer" in agent_log
    assert "| 4 |" in (cfg.out / "summary.md").read_text()


def test_paced_nodes_post_every_five_seconds(tmp_path):
    cfg = runner.RunConfig(
        target="gateway", users=[5], duration_s=6, out=tmp_path / "out", mode="paced", ramp_s=1
    )
    (stage,) = runner.run(cfg, log=lambda *_: None)
    assert stage.failures == 0
    assert 0.5 <= stage.rps <= 2.0  # 5 nodes x one reading / 5 s = 1 req/s


def test_wrk_generator_posts_valid_readings(tmp_path):
    cfg = runner.RunConfig(
        target="gateway", users=[4], duration_s=2, out=tmp_path / "out", ramp_s=1,
        generator="wrk", command="test",
    )  # fmt: skip
    (stage,) = runner.run(cfg, log=lambda *_: None)
    # every request answered 2xx: the Lua script's readings pass the agent's validation
    assert stage.requests > 0 and stage.failures == 0
    assert 0 < stage.p50_ms <= stage.p99_ms <= stage.max_ms
    summary = json.loads((cfg.out / "summary.json").read_text())
    assert summary["generator"] == "wrk"
    assert "wrk CPU %" in (cfg.out / "summary.md").read_text()


def test_wrk_generator_refuses_what_it_cannot_drive(tmp_path):
    with pytest.raises(ValueError, match="no-wait users only"):
        runner.RunConfig(target="ingest", users=[1], duration_s=1, out=tmp_path, generator="wrk")
