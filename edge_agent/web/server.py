"""Serves the agent's ASGI app with uvicorn (httptools parser) in a background thread.

The socket is bound here, in the constructor, so a port in use fails the agent's start
with a clear error; port 0 picks a free one (`.port`). uvicorn logs through the standard
`uvicorn.error` logger (journald-friendly via the agent's logging setup); access logs are off.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 1000  # at this many open connections uvicorn answers 503: bounded memory
BUSY_MESSAGE = "Exceeded concurrency limit."  # what uvicorn logs for each such 503


class BusyFilter(logging.Filter):
    """Counts uvicorn's per-request "Exceeded concurrency limit." warnings (`on_busy`) and
    lets one through per `every` seconds, with the number held back, so a crowd of clients
    past MAX_CONNECTIONS does not write a journal line per refused request."""

    def __init__(
        self, limit: int, on_busy: Callable[[], None] | None = None, every: float = 60.0
    ) -> None:
        super().__init__()
        self.limit, self.on_busy, self.every = limit, on_busy, every
        self.held = 0
        self._next = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() != BUSY_MESSAGE:
            return True
        if self.on_busy is not None:
            self.on_busy()
        now = time.monotonic()
        if now < self._next:
            self.held += 1
            return False
        record.msg = f"connection limit ({self.limit}) reached: answering 503" + (
            f" ({self.held} more since the last such line)" if self.held else ""
        )
        record.args = ()
        self.held, self._next = 0, now + self.every
        return True


class WebServer:
    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        on_busy: Callable[[], None] | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.sock = _listen(host, port)
        self.host, self.port = host, self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            http="httptools",
            loop="asyncio",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            limit_concurrency=max_connections,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=3,
        )
        self.server = uvicorn.Server(config)
        self._busy = BusyFilter(max_connections, on_busy)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="web", daemon=True
        )

    def start(self) -> None:
        logging.getLogger("uvicorn.error").addFilter(self._busy)
        self._thread.start()
        log.info("HTTP server on %s:%d (/sensors, status page, /metrics)", self.host, self.port)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(5)
        self.sock.close()
        logging.getLogger("uvicorn.error").removeFilter(self._busy)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose connections have Nagle off. The protocol is given
    explicitly: asyncio sets TCP_NODELAY only on sockets with proto == IPPROTO_TCP, and
    socket.create_server() makes proto-0 sockets, whose replies (uvicorn writes the head
    and the body separately) then wait ~40 ms for the client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock
