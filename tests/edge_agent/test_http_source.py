"""POST /sensors, the status page, the interval form and /metrics, on a running agent."""

from __future__ import annotations

import http.client
import re
from pathlib import Path

import pytest
import requests

from tests.edge_agent.conftest import GATEWAY, post_sensors, wait_for
from tests.helpers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def web_agent(tmp_path: Path, ingest, agent_factory):
    port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text("[http]\nadmin_token = 's3cret'\n")
    agent = agent_factory(
        [
            "--config",
            str(config),
            "--gateway-id",
            GATEWAY,
            "--ingest-url",
            ingest.url,
            "--token",
            ingest.token,
            "--batch-interval",
            "600",
            "--http-listen",
            f"127.0.0.1:{port}",
        ]
    )
    agent.start()
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _up(url), 20, "agent HTTP server")
    agent.url = url
    yield agent
    if agent.proc is not None:
        agent.stop()


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_sensors_acks_only_durable_readings_and_names_bad_fields(web_agent, ingest) -> None:
    one = {
        "node_id": "orchid-09",
        "boot": 1,
        "seq": 1,
        "values": {"temperature": 27.0, "humidity": 65.0, "light": 15000.0},
    }
    resp = post_sensors(web_agent.url, one)
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 1
    assert resp.elapsed.total_seconds() < 3
    # acknowledged = in the buffer file already (read by a separate process)
    assert web_agent.status()["readings_buffered"] == 1 or wait_for(
        lambda: web_agent.status()["readings_buffered"] == 1, 3, "counter persisted"
    )
    batch = [{**one, "seq": s} for s in range(1, 6)]
    resp = post_sensors(web_agent.url, batch)
    assert resp.json() == {"accepted": 4, "duplicates": 1, "ids": resp.json()["ids"]}
    bad = post_sensors(web_agent.url, [{**one, "seq": 7}, {**one, "seq": 8, "values": {"t": "x"}}])
    assert bad.status_code == 400
    assert bad.json()["error"] == "reading [1]: values.t must be a finite number, got 'x'"
    junk = requests.post(f"{web_agent.url}/sensors", data=b"\xff{", timeout=5)
    assert junk.status_code == 400 and "not JSON" in junk.json()["error"]
    status = wait_for(
        lambda: (s := web_agent.status())["readings_buffered"] == 5 and s, 5, "5 buffered"
    )
    assert status["counters"]["http"]["discarded:invalid"] == 1
    assert status["counters"]["http"]["discarded:not_json"] == 1
    # nothing of the rejected request was stored: seq 7 is still new
    assert post_sensors(web_agent.url, {**one, "seq": 7}).json()["accepted"] == 1


def test_status_page_metrics_and_the_interval_form(web_agent, tmp_path: Path) -> None:
    post_sensors(
        web_agent.url, {"node_id": "rice-01", "boot": 1, "seq": 3, "values": {"soil_ph": 6.5}}
    )
    page = requests.get(f"{web_agent.url}/", timeout=5)
    assert page.status_code == 200
    assert "rice-01" in page.text and "Transfer log" in page.text
    assert not re.search(r"(src|href)=\"https?://", page.text)  # no CDN: works offline
    metrics = requests.get(f"{web_agent.url}/metrics", timeout=5).text
    for name in (
        "edge_agent_received_total",
        "edge_agent_sent_total",
        "edge_agent_discarded_total",
        "edge_agent_errors_total",
        "edge_agent_buffer_rows",
        "edge_agent_buffer_usage_ratio",
    ):
        assert name in metrics
    assert 'edge_agent_received_total{component="http",reason=""} 1.0' in metrics

    def form(token: str, interval: str) -> requests.Response:
        data = {"admin_token": token, "batch_interval": interval}
        return requests.post(f"{web_agent.url}/settings", data=data, timeout=5)

    assert form("nope", "5").status_code == 403
    bad = form("s3cret", "soon")
    assert bad.status_code == 400 and "batch_interval" in bad.json()["error"]
    ok = form("s3cret", "1")
    assert ok.status_code == 200
    # the new interval applies at once: the pending reading ships without waiting 600 s
    wait_for(lambda: web_agent.status()["batches_sent"] >= 1, 10, "a batch at the new interval")
    assert web_agent.status()["settings"]["batch_interval"] == "1.0"
    # persisted: a restart without --batch-interval keeps 1 s
    web_agent.stop()
    web_agent.args = [a for a in web_agent.args]
    i = web_agent.args.index("--batch-interval")
    del web_agent.args[i : i + 2]
    web_agent.start()
    wait_for(lambda: _up(web_agent.url), 20, "agent back")
    live = requests.get(f"{web_agent.url}/api/status", timeout=5).json()["live"]
    assert live["batch_interval"] == 1.0


def test_hostile_requests_get_json_errors_and_the_server_keeps_serving(web_agent) -> None:
    url = web_agent.url
    nothing = requests.get(f"{url}/nope", timeout=5)
    assert nothing.status_code == 404 and "/nope" in nothing.json()["error"]
    wrong = requests.get(f"{url}/sensors", timeout=5)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    # a declared 5 MiB body is refused from its Content-Length, before it is sent
    conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=5)
    conn.putrequest("POST", "/sensors")
    conn.putheader("Content-Length", str(5 * 2**20))
    conn.endheaders(b"[")
    declared = conn.getresponse()
    assert declared.status == 413 and b"body over" in declared.read()
    conn.close()

    def chunks():  # chunked, no Content-Length: cut off once it passes 4 MiB
        for _ in range(80):
            yield b" " * 65536

    streamed = requests.post(f"{url}/sensors", data=chunks(), timeout=10)
    assert streamed.status_code == 413
    status = wait_for(
        lambda: (
            (s := web_agent.status())["counters"].get("http", {}).get("discarded:too_large") == 2
            and s
        ),
        5,
        "both counted",
    )
    assert status["readings_buffered"] == 0
    ok = post_sensors(
        url, {"node_id": "orchid-01", "boot": 1, "seq": 1, "values": {"temperature": 25.0}}
    )
    assert ok.status_code == 200 and ok.json()["accepted"] == 1
