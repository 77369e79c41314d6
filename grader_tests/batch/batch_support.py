"""Helpers of the batch grader's tests: course copies, a loopback listener, the corpus run."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import batch_corpus as corpus

from course_grader.batch.coordinator import Options, run_batch
from course_grader.batch.preflight import submission_hash
from course_grader.cli import make_course_copy
from course_grader.nbgrader_run import nbgrader
from course_grader.sandbox.bubblewrap import Limits
from course_paths import ASSIGNMENT

# Short limits keep the hostile cases to seconds; the honest notebook needs ~10 s.
TEST_LIMITS = Limits(cell_timeout=10, notebook_timeout=120, memory_mb=3072, cpu_seconds=240,
                     processes=96)


def new_course(dest: Path, db_url: str | None) -> Path:
    """A course copy with the assignment generated into the chosen gradebook."""
    course = make_course_copy(dest)
    args = ["generate_assignment", ASSIGNMENT, "--force"]
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    nbgrader(course, *args, quiet=True)
    return course


class Listener:
    """A loopback TCP listener that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self):
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def _pg_port() -> int:
    url = os.environ.get("COURSE_TEST_PG_URL")
    return (urlsplit(url).port or 5432) if url else 5432


def grade_corpus(tmp: Path, db_url: str | None, full: bool = False) -> dict:
    """Build the corpus course, grade it in one batch with 2 workers, return the facts.

    ``full`` runs every cell in a kernel too (the statuses of hostile notebooks come
    from that run); by default only the verdict runs student code."""
    course = new_course(tmp / "course", db_url)
    listener = Listener()
    try:
        cases = corpus.build(course, {"ports": [listener.port, _pg_port()]})
        submitted_before = {
            c.student: submission_hash(course / "submitted" / c.student / ASSIGNMENT)
            for c in cases}
        source_before = submission_hash(course / "source" / ASSIGNMENT)
        batch = run_batch(Options(course, workers=2, db_url=db_url, limits=TEST_LIMITS,
                                  progress=False, full=full))
    finally:
        listener.close()
    return {"course": course, "cases": cases, "batch": batch, "db_url": db_url, "full": full,
            "submitted_before": submitted_before, "source_before": source_before,
            "connections": listener.accepted}


