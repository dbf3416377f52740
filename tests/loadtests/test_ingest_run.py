"""The runner against the real ingest service (gunicorn on a loopback port), short stages."""

import json
import os
import struct

import pytest

from loadtests import runner, sut

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_ingest_run_writes_every_output(tmp_path):
    cfg = runner.RunConfig(
        target="ingest", users=[2, 6], duration_s=3, out=tmp_path / "out", ramp_s=1,
        batch_size=24, command="test",
    )  # fmt: skip
    stages = runner.run(cfg, log=lambda *_: None)
    out = cfg.out
    summary = json.loads((out / "summary.json").read_text())
    assert [s["users"] for s in summary["stages"]] == [2, 6]
    for s in summary["stages"]:
        assert s["failures"] == 0  # every batch answered 200 with all readings accepted
        assert s["rps"] > 0 and s["p50_ms"] <= s["p95_ms"] <= s["p99_ms"]
        assert 0 < s["cpu_pct"] <= 100
        assert {"users", "rps", "p50_ms", "p95_ms", "p99_ms", "cpu_pct", "failures"} <= set(s)
    assert stages[0].requests > 0
    assert (out / "stage-0002_stats.csv").exists() and (out / "stage-0006_stats.csv").exists()
    assert "| 6 |" in (out / "summary.md").read_text()
    png = (out / "chart.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 800 and height > 300
    assert "Booting worker" in (out / "ingest.log").read_text()


def test_rejected_batches_count_as_failures(tmp_path):
    """A gateway whose token the ingest does not know: every request is a failure."""
    server, _tokens = sut.start_ingest(tmp_path, 1, workers=1)
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"lt-gw-0000": "gw_nosuch_secret"}))
    cfg = runner.RunConfig("ingest", [2], 2, tmp_path / "out", ramp_s=1, batch_size=5)
    cfg.out.mkdir()
    env = dict(os.environ, PYTHONPATH=str(runner.LOCUSTFILE.parents[1]), LOADTEST_TOKENS=str(bogus))
    try:
        stage = runner.run_stage(cfg, server, 2, env)
    finally:
        server.stop()
    assert stage.requests > 0 and stage.failures == stage.requests
    failures = (cfg.out / "stage-0002_failures.csv").read_text()
    assert "HTTP 401" in failures
