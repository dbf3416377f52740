"""Serves the agent's ASGI app with uvicorn (httptools parser) in a background thread.

The socket is bound here, in the constructor, so a port in use fails the agent's start
with a clear error; port 0 picks a free one (`.port`). uvicorn logs through the standard
`uvicorn.error` logger (journald-friendly via the agent's logging setup); access logs are off.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import uvicorn

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 1000  # beyond this uvicorn answers 503: memory stays bounded


class WebServer:
    def __init__(self, app: Any, host: str, port: int) -> None:
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
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=3,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="web", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        log.info("HTTP server on %s:%d (/sensors, status page, /metrics)", self.host, self.port)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(5)
        self.sock.close()


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
