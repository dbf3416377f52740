"""gunicorn's gthread worker with a read timeout on request headers.

gthread waits a few seconds for a connection's first bytes, then reads the request line and
headers with a blocking socket and no timeout: a client that stops inside its headers holds a
worker thread for good, and a dozen of them starve every honest gateway (docs/reliability.md,
finding 12). Here every connection's socket reads give up after `INGEST_HEADER_TIMEOUT`
seconds without a byte (default 5; 0 = no timeout): the parser's read raises, gthread closes
the connection, the thread is free again. While the app reads a batch body it sets its own
timeout (`INGEST_BODY_TIMEOUT`, ingest/routes/body.py) and restores this one after.

gunicorn puts a connection's socket back into blocking mode (which clears any timeout) before
each request, so the socket is re-created as `_TimedSocket`, whose blocking mode is a timeout.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

DEFAULT_HEADER_TIMEOUT = 5.0


class _TimedSocket(socket.socket):
    __slots__ = ()
    read_timeout: float | None = None

    def setblocking(self, flag: bool) -> None:
        if flag and self.read_timeout:
            self.settimeout(self.read_timeout)
        else:
            super().setblocking(flag)


def header_timeout() -> float | None:
    value = float(os.environ.get("INGEST_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT))
    return value if value > 0 else None


class TimedThreadWorker(ThreadWorker):
    """`worker_class = "ingest.gworker.TimedThreadWorker"` (ingest/deploy/gunicorn.conf.py)."""

    def init_process(self) -> None:
        _TimedSocket.read_timeout = header_timeout()
        self.log.error_log.addFilter(_OneLineTimeouts())
        super().init_process()

    def enqueue_req(self, conn: Any) -> None:
        if _TimedSocket.read_timeout and not isinstance(conn.sock, _TimedSocket):
            old = conn.sock
            conn.sock = _TimedSocket(old.family, old.type, old.proto, fileno=old.detach())
        super().enqueue_req(conn)


class _OneLineTimeouts(logging.Filter):
    """gthread logs a read timeout as "Socket error processing request." with a traceback;
    a stalled client is expected here, so say it in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TimeoutError):
            record.msg = "closed a connection: no byte of its request for %g s"
            record.args = (_TimedSocket.read_timeout,)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
