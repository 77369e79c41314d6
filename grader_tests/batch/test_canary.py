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
    with pytest.raises(task.GraderBroken, match="untouched release scored 30"):
        task.run_canaries(bundle)


def test_every_forked_worker_proves_the_setup_itself(tmp_path):
    """A worker forked from a coordinator that passed the canaries still grades its own:
    a set-up that gives the untouched release points stops it before any student."""
    import io

    from course_grader.batch.forked import ForkedEngine

    course = new_course(tmp_path / "course", None)
    bundle = make_bundle(course, ASSIGNMENT, f"sqlite:///{course / 'gradebook.db'}",
                         TEST_LIMITS, True, False)
    bundle.canaries[1].files = dict(bundle.canaries[0].files)
    task._CANARIES_PASSED.add(bundle.key)  # as if this process had passed them
    try:
        with ForkedEngine(1, io.StringIO()) as engine, \
                pytest.raises(task.GraderBroken, match="untouched release scored 30"):
            engine.check_workers(bundle, 600)
    finally:
        task._CANARIES_PASSED.discard(bundle.key)
