"""A broken grading set-up stops the batch before anyone is graded (the canaries)."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from batch_support import TEST_LIMITS, new_course

from course_grader.assignments.initialization.sample_class import sample_class, write_submission
from course_grader.batch import task
from course_grader.batch.bundle import make_bundle
from course_grader.batch.coordinator import Options, Refusal, run_batch
from course_grader.batch.outcome import StudentResult
from course_grader.batch.worker_state import WorkerState
from course_grader.cells import grade_id_of
from course_paths import ASSIGNMENT, NOTEBOOK

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap missing: apt-get install bubblewrap")]


def _break_setup_cell(course):
    """The master notebook's setup cell imports a module the grading side does not have."""
    path = course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(path, 4)
    setup = next(c for c in nb.cells
                 if grade_id_of(c) == "setup")
    setup.source = "import module_the_grader_lacks\n" + setup.source
    nbformat.write(nb, path)


def test_broken_setup_grades_nobody(tmp_path):
    course = new_course(tmp_path / "course", None)
    release_nb = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    for sub in sample_class()[:2]:
        write_submission(release_nb, sub, course / "submitted" / sub.student / ASSIGNMENT)
    _break_setup_cell(course)
    with pytest.raises(Refusal, match="module_the_grader_lacks"):
        run_batch(Options(course, workers=1, limits=TEST_LIMITS, progress=False))
    assert not (course / "autograded").exists()
    assert not (course / "feedback").exists()
    assert not (course / "build" / "batch" / ASSIGNMENT / "results").exists()


def test_canaries_catch_a_verdict_that_passes_everything(tmp_path):
    """A set-up that gives the untouched release points is refused too."""
    course = new_course(tmp_path / "course", None)
    bundle = make_bundle(course, ASSIGNMENT, f"sqlite:///{course / 'gradebook.db'}",
                         TEST_LIMITS, True, False)
    # the release canary handed the solutions: as if the check ignored the answers
    bundle.canaries[1].files = dict(bundle.canaries[0].files)
    with WorkerState() as state, \
            pytest.raises(task.GraderBroken, match="untouched release scored 30"):
        task.run_canaries(bundle, state)


def test_every_forked_worker_proves_the_setup_itself(tmp_path):
    """Each forked worker grades the canaries itself before any student: a set-up that
    gives the untouched release points stops it."""
    import io

    from course_grader.batch.forked import ForkedEngine

    course = new_course(tmp_path / "course", None)
    bundle = make_bundle(course, ASSIGNMENT, f"sqlite:///{course / 'gradebook.db'}",
                         TEST_LIMITS, True, False)
    bundle.canaries[1].files = dict(bundle.canaries[0].files)
    with ForkedEngine(1, io.StringIO()) as engine, \
            pytest.raises(task.GraderBroken, match="untouched release scored 30"):
        engine.check_workers(bundle, 600)


def test_a_worker_grades_the_canaries_once_before_its_first_student(tmp_path):
    """A worker's state remembers that it passed the canaries: its next student does not
    grade them again (a set-up broken since would not stop it), while a worker with a
    fresh state proves them before its first student (and stops)."""
    course = new_course(tmp_path / "course", None)
    bundle = make_bundle(course, ASSIGNMENT, f"sqlite:///{course / 'gradebook.db'}",
                         TEST_LIMITS, True, False)
    student = bundle.canaries[0]  # the master notebook's solutions, as a student
    with WorkerState() as worker, WorkerState() as new_worker:
        assert not worker.canaries_passed(bundle.key)
        task.grade(bundle, student, worker, feedback=False)
        assert worker.canaries_passed(bundle.key)
        bundle.canaries[1].files = dict(bundle.canaries[0].files)  # now they would fail
        again = StudentResult.from_dict(task.grade(bundle, student, worker,
                                                   feedback=False).result)
        assert again.score == again.max_score > 0
        # every grading of this worker ran on its own prepared runners: two canaries and
        # the student, then the student again
        assert sum(runner.served for runner in worker.runners.children()) == 4
        with pytest.raises(task.GraderBroken, match="untouched release scored 30"):
            task.grade(bundle, student, new_worker, feedback=False)
