"""The feed interface: append notifications, page through them newest last."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass
class Notification:
    ts: str  # RFC 3339 ms: when it was raised
    gateway_id: str
    node_id: str
    kind: str  # label_drop | out_of_band | silent (and *_cleared when it recovers)
    severity: str  # warning | critical | info
    message: str
    value: float | None = None
    reading_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Feed(Protocol):
    def append(self, items: list[Notification]) -> None: ...

    def page(self, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """Notifications after the cursor, oldest first (newest last), and the next cursor."""

    def count(self) -> int: ...

    def close(self) -> None: ...
