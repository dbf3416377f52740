"""Keeping the agent's resident memory flat over months (docs/edge-agent.md, "Memory").

A catch-up after an outage ships thousands of 5,000-row batches back to back: each one is a
few MB of lines, a joined body and its compressed copy, freed a moment later. With glibc's
defaults that memory does not go back to the system: a freed block from `mmap` raises the
mmap threshold to its own size (so the next batches are carved out of the heap instead), and
free heap pages stay resident until something trims them. Two calls fix that:

- `pin_mmap_threshold()` at start: a fixed threshold turns the dynamic one off, so every
  block of 256 KiB or more is its own mapping and is unmapped when freed.
- `release()` when a backlog has drained: `malloc_trim(0)` hands free pages back.

Both are glibc calls made through ctypes; on another C library they do nothing. SQLite's
page cache is bounded separately (`Buffer.release_memory`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD = 256 * 1024


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 — glibc has both
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def pin_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at `size` bytes; True when glibc took it."""
    if _LIBC is None:
        return False
    ok = bool(_LIBC.mallopt(M_MMAP_THRESHOLD, size))
    if not ok:
        log.warning("mallopt(M_MMAP_THRESHOLD, %d) refused; memory may grow after catch-ups", size)
    return ok


def release() -> bool:
    """Give free heap pages back to the system; True when some were released."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0))
