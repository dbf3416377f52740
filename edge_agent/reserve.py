"""Disk headroom for the buffer: a reserve file that is given back when the disk fills.

SQLite needs free space even to delete: in WAL mode a DELETE appends the changed pages to the
WAL, and a checkpoint may have to extend the database file with pages committed earlier. On
a full disk neither can happen, so acknowledged batches could never be purged. The buffer
therefore keeps `STATE_DIR/buffer.reserve` (1/8 of the filesystem, 64 KiB..16 MiB) allocated;
when a write fails with SQLITE_FULL it deletes the file, which makes room for the checkpoint
and the purges, refuses new readings, and takes the reserve back once that much is free again.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

RESERVE_NAME = "buffer.reserve"
MIN_BYTES = 64 * 2**10
MAX_BYTES = 16 * 2**20


def reserve_size(directory: Path) -> int:
    """1/8 of the filesystem holding `directory`, within MIN_BYTES..MAX_BYTES."""
    st = os.statvfs(directory)
    return max(MIN_BYTES, min(MAX_BYTES, st.f_blocks * st.f_frsize // 8))


class Reserve:
    def __init__(self, directory: Path, size: int) -> None:
        self.path = directory / RESERVE_NAME
        self.size = size

    def held(self) -> bool:
        try:
            return self.path.stat().st_size >= self.size
        except FileNotFoundError:
            return False

    def take(self) -> bool:
        """Allocate the reserve (idempotent); False, and no partial file, if there is no room."""
        if self.held():
            return True
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, self.size)
            os.fsync(fd)
            taken = True
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            taken = False
        finally:
            os.close(fd)
        if not taken:
            self.path.unlink(missing_ok=True)
        return taken

    def release(self) -> bool:
        """Give the space back to the filesystem; True if there was a reserve to release."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    def free_bytes(self) -> int:
        st = os.statvfs(self.path.parent)
        return st.f_bavail * st.f_frsize
