"""The one interface every reading store implements (sqlite, influxdb)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ingest.fastwire import Reading


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or refused the write; the batch was not stored (→ 503)."""


class NotSupported(RuntimeError):
    """This store cannot answer that query (→ 501 with the reason)."""


@dataclass
class WriteOutcome:
    result: dict[str, Any]  # the 200 body: batch_id, accepted, duplicates, rejected, replayed
    new: list[Reading] = field(default_factory=list)  # readings stored by this call


@dataclass
class ReadingQuery:
    node: str | None = None
    start: str | None = None  # RFC 3339 ms, inclusive
    end: str | None = None  # exclusive
    every: int | None = None  # seconds; None = raw readings
    limit: int = 1000
    after: str | None = None  # opaque cursor from a previous page


class Store(Protocol):
    def find_batch(self, batch_id: str) -> dict[str, Any] | None:
        """The stored result of a batch id already written, else None."""

    def write_batch(
        self,
        batch_id: str,
        gateway_id: str,
        items: list[Reading],
        rejected: list[dict[str, Any]],
        rejected_total: int | None = None,
    ) -> WriteOutcome:
        """Store all new readings of one batch atomically, or raise StoreUnavailable."""

    def nodes(self) -> list[dict[str, Any]]: ...

    def readings(self, query: ReadingQuery) -> tuple[list[dict[str, Any]], str | None]: ...

    def stats(self) -> dict[str, Any]: ...

    def ping(self) -> None:
        """Raise StoreUnavailable when the store is not reachable."""

    def close(self) -> None: ...
