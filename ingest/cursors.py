"""Opaque page cursors: base64url of a small JSON list. Pure.

A client can forge one, so `decode_as` checks each part's type (and that an int fits SQLite's
and PostgreSQL's 64-bit integers) before it reaches a query: a bad cursor is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class CursorError(ValueError):
    pass


def encode(*parts: Any) -> str:
    raw = json.dumps(list(parts), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, arity: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise CursorError(f"cursor {cursor!r} is not one this server issued") from exc
    if not isinstance(parts, list) or len(parts) != arity:
        raise CursorError(f"cursor {cursor!r} is not one this server issued")
    return parts


_INT64 = 2**63


def decode_as(cursor: str, *kinds: type) -> list[Any]:
    """Decode a cursor of `len(kinds)` parts, each of its kind: `str` (valid UTF-8: no lone
    surrogate), or `int` within the signed 64-bit range (a bool is no int here). CursorError
    otherwise."""
    parts = decode(cursor, len(kinds))
    if not all(_is(part, kind) for part, kind in zip(parts, kinds, strict=True)):
        raise CursorError(f"cursor {cursor!r} is not one this server issued")
    return parts


def _is(part: Any, kind: type) -> bool:
    if type(part) is not kind:
        return False
    if kind is int:
        return -_INT64 <= part < _INT64
    if kind is str:
        return part.isascii() or _utf8(part)
    return True


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
