"""One submission, one sealed run, through every way of grading a class.

The first student's answer cell stashes its answer in every kind of state a
later job could reach (files in /tmp and /dev/shm, a read-only folder, SysV
IPC, a POSIX queue, the keyrings), builds folder chains 3,000 levels deep and
fills every place it can write; in the kernel (plain ``nbgrader autograde``
and ``--full``) a further cell fills the kernel's working folder and leaves a
deep chain there.  The classmates after it, graded by the same runner (one
process, one worker), must keep full marks, and a student with no answers
who runs whatever was left behind must score 0.  Nothing the kernel wrote
may stay on the host's disk.  (Three students: each one runs the whole
notebook in a kernel on the plain path and with ``--full``.)
"""

from __future__ import annotations

import os
import shutil

import nbformat
import pytest
import sealed_payloads as payloads
from batch_corpus import answered, index_of, insert_cell
from batch_support import TEST_LIMITS, new_course

from course_grader.assignments.initialization import EXERCISES
from course_grader.batch.coordinator import Options, run_batch
from course_grader.nbgrader_run import nbgrader
from course_paths import ASSIGNMENT, NOTEBOOK, exercise_points

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap missing: apt-get install bubblewrap")]

FULL = tuple(record.points for record in EXERCISES.values())  # from the records
NOTHING = (0.0,) * len(EXERCISES)
# graded in this order (sorted names): the attack first, everyone else after it
EXPECTED = {"a_attacker": FULL, "b_classmate": FULL, "c_thief": NOTHING}
# a kernel-only cell: ballast and a deep chain left in the kernel's working folder
KERNEL_LITTER = payloads.attack_cell().split("\n\ndef initialize_parameters_zeros")[0] + '''
_quietly(lambda: _deep(os.path.join(os.getcwd(), "kernel_deep")))
_KEPT = _fill(os.getcwd(), 48)
'''


def build(course):
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    attacker = answered(release, zeros=payloads.attack_cell())
    insert_cell(attacker, index_of(attacker, EXERCISES["zeros"].answer_cell) + 1, KERNEL_LITTER)
    thief = nbformat.from_dict(nbformat.reads(nbformat.writes(release), as_version=4))
    thief.cells[index_of(thief, EXERCISES["zeros"].answer_cell)].source = payloads.THIEF
    notebooks = {"a_attacker": attacker, "b_classmate": answered(release,
                                                                 zeros=payloads.probe_cell()),
                 "c_thief": thief}
    for student, nb in notebooks.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")


def points(course) -> dict[str, tuple | None]:
    db = f"sqlite:///{course / 'gradebook.db'}"
    found = {}
    for student in EXPECTED:
        scores = exercise_points(db, student)
        found[student] = None if scores is None else tuple(scores[e] for e in EXERCISES)
    return found


def assert_nothing_left_on_disk(course):
    """The kernel's ballast and chains never reached the host (its folder was a tmpfs)."""
    folder = course / "autograded" / "a_attacker" / ASSIGNMENT
    assert (folder / f"{NOTEBOOK}.ipynb").is_file()  # nbgrader wrote it from its own process
    names = set(os.listdir(folder))
    assert not {n for n in names if n.startswith("fill") or n in ("deep", "kernel_deep", "wide")
                }, names
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert total < 8 * 2**20, total


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("sealed-plain") / "course", None)
    build(course)
    nbgrader(course, "autograde", ASSIGNMENT, "--force", check=False, quiet=True)
    return course


def test_plain_nbgrader_grades_each_student_on_their_own_submission(plain):
    assert points(plain) == EXPECTED
    assert_nothing_left_on_disk(plain)


@pytest.mark.parametrize("full", [False, True], ids=["default", "full"])
def test_the_class_grader_grades_each_student_on_their_own_submission(tmp_path, full):
    course = new_course(tmp_path / "course", None)
    build(course)
    batch = run_batch(Options(course, workers=1, limits=TEST_LIMITS, progress=False, full=full))
    statuses = {r.student: r.status for r in batch.results}
    assert not [s for s in statuses.values() if s.startswith("failed")], statuses
    assert points(course) == EXPECTED
    assert batch.problems == []
    if full:
        assert_nothing_left_on_disk(course)
