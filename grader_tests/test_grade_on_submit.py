"""Grade on submit with the real backend: the class grader's trusted path on a warm worker.

A course copy with the assignment generated; submissions are written into the
exchange's inbound folder as the current account (so the intake's owner rule
accepts them under that name); the service takes, grades, records and
releases them; then the instructor's batch ``grade`` gives the same grade.
Real accounts and the hub are in ``grader_tests/hub_course``.
"""

from __future__ import annotations

import io
import os
import pwd
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import notebook_hash

from course_grader.assignments.initialization import MAX_SCORE
from course_grader.assignments.initialization.sample_class import sample_class, write_submission
from course_grader.batch.coordinator import Options, run_batch
from course_grader.cli import make_course_copy
from course_grader.nbgrader_run import nbgrader
from course_grader.sandbox.bubblewrap import Limits
from course_grader.service.backend import ClassGraderBackend, ServiceBroken
from course_grader.service.loop import GradeOnSubmitService, ServicePlaces
from course_grader.service.policy import GradeOnSubmit
from course_grader.service.queue import DONE, SUPERSEDED, GradingQueue
from course_paths import ASSIGNMENT, NOTEBOOK

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.sandbox]

ME = pwd.getpwuid(os.getuid()).pw_name
COURSE_ID = "initialization-course"
LIMITS = Limits(cell_timeout=10, notebook_timeout=120, cpu_seconds=240)


def _course(tmp_path: Path) -> tuple[Path, ServicePlaces]:
    course = make_course_copy(tmp_path / "course")
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", quiet=True)
    places = ServicePlaces(course, course / "exchange", COURSE_ID)
    places.inbound.mkdir(parents=True)
    return course, places


def _submit(places: ServicePlaces, who: str, secret: str, stamp: str) -> None:
    """Write a submission beside inbound/, then rename it in whole (as a Submit lands)."""
    sub = next(s for s in sample_class() if s.student == who)
    name = f"{ME}+{ASSIGNMENT}+{stamp}+{secret[:6]}"
    staging = places.inbound.parent / f".staging-{secret[:6]}"
    release_nb = places.course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    write_submission(release_nb, sub, staging)
    (staging / "submission_secret.txt").write_text(secret)
    (staging / "timestamp.txt").write_text(stamp)
    staging.rename(places.inbound / name)


def _page(places: ServicePlaces, secret: str) -> Path:
    return places.feedback / f"{notebook_hash(secret=secret, notebook_id=NOTEBOOK)}.html"


def _until(condition, seconds: float, service: GradeOnSubmitService) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not done in {seconds} s: {service.queue.counts()}"
        service.round()
        time.sleep(0.2)


def test_feedback_seconds_after_submit_and_the_batch_agrees(tmp_path):
    course, places = _course(tmp_path)
    backend = ClassGraderBackend(course, [ASSIGNMENT], workers=1, limits=LIMITS)
    backend.open()
    try:
        service = GradeOnSubmitService(places, GradeOnSubmit(assignments=[ASSIGNMENT],
                                                             cooldown_seconds=0),
                                       backend, settle=0)
        service.start()
        _submit(places, "dan_xavier", "a1" * 32, "2020-01-01 00:00:00.000000 UTC")
        started = time.monotonic()
        _until(lambda: _page(places, "a1" * 32).exists(), 120, service)
        latency = time.monotonic() - started
        page = _page(places, "a1" * 32).read_text()
        assert "Xavier" in page and "points" not in page, page[:2000]
        # a second, correct submission arrives: only it is graded next
        _submit(places, "ada_correct", "b2" * 32, "2020-01-01 00:00:01.000000 UTC")
        _until(lambda: _page(places, "b2" * 32).exists(), 120, service)
        assert "every hidden check passed" in _page(places, "b2" * 32).read_text()
        assert service.queue.counts() == {DONE: 2}
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            graded = gb.find_submission(ASSIGNMENT, ME).score
        assert graded == pytest.approx(MAX_SCORE, abs=1e-9)
        print(f"submit-to-feedback (warm worker, first submission): {latency:.1f} s")
        service.close()
    finally:
        backend.close()
    # the instructor's batch grade of the same submitted/ folder: the same points
    batch = run_batch(Options(course, workers=1, force=True, limits=LIMITS, progress=False),
                      out=io.StringIO())
    assert [(r.student, r.score) for r in batch.results] == [(ME, pytest.approx(MAX_SCORE))]


def test_a_broken_setup_stops_the_service_before_anyone_is_graded(tmp_path):
    course, places = _course(tmp_path)
    master = course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    master.write_text(master.read_text().replace("import numpy as np",
                                                 "import numpy_that_is_missing as np", 1))
    backend = ClassGraderBackend(course, [ASSIGNMENT], workers=1, limits=LIMITS)
    with pytest.raises(ServiceBroken, match="nobody is graded"):
        backend.open()


def test_the_service_thread_stops_cleanly(tmp_path):
    """``run`` returns when told to stop, and a submission waiting then is kept for later."""
    course, places = _course(tmp_path)

    class Idle:  # no room: nothing is graded, so what arrives stays queued
        def room(self):
            return False

        def finished(self):
            return []

    service = GradeOnSubmitService(places, GradeOnSubmit(assignments=[ASSIGNMENT]), Idle(),
                                   settle=0)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop, 0.1))
    thread.start()
    _submit(places, "ada_correct", "c3" * 32, "2020-01-01 00:00:00.000000 UTC")
    watcher = GradingQueue(places.queue_file)  # its own connection, beside the service's
    deadline = time.monotonic() + 60
    while watcher.counts() != {"waiting": 1} and time.monotonic() < deadline:
        time.sleep(0.1)
    watcher.close()
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert service.queue.counts() == {"waiting": 1}
    assert SUPERSEDED not in service.queue.counts()
    service.close()
