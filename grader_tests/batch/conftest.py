"""Fixtures for the batch grader's tests: course copies, gradebooks, the corpus run."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import batch_corpus as corpus
import pytest

from course_grader.assignment import ASSIGNMENT
from course_grader.batch.preflight import submission_hash
from course_grader.batch.sandbox import Limits
from course_grader.batch.scheduler import Options, run_batch
from course_grader.cli import make_course_copy
from course_grader.nbgrader_run import nbgrader

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


@pytest.fixture(scope="session")
def pg_database():
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    base = os.environ.get("COURSE_TEST_PG_URL")
    if not base:
        pytest.skip("COURSE_TEST_PG_URL is not set (.ci/run starts a PostgreSQL server "
                    "and sets it)")
    import psycopg2

    name = f"cg_batch_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(base)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


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


def grade_corpus(tmp: Path, db_url: str | None) -> dict:
    """Build the corpus course, grade it in one batch with 2 workers, return the facts."""
    course = new_course(tmp / "course", db_url)
    listener = Listener()
    try:
        cases = corpus.build(course, {"ports": [listener.port, _pg_port()]})
        submitted_before = {
            c.student: submission_hash(course / "submitted" / c.student / ASSIGNMENT)
            for c in cases}
        source_before = submission_hash(course / "source" / ASSIGNMENT)
        batch = run_batch(Options(course, workers=2, db_url=db_url, limits=TEST_LIMITS,
                                  progress=False))
    finally:
        listener.close()
    return {"course": course, "cases": cases, "batch": batch, "db_url": db_url,
            "submitted_before": submitted_before, "source_before": source_before,
            "connections": listener.accepted}


@pytest.fixture(scope="module")
def sqlite_corpus(tmp_path_factory):
    return grade_corpus(tmp_path_factory.mktemp("corpus-sqlite"), None)


@pytest.fixture(scope="module")
def postgres_corpus(tmp_path_factory, pg_database):
    return grade_corpus(tmp_path_factory.mktemp("corpus-pg"), pg_database)
