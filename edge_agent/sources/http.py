"""HTTP source: `POST /sensors`, the paper's route for GPRS nodes.

Body: one reading or a list, `{"node_id", "boot", "seq", "values": {...}, "profile"?}`.
The answer is 200 only once every reading is durably in the buffer (the group committer's
ack: one fsync'd commit, normally a few ms to `commit_gap_ms` + one fsync); a bad body gets
400 naming the field and nothing of it is stored; a buffer that cannot take it (write
error, quota with policy refuse_new, or no commit within `ack_timeout_seconds`) gets 503 +
Retry-After, so the node resends (dedupe makes the resend harmless).

The handler runs on the web server's event loop: a request waiting for its commit holds a
future, not a thread, so a hundred waiting nodes cost next to nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import weakref
from typing import Any

from edge_agent.committer import Ack
from edge_agent.pipeline.validate import InvalidReading, from_json
from edge_agent.web.asgi import BodyTooLarge, Request, Response, error, json_response

MAX_BODY = 4 * 2**20


async def post_sensors(ctx: Any, request: Request) -> Response:
    counters = ctx.counters
    counters.inc("http", "received")
    try:
        body = await request.read(MAX_BODY)
    except BodyTooLarge:
        counters.inc("http", "discarded", "too_large")
        return error(413, f"body over {MAX_BODY} bytes", connection="close")
    try:
        payload = json.loads(body)
    except ValueError:
        counters.inc("http", "discarded", "not_json")
        return error(400, "body is not JSON (send one reading object or a list of them)")
    try:
        candidates = from_json(payload, time.time(), "http")
    except InvalidReading as exc:
        counters.inc("http", "discarded", "invalid")
        return error(400, str(exc))
    ack = await _commit(ctx.committer, candidates, ctx.ack_timeout)
    if ack is None:
        counters.inc("http", "errors", "ack_timeout")
        return error(503, "buffer did not commit in time; resend (dedupe is safe)", retry_after="5")
    if ack.error:
        counters.inc("http", "errors", "buffer")
        return error(503, ack.error, retry_after="30")
    counters.inc("http", "sent")
    return json_response({"accepted": ack.accepted, "duplicates": ack.duplicates, "ids": ack.ids})


async def _commit(committer: Any, candidates: list, timeout: float) -> Ack | None:
    """Submit to the group committer and await its ack; None if not durable in `timeout`."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    waker = _waker(loop)
    ack = Ack(lambda _ack: waker.wake(done))
    try:
        async with asyncio.timeout(timeout):
            if not committer.offer(candidates, ack):  # queue full: wait for room in a thread
                await asyncio.to_thread(committer.submit, candidates, ack)
            await done
    except TimeoutError:
        return None  # if it is committed later, the node's resend is a harmless duplicate
    return ack


class _Waker:
    """Resolves futures of one event loop from the committer thread: the acks of a whole
    group cost one call_soon_threadsafe (one wake-up of the loop), not one each."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.pending: list[asyncio.Future] = []

    def wake(self, future: asyncio.Future) -> None:
        with self.lock:
            self.pending.append(future)
            first = len(self.pending) == 1
        if first:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the agent stops
                self.loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        with self.lock:
            futures, self.pending = self.pending, []
        for future in futures:
            if not future.done():  # a timed-out request's future is cancelled
                future.set_result(None)


_wakers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Waker] = weakref.WeakKeyDictionary()


def _waker(loop: asyncio.AbstractEventLoop) -> _Waker:
    waker = _wakers.get(loop)
    if waker is None:
        waker = _wakers[loop] = _Waker(loop)
    return waker
