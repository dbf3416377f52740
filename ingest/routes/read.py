"""Read API for the mobile app and the web (app tokens): nodes, readings, notifications."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, jsonify, request

from ingest import cursors
from ingest.routes.common import ApiError, authenticate, error_response
from ingest.stores.base import NotSupported, ReadingQuery, StoreUnavailable
from ingest.wire import ReadingError, parse_ts

bp = Blueprint("read", __name__)
MAX_LIMIT = 10_000
_EVERY = re.compile(r"(\d+)([smhd]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Any:
    return error_response(exc)


@bp.errorhandler(cursors.CursorError)
def _bad_cursor(exc: cursors.CursorError) -> Any:
    return error_response(ApiError(400, str(exc)))


@bp.errorhandler(StoreUnavailable)
def _store_down(exc: StoreUnavailable) -> Any:
    return error_response(ApiError(503, str(exc), {"Retry-After": "5"}))


@bp.errorhandler(NotSupported)
def _not_supported(exc: NotSupported) -> Any:
    return error_response(ApiError(501, str(exc)))


def _limit(default: int = 1000) -> int:
    text = request.args.get("limit", str(default))
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer 1-{MAX_LIMIT}, got {text!r}")
    return int(text)


def _time_arg(name: str) -> str | None:
    text = request.args.get(name)
    if text is None:
        return None
    try:
        parse_ts(text)
    except ReadingError:
        raise ApiError(
            400, f"{name} must be RFC 3339 UTC with ms, e.g. 2025-05-10T06:10:10.250Z; got {text!r}"
        ) from None
    return text


def _every() -> int | None:
    text = request.args.get("every")
    if text is None:
        return None
    match = _EVERY.fullmatch(text)
    if not match or int(match.group(1)) == 0:
        raise ApiError(400, f"every must be a positive duration like 300, 5m, 1h, 1d; got {text!r}")
    return int(match.group(1)) * _UNIT[match.group(2)]


@bp.get("/v1/nodes")
def nodes() -> Any:
    from ingest.app import services

    authenticate("app")
    return jsonify(nodes=services().store.nodes())


@bp.get("/v1/readings")
def readings() -> Any:
    from ingest.app import services

    authenticate("app")
    query = ReadingQuery(
        node=request.args.get("node") or None,
        start=_time_arg("from"),
        end=_time_arg("to"),
        every=_every(),
        limit=_limit(),
        after=request.args.get("after") or None,
    )
    page, nxt = services().store.readings(query)
    return jsonify(readings=page, next=nxt)


@bp.get("/v1/notifications")
def notifications() -> Any:
    from ingest.app import services

    authenticate("app")
    notifier = services().notifier
    if notifier is None:
        raise ApiError(501, "no notification feed is configured")
    after = request.args.get("after") or None
    items, nxt = notifier.feed.page(after=after, limit=_limit(100))
    return jsonify(notifications=items, next=nxt)
