"""Helpers shared by the blueprints: JSON errors and bearer-token checks."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from ingest.auth import Principal, bearer


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
    ):
        super().__init__(message)
        self.status, self.message, self.headers, self.extra = status, message, headers or {}, extra


def error_response(exc: ApiError) -> Any:
    response = jsonify(error=exc.message, **exc.extra)
    response.status_code = exc.status
    for key, value in exc.headers.items():
        response.headers[key] = value
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ingest"'
    return response


def authenticate(kind: str) -> Principal:
    """The principal of the request's bearer token, which must be of `kind`."""
    from ingest.app import services

    token = bearer(request.headers.get("Authorization"))
    if token is None:
        raise ApiError(401, "missing Authorization: Bearer <token>")
    principal = services().tokens.verify(token)
    if principal is None:
        raise ApiError(401, "unknown or revoked token")
    limiter = services().limiter
    decision = limiter.check(principal.token_id) if limiter is not None else None
    if decision is not None and not decision.allowed:
        services().metrics.inc("ingest_rate_limited_total", help="requests refused 429 per token")
        raise ApiError(
            429,
            f"rate limit of {limiter.rate:g} requests/s (burst {limiter.burst:g}) for this token"
            f" exceeded; retry after {decision.retry_after_header} s",
            {"Retry-After": decision.retry_after_header},
        )
    if principal.kind != kind:
        raise ApiError(403, f"a {principal.kind} token cannot do this; it needs a {kind} token")
    return principal
