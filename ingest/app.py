"""Flask app factory: wires settings → token store, reading store, feed, notifier, metrics,
and registers the route blueprints. `create_app()` with no argument reads the environment
(INGEST_VAR_DIR, INGEST_STORE, INGEST_FEED, INGEST_MQTT) — what gunicorn calls."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ingest.auth import TokenStore
from ingest.metrics import Metrics
from ingest.ratelimit import RateLimiter
from ingest.settings import Settings
from ingest.stores import open_store
from ingest.stores.base import Store

log = logging.getLogger("ingest")


@dataclass
class Services:
    settings: Settings
    tokens: TokenStore
    store: Store
    metrics: Metrics
    notifier: Any = None  # ingest.notify.Notifier when a feed is configured
    limiter: RateLimiter | None = None  # per-token request rate (ingest/ratelimit.py)


def services() -> Services:
    from flask import current_app

    return current_app.extensions["ingest"]


def create_app(settings: Settings | None = None) -> Flask:
    settings = (settings or Settings()).resolved()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    app = Flask("ingest")
    app.config["MAX_CONTENT_LENGTH"] = None  # the batch route enforces its own streamed limit
    assert settings.tokens_db is not None
    svc = Services(
        settings=settings,
        tokens=TokenStore(settings.tokens_db),
        store=open_store(settings.store_url, var_dir=settings.var_dir),
        metrics=Metrics(),
        limiter=RateLimiter(settings.rate_limit, settings.rate_burst),
    )
    from ingest.notify.service import build_notifier

    svc.notifier = build_notifier(settings, svc.store, svc.metrics)
    svc.notifier.start_sweeper(settings.silent_sweep_s)
    app.extensions["ingest"] = svc

    from ingest.routes import batches, meta, read

    app.register_blueprint(batches.bp)
    app.register_blueprint(read.bp)
    app.register_blueprint(meta.bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return jsonify(error=f"{exc.name}: {exc.description}"), exc.code

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Any:
        log.exception("unhandled error")
        svc.metrics.inc("ingest_errors_total", status="500", help="requests failed, by status")
        return jsonify(error=f"internal error: {type(exc).__name__}"), 500

    return app


def close_app(app: Flask) -> None:
    """Release what `create_app` opened (the sweeper thread, the calling thread's database
    connections, the feed's): for tests and embedders that build many apps in one process."""
    svc = app.extensions["ingest"]
    svc.notifier.close()
    svc.store.close()
    svc.tokens.close()
