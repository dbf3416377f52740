"""Runs the Flask app on werkzeug's threaded server in a background thread."""

from __future__ import annotations

import logging
import threading

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger(__name__)


class WebServer:
    def __init__(self, app: Flask, host: str, port: int) -> None:
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self._thread = threading.Thread(target=self.server.serve_forever, name="web", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info(
            "HTTP server on %s:%d (/sensors, status page, /metrics)", self.server.host, self.port
        )

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(5)
        self.server.server_close()
