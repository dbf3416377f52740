"""POST /v1/batches against the uplink spec, through the real app and a real sqlite store."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import codecs, wire
from tests.ingest.conftest import GATEWAY, Env, build_env, make_readings


def stored_count(env: Env) -> int:
    return env.app.extensions["ingest"].store.stats()["readings"]


@pytest.mark.parametrize("encoding", codecs.ENCODINGS)
def test_every_encoding_is_stored(env: Env, encoding: str) -> None:
    response = env.post(make_readings(50), encoding=encoding)
    assert response.status_code == 200, response.json
    assert response.json["accepted"] == 50
    assert response.json["duplicates"] == 0
    assert response.json["replayed"] is False
    assert stored_count(env) == 50
    timing = response.headers["Server-Timing"]
    for stage in ("decompress", "parse", "write"):
        assert f"{stage};dur=" in timing


def test_same_key_replays_first_result_and_stores_nothing(env: Env) -> None:
    key = str(uuid.uuid4())
    first = env.post(make_readings(10), key=key)
    again = env.post(make_readings(10, start_seq=100), key=key)  # different body, same key
    assert first.json["accepted"] == 10
    assert again.status_code == 200
    assert again.json == {**first.json, "replayed": True}
    assert stored_count(env) == 10


def test_resent_readings_under_new_key_count_as_duplicates(env: Env) -> None:
    env.post(make_readings(10))
    mixed = make_readings(15)  # 10 old + 5 new
    response = env.post(mixed)
    assert response.json["accepted"] == 5
    assert response.json["duplicates"] == 10
    assert stored_count(env) == 15


def test_duplicate_within_one_batch_is_stored_once(env: Env) -> None:
    readings = make_readings(3)
    response = env.post(readings + readings[:2])
    assert response.json["accepted"] == 3
    assert response.json["duplicates"] == 2
    assert stored_count(env) == 3


def test_bad_lines_are_rejected_by_number_and_the_rest_stored(env: Env) -> None:
    good = make_readings(3)
    bad_ts = {**make_readings(1, start_seq=50)[0], "ts": "2025-05-10 06:10:10"}
    body = wire.encode_ndjson(good[:1]) + b"{not json\n" + wire.encode_ndjson([bad_ts, *good[1:]])
    response = env.post(codecs.compress(body, "gzip"))
    assert response.status_code == 200
    assert response.json["accepted"] == 3
    rejected = {r["line"]: r["error"] for r in response.json["rejected"]}
    assert set(rejected) == {2, 3}
    assert "not JSON" in rejected[2]
    assert "ts" in rejected[3]


def test_body_that_is_not_gzip_is_400_and_nothing_stored(env: Env) -> None:
    response = env.post(b"this is not gzip at all", encoding="gzip")
    assert response.status_code == 400
    assert "gzip" in response.json["error"]
    assert stored_count(env) == 0


def test_truncated_gzip_is_400_and_nothing_half_stored(env: Env) -> None:
    data = codecs.compress(wire.encode_ndjson(make_readings(2000)), "gzip")
    response = env.post(data[: len(data) // 2], encoding="gzip")
    assert response.status_code == 400
    assert stored_count(env) == 0


def test_body_without_any_reading_is_400(env: Env) -> None:
    response = env.post(codecs.compress(b"garbage\nmore garbage\n", "gzip"))
    assert response.status_code == 400
    assert "no line" in response.json["error"]
    assert [r["line"] for r in response.json["rejected"]] == [1, 2]


@pytest.mark.parametrize(
    ("header", "value", "needle"),
    [
        ("Content-Encoding", "brotli", "Content-Encoding"),
        ("Content-Type", "application/json", "Content-Type"),
    ],
)
def test_unknown_encoding_or_type_is_415(env: Env, header: str, value: str, needle: str) -> None:
    kwargs = {"encoding": value} if header == "Content-Encoding" else {"content_type": value}
    data = codecs.compress(wire.encode_ndjson(make_readings(1)), "gzip")
    response = env.post(data, **kwargs)
    assert response.status_code == 415
    assert needle in response.json["error"]


def test_missing_or_bad_idempotency_key_is_400(env: Env) -> None:
    data = codecs.compress(wire.encode_ndjson(make_readings(1)), "gzip")
    response = env.post(data, key="not-a-uuid")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json["error"]


def test_missing_and_unknown_tokens_are_401(env: Env) -> None:
    response = env.client.post(
        "/v1/batches", data=b"", headers={"Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 401
    assert "Authorization" in response.json["error"]
    response = env.post(make_readings(1), token="gw_0000_nope")
    assert response.status_code == 401


def test_app_token_cannot_post_batches(env: Env) -> None:
    response = env.post(make_readings(1), token=env.app_token)
    assert response.status_code == 403


def test_reading_of_another_gateway_is_403_and_batch_not_stored(env: Env) -> None:
    readings = make_readings(3) + make_readings(1, gateway="gw-other")
    response = env.post(readings)
    assert response.status_code == 403
    assert "gw-other" in response.json["error"]
    assert stored_count(env) == 0


def test_revoked_token_is_401(env: Env) -> None:
    tokens = env.app.extensions["ingest"].tokens
    assert tokens.revoke(env.gateway_token.split("_")[1])
    assert env.post(make_readings(1)).status_code == 401


def test_zip_bomb_is_cut_off_with_413(tmp_path) -> None:
    env = build_env(tmp_path / "var", max_decompressed=1_000_000)
    bomb = codecs.compress(b"\n" * 50_000_000, "gzip")  # 50 MB of newlines, ~50 kB compressed
    response = env.post(bomb)
    assert response.status_code == 413
    assert "decompressed" in response.json["error"]
    assert stored_count(env) == 0


def test_compressed_body_over_limit_is_413(tmp_path) -> None:
    env = build_env(tmp_path / "var", max_compressed=10_000)
    data = codecs.compress(wire.encode_ndjson(make_readings(500)), "identity")
    response = env.post(data, encoding="identity")
    assert response.status_code == 413
    assert "compressed" in response.json["error"]


def test_paper_csv_layout_is_accepted(env: Env) -> None:
    csv_body = (
        "ID,timestamp,gateway_id,node_id,temperature,humidity,gas,soil_ph,soil_moisture,GPS\n"
        f"78f06743-1b2c-4d5e-8f90-a1b2c3d4e5f6,2025-05-10 06:10:10,{GATEWAY},5cbb3f1b-aaaa,"
        '34.7,95,4.82,31.77,11.09,"-8.588197, 115.102090"\n'
        f"78f06743-1b2c-4d5e-8f90-a1b2c3d4e5f7,2025-05-10 06:10:15,{GATEWAY},5cbb3f1b-aaaa,"
        '34.6,,4.80,6.5,11.0,"-8.588197, 115.102090"\n'
        f'bad-row,yesterday,{GATEWAY},n,1,2,3,4,5,"1, 2"\n'
    ).encode()
    response = env.post(
        codecs.compress(csv_body, "bzip2"), encoding="bzip2", content_type="text/csv"
    )
    assert response.status_code == 200, response.json
    assert response.json["accepted"] == 2
    assert [r["line"] for r in response.json["rejected"]] == [4]
    page = env.get("/v1/readings?node=5cbb3f1b-aaaa").json["readings"]
    assert page[0]["values"] == {
        "temperature": 34.7, "humidity": 95.0, "gas": 4.82, "soil_ph": 31.77,
        "soil_moisture": 11.09, "lat": -8.588197, "lon": 115.10209,
    }  # fmt: skip
    assert "humidity" not in page[1]["values"]  # an empty cell is absent, never 0
    assert page[0]["ts"] == "2025-05-10T06:10:10.000Z"


def test_overload_is_429_with_retry_after(env: Env, monkeypatch) -> None:
    import threading

    from ingest.routes import batches

    full = threading.BoundedSemaphore(1)
    full.acquire()
    monkeypatch.setattr(batches, "_inflight", full)
    response = env.post(make_readings(1))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert "retry" in response.json["error"]


def test_one_batch_is_decoded_and_stored_at_a_time(env: Env, monkeypatch) -> None:
    """Four uploads at once: every one is stored, never two inside the store at once, and the
    ones that waited say so in Server-Timing's `queue`."""
    import threading
    import time

    store = env.app.extensions["ingest"].store
    inside, most, guard = [0], [0], threading.Lock()
    write = store.write_batch

    def slow_write(*args, **kwargs):
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        try:
            return write(*args, **kwargs)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(store, "write_batch", slow_write)
    answers: list = [None] * 4

    def post(i: int) -> None:
        raw = codecs.compress(wire.encode_ndjson(make_readings(20, start_seq=100 * i)), "gzip")
        answers[i] = env.app.test_client().post("/v1/batches", data=raw, headers={
            "Authorization": f"Bearer {env.gateway_token}", "Content-Encoding": "gzip",
            "Content-Type": "application/x-ndjson", "Idempotency-Key": str(uuid.uuid4()),
        })  # fmt: skip

    threads = [threading.Thread(target=post, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 4
    assert sum(a.json["accepted"] for a in answers) == 80 == stored_count(env)
    assert most[0] == 1
    queued = [float(a.headers["Server-Timing"].split("queue;dur=")[1]) for a in answers]
    assert max(queued) >= 50  # the last one waited for at least one other's 50 ms


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=2000),
    encoding=st.sampled_from(codecs.ENCODINGS),
    content_type=st.sampled_from(["application/x-ndjson", "text/csv"]),
    compress=st.booleans(),
)
def test_no_body_crashes_the_worker(env: Env, body, encoding, content_type, compress) -> None:
    data = codecs.compress(body, encoding) if compress else body
    response = env.post(data, encoding=encoding, content_type=content_type)
    assert response.status_code in (200, 400, 413)
    assert response.is_json
    if response.status_code != 200:
        assert response.json["error"]


def test_concurrent_requests_with_one_key_store_once(env: Env) -> None:
    import threading

    key = str(uuid.uuid4())
    body = codecs.compress(wire.encode_ndjson(make_readings(3000)), "gzip")
    results: list = []

    def post() -> None:
        client = env.app.test_client()
        results.append(client.post("/v1/batches", data=body, headers={
            "Authorization": f"Bearer {env.gateway_token}", "Content-Encoding": "gzip",
            "Content-Type": "application/x-ndjson", "Idempotency-Key": key,
        }).json)  # fmt: skip

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["replayed"] for r in results) == [False, True, True, True]
    assert all(r["accepted"] == 3000 for r in results)
    assert stored_count(env) == 3000


def test_many_rejects_are_capped_and_counted_also_on_replay(env: Env) -> None:
    body = wire.encode_ndjson(make_readings(2)) + b"x\n" * 1500
    key = str(uuid.uuid4())
    first = env.post(codecs.compress(body, "gzip"), key=key).json
    assert first["accepted"] == 2
    assert len(first["rejected"]) == 1000 and first["rejected_total"] == 1500
    again = env.post(codecs.compress(body, "gzip"), key=key).json
    assert again["rejected_total"] == 1500 and again["replayed"] is True
