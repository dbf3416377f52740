"""Hostile HTTP against the ingest app (Flask test client, real SQLite store): zip bombs in
every encoding, oversized and truncated bodies, bad tokens, foreign gateway ids, SQL injection
and path traversal in every parameter and route. Each answer must be the status the uplink
contract names, with a JSON `error`; never a 500; and nothing of a refused batch is stored."""

from __future__ import annotations

import json
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import pytest

from ingest import codecs, cursors, wire
from tests.ingest.conftest import GATEWAY, Env, build_env, make_readings
from tests.reliability.bombs import BOMB_ENCODINGS, bomb
from tests.reliability.fuzzcount import tried

MiB = 2**20
INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1--",
    '" OR ""="',
    "'; DROP TABLE readings;--",
    "1; DELETE FROM tokens",
    "orchid-01' UNION SELECT secret_sha256, 1, 1 FROM tokens--",
    "%27%20OR%201%3D1",
    "\\x00",
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%00",
    "${jndi:ldap://127.0.0.1/a}",
    "{{7*7}}",
    "*",
    "%",
    "_",
    "-1",
    "99999999999999999999999999",
    "1e999",
    "NaN",
]
TRAVERSALS = [
    "/v1/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/v1/%2e%2e/%2e%2e/etc/passwd",
    "/openapi.json/../../../../etc/passwd",
    "/static/../../ingest/auth.py",
    "/v1/readings/..%2f..%2f..%2fetc%2fpasswd",
    "//etc/passwd",
    "/..;/etc/passwd",
    "/v1/batches/../../tokens.sqlite3",
    "/tokens.sqlite3",
    "/var/readings.sqlite3",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/v1/nodes%00.json",
]


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return build_env(
        tmp_path / "var", max_compressed=256 * 1024, max_decompressed=4 * MiB, rate_limit=0
    )


def _stored(env: Env) -> list[dict[str, Any]]:
    body = env.get("/v1/readings?limit=10000").get_json()
    return body["readings"]


def _json_error(resp: Any, status: int | tuple[int, ...]) -> str:
    tried(f"http {resp.request.method} {resp.request.path.split('?')[0][:20]}")
    wanted = status if isinstance(status, tuple) else (status,)
    assert resp.status_code in wanted, (resp.status_code, resp.get_data()[:300])
    body = resp.get_json(silent=True)
    assert isinstance(body, dict) and body.get("error"), resp.get_data()[:300]
    return body["error"]


# ---- bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", BOMB_ENCODINGS)
def test_zip_bomb_is_413_with_bounded_memory(env: Env, encoding: str) -> None:
    data = bomb(encoding, 64 * MiB)  # 64 MiB of zeros in a few KiB; the limit is 4 MiB
    tracemalloc.start()
    try:
        resp = env.post(data, encoding=encoding)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "exceeds" in _json_error(resp, 413)
    assert peak < 16 * MiB, f"{encoding} bomb peaked at {peak / MiB:.1f} MiB in Python"
    assert _stored(env) == []


@pytest.mark.parametrize("encoding", BOMB_ENCODINGS)
def test_bomb_of_blank_lines_and_of_one_endless_line(env: Env, encoding: str) -> None:
    for filler in (b"\n", b"a"):
        data = codecs.compress(filler * (8 * MiB), encoding)
        assert "exceeds" in _json_error(env.post(data, encoding=encoding), 413)
    assert _stored(env) == []


def test_valid_lines_then_bomb_stores_nothing(env: Env) -> None:
    good = wire.encode_ndjson(make_readings(50))
    data = codecs.compress(good + b"\n" * (8 * MiB), "gzip")
    _json_error(env.post(data, encoding="gzip"), 413)
    assert _stored(env) == []  # a batch is never half-written


def test_oversized_compressed_body_is_413(env: Env) -> None:
    import os

    noise = os.urandom(300 * 1024)  # incompressible, over the 256 KiB limit
    assert "exceeds" in _json_error(env.post(noise, encoding="identity"), 413)


