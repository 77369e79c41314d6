"""A broken set-up makes the grade-on-submit service wait for a fix, not exit.

Exiting would make the hub restart it every few seconds (paying the set-up each
time and filling the log); instead it grades nobody, says why once, and starts
again by itself when the course config or the assignment's source changes.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from course_grader.service import __main__ as service_main


@pytest.fixture
def broken_course(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'demo-course'\n"
        f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n"
        "c.GradeOnSubmit.assignments = ['lab']\n")  # source/lab/ does not exist
    return course


def _wait_for(path, text: str, count: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.read_text().count(text) >= count:
            return True
        time.sleep(0.2)
    return False


def test_a_broken_set_up_waits_for_the_source_to_change(broken_course, tmp_path):
    log = tmp_path / "service.log"
    with open(log, "w") as err:
        service = subprocess.Popen([sys.executable, "-m", "course_grader.service",
                                    "--course", str(broken_course)],
                                   stdout=subprocess.DEVNULL, stderr=err)
    try:
        assert _wait_for(log, "grading nobody until", 1, 60), log.read_text()
        time.sleep(1.5)  # an exit comes right after the message
        assert service.poll() is None, "the service left; the hub would restart it every 5 s"
        assert "the grading set-up" in log.read_text()
        (broken_course / "source" / "lab").mkdir(parents=True)  # the instructor's "fix"
        # it starts again by itself (same process), reads the set-up again: still broken
        assert _wait_for(log, "grading nobody until", 2, 60), log.read_text()
        assert "starting again with it" in log.read_text() and service.poll() is None
    finally:
        service.terminate()
        service.wait(30)


def test_the_course_stamp_sees_a_changed_source_file(broken_course):
    folder = broken_course / "source" / "lab"
    folder.mkdir(parents=True)
    (folder / "Lab.ipynb").write_text("{}")
    before = service_main.course_stamp(broken_course, ["lab"])
    assert service_main.course_stamp(broken_course, ["lab"]) == before
    (folder / "Lab.ipynb").write_text("{ }")
    assert service_main.course_stamp(broken_course, ["lab"]) != before
    assert service_main.course_stamp(broken_course) != \
        service_main.course_stamp(broken_course, ["lab"])
