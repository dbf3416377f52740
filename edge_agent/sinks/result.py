"""What one uplink attempt came back with, transport-independent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SendResult:
    status: int  # HTTP status, or 0 for a transport failure (no answer)
    body: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None
    server_timing: dict[str, float] = field(default_factory=dict)
    error: str = ""
