"""Dedupe by (node, boot, seq) with bounded memory.

Per (node, boot) it remembers the highest seq and the seqs of a sliding window below it. A
seq older than the window is let through: the buffer's UNIQUE reading id and the ingest's
id dedupe catch it, so this step only saves bandwidth and never decides correctness.
"""

from __future__ import annotations

WINDOW = 2048


class Deduper:
    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self._seen: dict[tuple[str, int], tuple[int, set[int]]] = {}

    def is_duplicate(self, node_id: str, boot: int, seq: int) -> bool:
        """True if seen before; otherwise records it and returns False."""
        key = (node_id, boot)
        high, seqs = self._seen.get(key, (-1, set()))
        if seq in seqs:
            return True
        seqs.add(seq)
        if seq > high:
            high = seq
            if len(seqs) > 2 * self.window:
                floor = high - self.window
                seqs = {s for s in seqs if s >= floor}
        self._seen[key] = (high, seqs)
        return False

    def forget(self, node_id: str, boot: int, seq: int) -> None:
        """Un-see a reading whose write failed, so its resend is not taken for a duplicate."""
        entry = self._seen.get((node_id, boot))
        if entry is not None:
            entry[1].discard(seq)

    def forget_node_boots(self, node_id: str, keep_boot: int) -> None:
        """A node rebooted: earlier boots' windows are no longer needed."""
        for key in [k for k in self._seen if k[0] == node_id and k[1] < keep_boot - 1]:
            del self._seen[key]
