"""A slot number per concurrent grading on one machine, for unprivileged uids.

As root, each kernel and each exercise of the grading child runs under a uid
derived from a slot (``pipeline.SANDBOX_UID + slot``, ``VERDICT_UID + 8 *
slot``).  Two gradings that run at the same time on one machine, whatever
process they are in (the coordinator's canary, LocalCluster workers, Dask
workers started by hand), must never share a uid, or one student's code could
signal or write the other's.  A slot is an exclusive ``flock`` on a file in a
machine-local folder, held for as long as the grading runs; the kernel drops
the lock if the process dies.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

MAX_SLOTS = 120  # VERDICT_UID + 8 * slot stays below 63000


@contextmanager
def hold_slot(folder: Path | None = None):
    # one fixed folder per machine and user (not $TMPDIR, which each worker may have
    # of its own), so every grading process on this machine sees the same locks
    folder = folder or Path(f"/tmp/course-grader-slots-{os.geteuid()}")
    folder.mkdir(mode=0o700, exist_ok=True)
    for slot in range(MAX_SLOTS):
        fd = os.open(folder / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield slot
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    raise RuntimeError(f"more than {MAX_SLOTS} gradings at once on this machine")
