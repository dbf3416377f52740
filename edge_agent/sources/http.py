"""HTTP source: `POST /sensors`, the paper's route for GPRS nodes.

Body: one reading or a list, `{"node_id", "boot", "seq", "values": {...}, "profile"?}`.
The answer is 200 only once every reading is durably in the buffer (the group committer's
ack, normally ~0.1 s); a bad body gets 400 naming the field and nothing of it is stored;
a buffer that cannot take it (write error, quota with policy refuse_new, or no commit
within `ack_timeout_seconds`) gets 503 + Retry-After, so the node resends (dedupe makes the
resend harmless).
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify, request

from edge_agent.committer import Ack
from edge_agent.pipeline.validate import InvalidReading, from_json

MAX_BODY = 4 * 2**20
sensors = Blueprint("sensors", __name__)


def _error(status: int, message: str, **extra: object) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


@sensors.post("/sensors")
def post_sensors() -> tuple[Response, int]:
    ctx = current_app.config["AGENT"]
    counters = ctx.counters
    counters.inc("http", "received")
    if (request.content_length or 0) > MAX_BODY:
        counters.inc("http", "discarded", "too_large")
        return _error(413, f"body over {MAX_BODY} bytes")
    payload = request.get_json(force=True, silent=True)
    if payload is None:
        counters.inc("http", "discarded", "not_json")
        return _error(400, "body is not JSON (send one reading object or a list of them)")
    try:
        candidates = from_json(payload, time.time(), "http")
    except InvalidReading as exc:
        counters.inc("http", "discarded", "invalid")
        return _error(400, str(exc))
    ack = Ack()
    ctx.committer.submit(candidates, ack)
    if not ack.wait(ctx.ack_timeout):
        counters.inc("http", "errors", "ack_timeout")
        resp, status = _error(503, "buffer did not commit in time; resend (dedupe is safe)")
        resp.headers["Retry-After"] = "5"
        return resp, status
    if ack.error:
        counters.inc("http", "errors", "buffer")
        resp, status = _error(503, ack.error)
        resp.headers["Retry-After"] = "30"
        return resp, status
    counters.inc("http", "sent")
    return jsonify({"accepted": ack.accepted, "duplicates": ack.duplicates, "ids": ack.ids}), 200
