"""Run the app under gunicorn (in-process arbiter, config ingest/deploy/gunicorn.conf.py).
Each worker builds its own app (no preload: sqlite connections must not cross a fork), so the
settings travel to workers through INGEST_* variables."""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from ingest.settings import Settings

GUNICORN_CONF = Path(__file__).resolve().parent / "deploy" / "gunicorn.conf.py"


def export(settings: Settings) -> None:
    os.environ["INGEST_VAR_DIR"] = str(settings.var_dir)
    os.environ["INGEST_STORE"] = settings.store_url
    os.environ["INGEST_FEED"] = settings.feed_url
    os.environ["INGEST_TOKENS_DB"] = str(settings.tokens_db)
    os.environ["INGEST_MQTT"] = settings.mqtt_url
    os.environ["INGEST_MAX_COMPRESSED"] = str(settings.max_compressed)
    os.environ["INGEST_MAX_DECOMPRESSED"] = str(settings.max_decompressed)
    os.environ["INGEST_RATE_LIMIT"] = str(settings.rate_limit)
    os.environ["INGEST_RATE_BURST"] = str(settings.rate_burst)
    os.environ["INGEST_BODY_TIMEOUT"] = str(settings.body_timeout)


class IngestServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        conf = runpy.run_path(str(GUNICORN_CONF))
        for key, value in {**conf, **self.options}.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from ingest.wsgi import app

        return app


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    export(settings)
    print(f"ingest listening on http://{host}:{port} (store {settings.store_url})", flush=True)
    IngestServer({"bind": f"{host}:{port}", "workers": max(1, workers)}).run()
    return 0
