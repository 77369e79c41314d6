"""The grade-on-submit loop with a recording backend: take, queue, grade, release, restart.

Runs as the current user (the intake's owner rule then accepts folders named
after that account); the real backend and real accounts are in the hub tests.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from nbgrader.utils import notebook_hash

from course_grader.batch.outcome import GRADED, AssignmentSpec, StudentResult
from course_grader.service.loop import Finished, GradeOnSubmitService, ServicePlaces
from course_grader.service.policy import GradeOnSubmit
from course_grader.service.queue import DONE, SUPERSEDED

ME = pwd.getpwuid(os.getuid()).pw_name
A = "lab"
SPEC = AssignmentSpec(A, "Lab", {"lab_values": 6.0, "lab_structure": 4.0},
                  {"lab": ["lab_structure", "lab_values"]})


class RecordingBackend:
    """Grades at once; says ``<img>`` in its diagnosis to prove the page escapes it."""

    def __init__(self, slots: int = 1):
        self.slots, self.running, self.seen = slots, [], []

    def room(self) -> bool:
        return len(self.running) < self.slots

    def submit(self, job, folder: Path) -> None:
        self.seen.append((job.arrival, (folder / "Lab.ipynb").read_text(),
                          (folder / "timestamp.txt").read_text()))
        self.running.append(job)

    def finished(self) -> list[Finished]:
        done, self.running = self.running, []
        result = StudentResult(ME, GRADED, score=4.0, max_score=10.0,
                               scores={"lab_structure": 4.0, "lab_values": 0.0},
                               exercises={"lab": 4.0},
                               errors={"lab_values": "GradingCheckFailed: W1 is <img src=x>"})
        return [Finished(job, result, SPEC, "<html>full feedback 4/10</html>") for job in done]


def _submit(inbound: Path, content: str, secret: str, stamp: str) -> Path:
    folder = inbound / f"{ME}+{A}+{stamp}+r{len(os.listdir(inbound))}"
    folder.mkdir()
    (folder / "Lab.ipynb").write_text(content)
    (folder / "submission_secret.txt").write_text(secret)
    (folder / "timestamp.txt").write_text("1999-01-01 00:00:00.000000 UTC")  # a lie
    return folder


@pytest.fixture
def places(tmp_path) -> ServicePlaces:
    p = ServicePlaces(tmp_path / "course", tmp_path / "exchange", "c101")
    p.inbound.mkdir(parents=True)
    p.course.mkdir()
    return p


def _page(places: ServicePlaces, secret: str) -> Path:
    return places.feedback / f"{notebook_hash(secret=secret, notebook_id='Lab')}.html"


def test_a_submission_is_graded_once_and_its_page_released(places):
    backend = RecordingBackend()
    service = GradeOnSubmitService(places, GradeOnSubmit(assignments=[A]), backend, settle=0)
    service.start()
    _submit(places.inbound, "v1", "aa" * 32, "2030-01-01 00:00:00.000000 UTC")
    service.round()
    assert [s[1] for s in backend.seen] == ["v1"]
    assert not backend.seen[0][2].startswith("1999"), "the time is the service's, not the file"
    service.round()
    page = _page(places, "aa" * 32).read_text()
    assert "W1 is &lt;img src=x&gt;" in page and "<img" not in page
    assert "points" not in page and "4/10" not in page, "scores stay hidden by default"
    service.round()
    assert len(backend.seen) == 1, "graded exactly once"
    assert service.queue.counts() == {DONE: 1}
    service.close()


def test_show_score_releases_the_full_feedback(places):
    policy = GradeOnSubmit(assignments=[A], show_score=True)
    service = GradeOnSubmitService(places, policy, RecordingBackend(), settle=0)
    _submit(places.inbound, "v1", "bb" * 32, "2030-01-01 00:00:00.000000 UTC")
    service.round()
    service.round()
    assert _page(places, "bb" * 32).read_text() == "<html>full feedback 4/10</html>"
    service.close()


def test_a_killed_service_loses_nothing_and_grades_the_newest_once(places):
    policy = GradeOnSubmit(assignments=[A], cooldown_seconds=0)
    first_backend = RecordingBackend()
    first = GradeOnSubmitService(places, policy, first_backend, settle=0)
    _submit(places.inbound, "v1", "cc" * 32, "2030-01-01 00:00:00.000000 UTC")
    first.take()
    first.dispatch()  # grading started ...
    first.close()  # ... and the service killed before it finished
    _submit(places.inbound, "v2", "dd" * 32, "2030-01-01 00:00:01.000000 UTC")
    backend = RecordingBackend()
    second = GradeOnSubmitService(places, policy, backend, settle=0)
    second.start()
    for _ in range(3):
        second.round()
    assert [s[1] for s in backend.seen] == ["v2"], "only the newest is graded after restart"
    assert _page(places, "dd" * 32).exists()
    counts = second.queue.counts()
    assert counts == {DONE: 1, SUPERSEDED: 1}
    second.close()


def test_a_classmates_folder_is_refused_and_never_graded(places):
    backend = RecordingBackend()
    service = GradeOnSubmitService(places, GradeOnSubmit(assignments=[A]), backend, settle=0)
    folder = places.inbound / f"someone_else+{A}+2030-01-01 00:00:00.000000 UTC+r"
    folder.mkdir()
    (folder / "Lab.ipynb").write_text("forged")
    (folder / "submission_secret.txt").write_text("ee" * 32)
    service.round()
    service.round()
    assert backend.seen == []
    assert "not accepted" in _page(places, "ee" * 32).read_text()
    service.close()
