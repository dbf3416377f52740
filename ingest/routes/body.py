"""The request body of a batch as the pipeline reads it: all of its `Content-Length` or a 400,
and never an endless wait for the next byte.

gunicorn hands the app a body that simply ends when the client's connection does, so a batch
cut off mid-upload would be parsed as if complete (and its Idempotency-Key recorded with the
partial result). And a worker thread blocked on a body that stops arriving is a thread the
other gateways lose: reads from the socket give up after `timeout` seconds without a byte
(408, the connection closed; the gateway sends the batch again later).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any, BinaryIO

from ingest.pipeline import BatchError


class BodyReader:
    """A read-only stream over `source` that raises BatchError 400 when it ends before
    `length` bytes (when a length was declared) or breaks off, and 408 when a read times
    out."""

    def __init__(self, source: BinaryIO, length: int | None, timeout: float | None) -> None:
        self.source, self.length, self.timeout, self.count = source, length, timeout, 0

    def read(self, size: int = -1) -> bytes:
        try:
            chunk = self.source.read(size)
        except TimeoutError:
            raise BatchError(
                408,
                f"no byte of the body arrived for {self.timeout:g} s after {self.count} bytes;"
                " nothing stored, send the batch again",
            ) from None
        except OSError as exc:  # e.g. a chunked body whose connection closed mid-chunk
            raise BatchError(
                400,
                f"body could not be read to its end after {self.count} bytes ({exc});"
                " nothing stored",
            ) from None
        self.count += len(chunk)
        if not chunk and size != 0 and self.length is not None and self.count < self.length:
            raise BatchError(
                400,
                f"body ended after {self.count} of its Content-Length {self.length} bytes"
                " (connection cut mid-upload?); nothing stored",
            )
        return chunk

    def readable(self) -> bool:
        return True


@contextlib.contextmanager
def read_timeout(environ: dict[str, Any], seconds: float | None) -> Iterator[None]:
    """Make reads from the request's socket give up after `seconds` without a byte, where the
    server exposes its socket (gunicorn); restore the socket's own timeout afterwards."""
    sock = environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket) or not seconds:
        yield
        return
    previous = sock.gettimeout()
    sock.settimeout(seconds)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(previous)
