"""Read API for the app and the web: nodes, cursor-paged readings (raw and downsampled)."""

from __future__ import annotations

import pytest

from tests.ingest.conftest import Env, make_readings


@pytest.fixture
def loaded(env: Env) -> Env:
    env.post(make_readings(30, node="orchid-01", every=60.0))
    env.post(make_readings(30, node="orchid-02", every=60.0, start=1746857410.0 + 30))
    return env


def test_nodes_show_last_seen_latest_values_score_label(loaded: Env) -> None:
    nodes = loaded.get("/v1/nodes").json["nodes"]
    assert [n["node_id"] for n in nodes] == ["orchid-01", "orchid-02"]
    first = nodes[0]
    assert first["last_seen"] == "2025-05-10T06:39:10.000Z"
    assert first["values"]["temperature"] == 29.0  # seq 29: 27 + (29 % 5) * 0.5
    assert (first["score"], first["label"], first["readings"]) == (72.5, "optimal", 30)


def test_readings_page_through_all_with_cursor(loaded: Env) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        url = "/v1/readings?limit=7" + (f"&after={cursor}" if cursor else "")
        body = loaded.get(url).json
        seen += body["readings"]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == 60 and pages == 9
    assert len({r["id"] for r in seen}) == 60
    assert [r["ts"] for r in seen] == sorted(r["ts"] for r in seen)
    assert set(seen[0]) == {"id", "ts", "gateway_id", "node_id", "profile", "boot", "seq",
                            "values", "score", "label", "flags"}  # fmt: skip


def test_readings_filter_by_node_and_time(loaded: Env) -> None:
    url = "/v1/readings?node=orchid-02&from=2025-05-10T06:15:00.000Z&to=2025-05-10T06:20:00.000Z"
    readings = loaded.get(url).json["readings"]
    assert [r["seq"] for r in readings] == [5, 6, 7, 8, 9]
    assert all(r["node_id"] == "orchid-02" for r in readings)


def test_downsampled_readings_average_per_bucket(loaded: Env) -> None:
    body = loaded.get("/v1/readings?node=orchid-01&every=5m").json
    buckets = body["readings"]
    assert [b["count"] for b in buckets] == [5, 5, 5, 5, 5, 5]
    # 06:10:10 falls in the 06:10 bucket; temperatures 27, 27.5, 28, 28.5, 29 → 28
    assert buckets[0]["ts"] == "2025-05-10T06:10:00.000Z"
    assert buckets[0]["values"]["temperature"] == pytest.approx(28.0)
    assert buckets[0]["score"] == pytest.approx(72.5)
    paged = loaded.get("/v1/readings?every=10m&limit=2").json
    assert len(paged["readings"]) == 2 and paged["next"]
    rest = loaded.get(f"/v1/readings?every=10m&limit=100&after={paged['next']}").json
    assert len(paged["readings"]) + len(rest["readings"]) == 6  # 3 buckets × 2 nodes
    assert rest["next"] is None


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("from=yesterday", "from"),
        ("every=5x", "every"),
        ("after=%%%", "cursor"),
    ],
)
def test_bad_query_parameters_are_400_naming_them(loaded: Env, query: str, needle: str) -> None:
    response = loaded.get(f"/v1/readings?{query}")
    assert response.status_code == 400
    assert needle in response.json["error"]


def test_read_api_needs_an_app_token(loaded: Env) -> None:
    assert loaded.client.get("/v1/nodes").status_code == 401
    assert loaded.get("/v1/nodes", token=loaded.gateway_token).status_code == 403