# zstd used to end quietly on a cut frame: a 200 storing its complete lines (finding 9).
@pytest.mark.parametrize("encoding", BOMB_ENCODINGS)
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_compressed_body_is_400_and_nothing_stored(
    env: Env, encoding: str, keep: float
) -> None:
    data = codecs.compress(wire.encode_ndjson(make_readings(200)), encoding)
    resp = env.post(data[: int(len(data) * keep)], encoding=encoding)
    _json_error(resp, 400)
    assert _stored(env) == []


def test_truncated_ndjson_stores_complete_lines_and_rejects_the_cut_one(env: Env) -> None:
    raw = wire.encode_ndjson(make_readings(10))
    resp = env.post(raw[:-20], encoding="identity")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["accepted"] == 9 and [r["line"] for r in body["rejected"]] == [10]


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        ("application/json", "gzip"),
        ("text/plain", "gzip"),
        ("", "gzip"),
        ("application/x-ndjson", "br"),
        ("application/x-ndjson", "deflate"),
        ("application/x-ndjson", "gzip, gzip"),
        ("application/x-ndjson", "compress"),
        ("application/x-ndjson; charset=' OR 1=1", "x-evil"),
    ],
)
def test_unsupported_type_or_encoding_is_415(env: Env, content_type: str, encoding: str) -> None:
    data = codecs.compress(wire.encode_ndjson(make_readings(1)), "gzip")
    resp = env.post(data, encoding=encoding, content_type=content_type)
    assert "not supported" in _json_error(resp, 415)


@pytest.mark.parametrize("key", ["", "not-a-uuid", *INJECTIONS[:6]])
def test_bad_idempotency_key_is_400(env: Env, key: str) -> None:
    data = codecs.compress(wire.encode_ndjson(make_readings(1)), "gzip")
    headers = {
        "Authorization": f"Bearer {env.gateway_token}",
        "Content-Type": "application/x-ndjson",
        "Content-Encoding": "gzip",
    }
    if key:
        headers["Idempotency-Key"] = key
    resp = env.client.post("/v1/batches", data=data, headers=headers)
    assert "Idempotency-Key" in _json_error(resp, 400)


# ---- tokens -----------------------------------------------------------------------------


