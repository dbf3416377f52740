"""POST /v1/batches — the uplink (../shared/spec/uplink-api.md)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Blueprint, jsonify, request

from ingest import pipeline
from ingest.routes.body import BodyReader, read_timeout
from ingest.routes.common import ApiError, authenticate, error_response

bp = Blueprint("batches", __name__)
log = logging.getLogger("ingest.batches")
MAX_INFLIGHT = 8  # batches read or waiting at once per process; more get 429
_inflight = threading.BoundedSemaphore(MAX_INFLIGHT)
# One batch decoded and stored at a time per process; the others' bodies are read meanwhile.
# A worker's threads share one GIL: three batches decoded at once took 20-24 us of CPU a
# reading of the paper's dumps, one at a time 15-18 (docs/benchmarks.md, 2026-12-07 evening).
_one_at_a_time = threading.Lock()


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Any:
    from ingest.app import services

    services().metrics.inc(
        "ingest_batches_total", status=str(exc.status), help="batch requests answered, by status"
    )
    return error_response(exc)


@bp.post("/v1/batches")
def post_batch() -> Any:
    from ingest.app import services

    svc = services()
    principal = authenticate("gateway")
    if not _inflight.acquire(blocking=False):
        raise ApiError(429, "too many batches in flight; retry later", {"Retry-After": "2"})
    try:
        with read_timeout(request.environ, svc.settings.body_timeout):
            return _handle(svc, principal.subject)
    finally:
        _inflight.release()


def _handle(svc: Any, gateway_id: str) -> Any:
    settings = svc.settings
    try:
        fmt, encoding = pipeline.negotiate(
            request.headers.get("Content-Type"), request.headers.get("Content-Encoding")
        )
        batch_id = pipeline.check_batch_id(request.headers.get("Idempotency-Key"))
        length = request.content_length
        if length is not None and length > settings.max_compressed:
            raise pipeline.BatchError(
                413, f"compressed body of {length} bytes exceeds {settings.max_compressed}"
            )
        body = pipeline.read_body(
            BodyReader(request.stream, length, settings.body_timeout), settings.max_compressed
        )
    except pipeline.BatchError as exc:
        raise _refusal(exc, settings) from None
    waited = time.perf_counter()
    with _one_at_a_time:
        waited = time.perf_counter() - waited
        try:
            report = pipeline.run_batch(
                svc.store,
                gateway_id,
                batch_id,
                fmt,
                encoding,
                body,
                pipeline.Limits(settings.max_compressed, settings.max_decompressed),
            )
        except pipeline.BatchError as exc:
            raise _refusal(exc, settings) from None
        report.timings_ms["queue"] = waited * 1000  # behind other batches of this process
        return _stored(svc, gateway_id, report)


def _refusal(exc: pipeline.BatchError, settings: Any) -> ApiError:
    headers = (
        {"Retry-After": str(exc.extra.pop("retry_after"))} if "retry_after" in exc.extra else {}
    )
    if exc.status == 408 or (exc.status == 413 and not _drain(settings.max_compressed)):
        headers["Connection"] = "close"  # the rest of the body is not coming or not read
    return ApiError(exc.status, exc.message, headers, **exc.extra)


def _stored(svc: Any, gateway_id: str, report: pipeline.BatchReport) -> Any:
    """The 200 of a batch run: counters, notifications, the batch's figures, the body."""
    result = report.outcome.result
    metrics = svc.metrics
    metrics.inc("ingest_batches_total", status="200", help="batch requests answered, by status")
    metrics.inc("ingest_readings_stored_total", result["accepted"], help="readings newly stored")
    metrics.inc(
        "ingest_readings_duplicate_total", result["duplicates"], help="readings seen before"
    )
    metrics.inc("ingest_readings_rejected_total", len(result["rejected"]), help="lines rejected")
    if report.outcome.new and svc.notifier is not None:
        try:
            svc.notifier.on_readings(report.outcome.new)
        except Exception:  # a feed outage must not fail a stored batch
            log.exception("notification delivery failed")
            metrics.inc("ingest_notify_errors_total", help="notification passes that failed")
    _record(svc, gateway_id, report)
    response = jsonify(result)
    response.headers["Server-Timing"] = ", ".join(
        f"{name};dur={ms:.2f}" for name, ms in report.timings_ms.items()
    )
    return response


def _drain(limit: int) -> bool:
    """Read and drop what is left of a refused body (at most `limit` + 1 MiB), so a proxy in
    front (nginx streams bodies) sees the request consumed and passes our 413 on instead of
    a 502 for a reset connection. True when the body was read to its end."""
    budget = limit + 2**20
    stream = request.stream
    while budget > 0:
        try:
            chunk = stream.read(min(65536, budget))
        except OSError:  # the body read timeout, or the client gone
            return False
        if not chunk:
            return True
        budget -= len(chunk)
    return False


def _record(svc: Any, gateway_id: str, report: pipeline.BatchReport) -> None:
    """Hand the batch's figures (and the gateway's buffer headers) to stores that keep them."""
    record = getattr(svc.store, "record_batch", None)
    if record is None:
        return
    gateway_status = {
        field: request.headers.get(header)
        for field, header in (
            ("buffer_rows", "X-Gateway-Buffer-Rows"),
            ("buffer_bytes", "X-Gateway-Buffer-Bytes"),
            ("nodes", "X-Gateway-Nodes"),
        )
        if request.headers.get(header, "").isdigit()
    }
    try:
        record(gateway_id, report, {k: int(v) for k, v in gateway_status.items()})
    except Exception:
        log.exception("recording batch statistics failed")
