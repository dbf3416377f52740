"""GET /healthz, /metrics (Prometheus text), /openapi.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify

from ingest.stores.base import StoreUnavailable

bp = Blueprint("meta", __name__)
OPENAPI = Path(__file__).resolve().parent.parent / "openapi.json"


@bp.get("/healthz")
def healthz() -> Any:
    from ingest.app import services

    try:
        services().store.ping()
    except StoreUnavailable as exc:
        return jsonify(status="unavailable", error=str(exc)), 503
    return jsonify(status="ok")


@bp.get("/metrics")
def metrics() -> Any:
    from ingest.app import services

    return Response(services().metrics.render(), mimetype="text/plain; version=0.0.4")


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(json.loads(OPENAPI.read_text()))