def _revoked(env: Env) -> str:
    svc = env.app.extensions["ingest"]
    token = svc.tokens.create("gateway", GATEWAY)
    assert svc.tokens.revoke(token.split("_")[1])
    return token


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic Z3c6cGFzcw==",
        "bearer gw_x_y",
        "Bearer gw_nope_nope",
        "Bearer gw__",
        "Bearer ' OR '1'='1",
        "Bearer gw_' OR 1=1--_x",
        "Bearer " + "A" * 10_000,
        "Bearer gw_%s_wrongsecret",  # a real token id with a wrong secret
        "REVOKED",
    ],
)
def test_missing_wrong_or_revoked_token_is_401(env: Env, authorization: str | None) -> None:
    if authorization == "REVOKED":
        authorization = f"Bearer {_revoked(env)}"
    elif authorization and "%s" in authorization:
        authorization = authorization % env.gateway_token.split("_")[1]
    headers = {"Content-Type": "application/x-ndjson", "Idempotency-Key": str(uuid.uuid4())}
    if authorization is not None:
        headers["Authorization"] = authorization
    data = wire.encode_ndjson(make_readings(1))
    resp = env.client.post("/v1/batches", data=data, headers=headers)
    _json_error(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    for path in ("/v1/readings", "/v1/nodes", "/v1/notifications"):
        get_headers = {"Authorization": authorization} if authorization else {}
        _json_error(env.client.get(path, headers=get_headers), 401)
    assert _stored(env) == []


def test_token_kinds_do_not_cross(env: Env) -> None:
    assert "gateway token" in _json_error(env.post(make_readings(1), token=env.app_token), 403)
    for path in ("/v1/readings", "/v1/nodes"):
        _json_error(env.get(path, token=env.gateway_token), 403)
    assert _stored(env) == []


def test_token_used_for_another_gateway_is_403_and_nothing_stored(env: Env) -> None:
    foreign = make_readings(3, gateway="gw-other-99")
    assert "gw-other-99" in _json_error(env.post(foreign), 403)
    mixed = make_readings(5) + make_readings(1, gateway="gw-other-99", start_seq=5)
    _json_error(env.post(mixed), 403)
    assert _stored(env) == []


def test_revoked_token_stops_working_at_once(env: Env) -> None:
    svc = env.app.extensions["ingest"]
    token = svc.tokens.create("gateway", GATEWAY)
    assert env.post(make_readings(1), token=token).status_code == 200
    svc.tokens.revoke(token.split("_")[1])
    _json_error(env.post(make_readings(1, start_seq=1), token=token), 401)
    assert len(_stored(env)) == 1


# ---- SQL injection and path traversal ---------------------------------------------------

READ_PARAMS = {
    "/v1/readings": ["node", "from", "to", "every", "limit", "after"],
    "/v1/nodes": ["node", "limit"],  # takes no parameter: they must simply be ignored
    "/v1/notifications": ["after", "limit"],
}


def _tables(env: Env) -> dict[str, int]:
    import sqlite3

    counts = {}
    for name in ("readings.sqlite3", "tokens.sqlite3"):
        db = sqlite3.connect(env.settings.var_dir / name)
        try:
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                counts[f"{name}:{table}"] = db.execute(
                    f'SELECT count(*) FROM "{table}"'
                ).fetchone()[0]
        finally:
            db.close()
    return counts


def test_sql_injection_in_every_query_parameter(env: Env) -> None:
    assert env.post(make_readings(20)).status_code == 200
    before = _tables(env)
    for route, params in READ_PARAMS.items():
        for param in params:
            for value in INJECTIONS:
                resp = env.client.get(
                    route,
                    query_string={param: value},
                    headers={"Authorization": f"Bearer {env.app_token}"},
                )
                tried("http GET injection")
                assert resp.status_code in (200, 400, 501), (route, param, value, resp.status_code)
                body = resp.get_json()
                if resp.status_code != 200:
                    assert body["error"]
                elif route == "/v1/readings" and param == "node":
                    assert body["readings"] == [], value  # matches nothing, not everything
    assert _tables(env) == before


def test_sql_injection_in_reading_fields_is_rejected_or_stored_verbatim(env: Env) -> None:
    readings = make_readings(len(INJECTIONS))
    for reading, text in zip(readings, INJECTIONS, strict=True):
        reading["label"] = text  # free text: must round-trip exactly
        reading["flags"] = [text]
    hostile_ids = make_readings(3, start_seq=100)
    hostile_ids[0]["node_id"] = "n' OR '1'='1"
    hostile_ids[1]["gateway_id"] = GATEWAY + "'; DROP TABLE readings;--"
    hostile_ids[2]["values"] = {"t'; DROP TABLE readings;--": 1.0}
    resp = env.post(readings + hostile_ids)
    assert resp.status_code == 200, resp.get_data()[:300]
    body = resp.get_json()
    assert body["accepted"] == len(INJECTIONS)
    assert sorted(r["line"] for r in body["rejected"]) == [
        len(INJECTIONS) + 1,
        len(INJECTIONS) + 3,
    ] or any("gateway" in r["error"] for r in body["rejected"])
    stored = {r["seq"]: r for r in _stored(env)}
    for reading, text in zip(readings, INJECTIONS, strict=True):
        assert stored[reading["seq"]]["label"] == text
        assert stored[reading["seq"]]["flags"] == [text]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_finds_nothing(env: Env, path: str) -> None:
    for method in ("GET", "POST"):
        resp = env.client.open(
            path, method=method, headers={"Authorization": f"Bearer {env.app_token}"}
        )
        tried("http traversal")
        assert resp.status_code in (400, 404, 405), (method, path, resp.status_code)
        data = resp.get_data()
        assert b"root:" not in data and b"SQLite format" not in data and b"secret" not in data
        assert resp.get_json(silent=True)["error"]


# Forged cursors: well-formed base64 JSON holding values of the wrong type used to reach SQLite
# or int() and answer 500 (the exception named beside each; finding 6 of docs/reliability.md).
# Every one must be a 400 with an error now.
PAGE_CURSORS = [
    (cursors.encode({"a": 1}, "x"), "ProgrammingError"),
    (cursors.encode([1, 2], [3]), "ProgrammingError"),
    (cursors.encode(1e308, -(2**70)), "OverflowError"),
    (cursors.encode(None, None), ""),
    (cursors.encode("' OR 1=1--", 0), ""),
    (cursors.encode("\ud800", "\udfff"), "UnicodeEncodeError"),
    (cursors.encode(True, False), ""),
    ("bm90IGpzb24", ""),
    ("////", ""),
]
FEED_CURSORS = [
    (cursors.encode([]), "TypeError"),
    (cursors.encode({"x": 1}), "TypeError"),
    (cursors.encode("abc"), "ValueError"),
    (cursors.encode(2**70), "OverflowError"),
    (cursors.encode(2**63), "OverflowError"),
    (cursors.encode("' OR 1=1--"), "ValueError"),
    (cursors.encode(1.5), ""),
    (cursors.encode(True), ""),
    ("bm90IGpzb24", ""),
]


def _cursor_cases() -> list[Any]:
    return [
        pytest.param(route, cursor, id=f"{route}-{crash or 'refused'}-{cursor[:16]}")
        for routes, table in (
            (["/v1/readings", "/v1/readings?every=1h"], PAGE_CURSORS),
            (["/v1/notifications"], FEED_CURSORS),
        )
        for route in routes
        for cursor, crash in table
    ]


@pytest.mark.parametrize(("route", "cursor"), _cursor_cases())
def test_forged_cursor_is_400_not_500(env: Env, route: str, cursor: str) -> None:
    assert env.post(make_readings(3)).status_code == 200
    sep = "&" if "?" in route else "?"
    resp = env.get(f"{route}{sep}after={cursor}")
    tried("http forged cursor")
    assert "cursor" in _json_error(resp, 400)


def test_largest_int64_feed_cursor_is_accepted(env: Env) -> None:
    resp = env.get(f"/v1/notifications?after={cursors.encode(2**63 - 1)}")
    assert resp.status_code == 200 and resp.get_json()["notifications"] == []


def test_hostile_json_lines_are_listed_not_fatal(env: Env) -> None:
    good = make_readings(2)
    lines = [
        json.dumps(good[0]).encode(),
        b"\xff\xfe not utf-8",
        b"[" * 50_000,
        b'{"id": 1}',
        b"null",
        json.dumps(good[1]).encode(),
    ]
    resp = env.post(b"\n".join(lines), encoding="identity")
    body = resp.get_json()
    assert resp.status_code == 200 and body["accepted"] == 2
    assert [r["line"] for r in body["rejected"]] == [2, 3, 4, 5]


@pytest.mark.slow
def test_one_long_line_is_refused_quickly(tmp_path: Path) -> None:
    import time

    env = build_env(tmp_path / "var", rate_limit=0)  # default 256 MiB decompressed limit
    data = codecs.compress(b"a" * (24 * MiB), "gzip")
    started = time.perf_counter()
    resp = env.post(data, encoding="gzip")
    elapsed = time.perf_counter() - started
    assert resp.status_code in (400, 413)
    assert elapsed < 2.0, f"a 24 MiB line took {elapsed:.1f} s"


def test_blank_line_bomb_is_refused_quickly(tmp_path: Path) -> None:
    import time

    env = build_env(tmp_path / "var", rate_limit=0, max_decompressed=64 * MiB)
    data = bomb("gzip", 80 * MiB, b"\n")
    started = time.perf_counter()
    resp = env.post(data, encoding="gzip")
    elapsed = time.perf_counter() - started
    assert resp.status_code == 413
    assert elapsed < 2.0, f"64 MiB of newlines took {elapsed:.1f} s"
