"""/healthz, /metrics, /openapi.json — and the OpenAPI document covers every route."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from tests.ingest.conftest import Env, make_readings

OPENAPI = Path(__file__).resolve().parents[2] / "ingest" / "openapi.json"


def test_openapi_document_is_valid_and_served(env: Env) -> None:
    document = json.loads(OPENAPI.read_text())
    validate(document)
    assert env.client.get("/openapi.json").json == document


def test_openapi_documents_every_route(env: Env) -> None:
    document = json.loads(OPENAPI.read_text())
    routes = {
        (rule.rule, method.lower())
        for rule in env.app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert routes == documented


def test_every_batch_status_of_the_spec_is_documented() -> None:
    responses = json.loads(OPENAPI.read_text())["paths"]["/v1/batches"]["post"]["responses"]
    spec = {"200", "400", "401", "403", "413", "415", "429", "503"}
    beyond_spec = {"408"}  # body timeout (docs/ingest.md); the gateway retries it with backoff
    assert set(responses) == spec | beyond_spec


def test_healthz_and_metrics(env: Env) -> None:
    assert env.client.get("/healthz").json == {"status": "ok"}
    env.post(make_readings(4))
    env.post(make_readings(4))
    text = env.client.get("/metrics").get_data(as_text=True)
    assert "# TYPE ingest_readings_stored_total counter" in text
    assert "ingest_readings_stored_total 4" in text
    assert "ingest_readings_duplicate_total 4" in text
    assert 'ingest_batches_total{status="200"} 2' in text
