"""The few pieces of HTTP the agent needs, on ASGI (served by uvicorn, `server.py`).

A route is `(method, path) -> handler`. An `async` handler runs on the event loop and
reads the body itself (`/sensors`, which awaits the committer's ack without holding a
thread); a plain function runs in a worker thread with the body already read (status page,
metrics, settings: they read SQLite). Errors are JSON `{"error": ...}`; an exception in a
handler is logged and answered 500, never taken down with the server.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import msgspec

log = logging.getLogger(__name__)
FORM_LIMIT = 64 * 1024  # body limit of the thread-run handlers (forms)
BODY_TIMEOUT = 30.0  # seconds a client may take to send its body (then 408)


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(data: Any, status: int = 200, **headers: str) -> Response:
    body = msgspec.json.encode(data)
    return Response(status, body, headers=[(k.replace("_", "-"), v) for k, v in headers.items()])


def error(status: int, message: str, **headers: str) -> Response:
    return json_response({"error": message}, status, **headers)


class Request:
    def __init__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict]]) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.body = b""
        self._receive = receive

    @property
    def content_length(self) -> int | None:
        raw = self.headers.get("content-length")
        return int(raw) if raw and raw.isdigit() else None

    async def read(self, limit: int) -> bytes:
        """The whole body; BodyTooLarge as soon as it passes `limit` bytes (by its
        Content-Length or while it streams), BodyTimeout if it takes over BODY_TIMEOUT."""
        if (self.content_length or 0) > limit:
            raise BodyTooLarge(limit)
        try:
            async with asyncio.timeout(BODY_TIMEOUT):
                self.body = await self._read(limit)
        except TimeoutError:
            raise BodyTimeout(BODY_TIMEOUT) from None
        return self.body

    async def _read(self, limit: int) -> bytes:
        parts, size = [], 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ConnectionResetError("client went away before its body was read")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            parts.append(chunk)
            if not message.get("more_body"):
                return b"".join(parts)

    def form(self) -> dict[str, str]:
        """The body as an application/x-www-form-urlencoded form (the status page's)."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace")))


Handler = Callable[[Any, Request], Any]


class App:
    """ASGI application: `routes` maps (method, path) to handlers taking (ctx, request)."""

    def __init__(self, ctx: Any, routes: dict[tuple[str, str], Handler]) -> None:
        self.ctx = ctx
        self.routes = routes
        self.paths = {path for _m, path in routes}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan is off; nothing else is served
            return
        request = Request(scope, receive)
        try:
            response = await self._dispatch(request)
        except BodyTooLarge as exc:
            response = error(413, f"body over {exc.args[0]} bytes", connection="close")
        except BodyTimeout as exc:
            response = error(408, f"body not received within {exc.args[0]:g} s")
        except ConnectionResetError:
            return
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = error(500, "internal error (logged by the agent)")
        headers = [
            (b"content-type", response.content_type.encode()),
            (b"content-length", str(len(response.body)).encode()),
            *((k.encode(), v.encode()) for k, v in response.headers),
        ]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    async def _dispatch(self, request: Request) -> Response:
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            if request.path in self.paths:
                allowed = ", ".join(sorted(m for m, p in self.routes if p == request.path))
                return error(405, f"{request.method} not allowed on {request.path}", allow=allowed)
            return error(404, f"no such page: {request.path}")
        if inspect.iscoroutinefunction(handler):
            return await handler(self.ctx, request)
        await request.read(FORM_LIMIT)
        return await asyncio.to_thread(handler, self.ctx, request)
