"""Opaque page cursors: base64url of a small JSON list. Pure."""

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
