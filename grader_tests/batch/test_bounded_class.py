"""Hostile folders handed in beside the notebook, then correct classmates, three ways.

A 1,500-level folder chain, a FIFO, links (the notebook itself to a classmate's,
``gradebook.db``, the master notebook), a file and a stray grade id named as
HTML, and a trailing blank in an answer's grade id, graded through plain
``nbgrader autograde`` with the course config, the class grader's default
path and ``--full``.  Each refused student fails alone with the reason (plain
nbgrader: not graded, the reason in its log); the classmates sorted after
them keep full marks; nothing of the grader, the gradebook or a classmate
reaches a feedback page, and nothing in one runs in a browser.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil

import nbformat
import pytest
from batch_corpus import answered, insert_cell
from batch_support import TEST_LIMITS, new_course
from html_safety import runnable_payloads
from tree_helpers import deep_chain

from course_grader.assignments.initialization import EXERCISES
from course_grader.batch.coordinator import Options, run_batch
from course_grader.nbgrader_run import nbgrader
from course_grader.untrusted_tree import remove_tree
from course_paths import ASSIGNMENT, NOTEBOOK, exercise_points

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.sandbox, pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap missing: apt-get install bubblewrap")]

# what is tested is who gets graded, not speed: room for a loaded machine's kernels
LIMITS = dataclasses.replace(TEST_LIMITS, cell_timeout=60, notebook_timeout=600)
TOKEN = "TREE-XSS-29"
HOSTILE_NAME = f"<img src=x onerror=alert('{TOKEN}')>.py"
REFUSED = {"a_deep": "nested more than", "b_link_nb": "symbolic link",
           "c_link_db": "symbolic link", "d_link_master": "symbolic link", "e_fifo": "FIFO"}
FULL = tuple(record.points for record in EXERCISES.values())  # from the records
# what the linked files would print into the feedback if the kernel could read them
PRINT_CLASS = ("import sqlite3\n"
               "print(sqlite3.connect('gradebook.db').execute('select id from student')"
               ".fetchall())")
PRINT_MASTER = "print(open('master.ipynb').read())"
# honest points of the others; None: not required on plain nbgrader (see the builder)
GRADED = {"c_ok": FULL, "f_names": (0.0,) * len(EXERCISES), "z_ok": FULL}
BATCH_ONLY = {"g_blank_id": FULL, "h_stray_id": FULL}


def _build(course, batch_only: bool) -> None:
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)
    sub = course / "submitted"

    def folder(student, nb=None):
        path = sub / student / ASSIGNMENT
        path.mkdir(parents=True)
        if nb is not None:
            nbformat.write(nb, path / f"{NOTEBOOK}.ipynb")
        return path

    for student in ("c_ok", "z_ok"):
        folder(student, answered(release))
    deep_chain(folder("a_deep", answered(release)), 1500)
    folder("b_link_nb")
    (sub / "b_link_nb" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").symlink_to(
        sub / "z_ok" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    (folder("c_link_db", insert_cell(answered(release), 1, PRINT_CLASS)) /
     "gradebook.db").symlink_to(course / "gradebook.db")
    (folder("d_link_master", insert_cell(copy.deepcopy(release), 1, PRINT_MASTER)) /
     "master.ipynb").symlink_to(course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    os.mkfifo(folder("e_fifo", answered(release)) / "data.npy")
    (folder("f_names", release) / HOSTILE_NAME).write_text("print('hi')\n")
    if not batch_only:
        return
    # plain nbgrader grades these its own way (an unknown grade id can stop its batch)
    blank = answered(release)
    for record in EXERCISES.values():
        for cell in blank.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id") == record.answer_cell:
                meta["grade_id"] = record.answer_cell + " "
    folder("g_blank_id", blank)
    stray = answered(release)
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                 "grade_id": f"<script>alert('{TOKEN}')</script>",
                                 "schema_version": 3}
    stray.cells.append(cell)
    folder("h_stray_id", stray)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("bounded-plain") / "course", None)
    _build(course, batch_only=False)
    try:
        run = nbgrader(course, "autograde", ASSIGNMENT, "--force", check=False, quiet=True)
        nbgrader(course, "generate_feedback", ASSIGNMENT, "--force", check=False, quiet=True)
        yield course, run.stdout + run.stderr
    finally:
        remove_tree(course / "submitted")


def _batch(tmp_path_factory, name, full):
    course = new_course(tmp_path_factory.mktemp(name) / "course", None)
    _build(course, batch_only=True)
    try:
        batch = run_batch(Options(course, workers=2, limits=LIMITS, progress=False,
                                  full=full))
        yield course, {r.student: r for r in batch.results}
    finally:
        remove_tree(course / "submitted")


@pytest.fixture(scope="module")
def batch_fast(tmp_path_factory):
    yield from _batch(tmp_path_factory, "bounded-fast", False)


@pytest.fixture(scope="module")
def batch_full(tmp_path_factory):
    yield from _batch(tmp_path_factory, "bounded-full", True)


def _points(scores):
    return None if scores is None else tuple(scores[e] for e in EXERCISES)


def test_plain_nbgrader_refuses_each_alone_and_grades_the_rest(plain):
    course, log = plain
    db = f"sqlite:///{course / 'gradebook.db'}"
    graded = {s: _points(exercise_points(db, s)) for s in REFUSED}
    assert graded == dict.fromkeys(REFUSED), graded  # never graded (a link got 30/30)
    for student, says in REFUSED.items():
        assert f"student '{student}' refused" in log and says in log
        assert not (course / "autograded" / student).exists() or \
            not any((course / "autograded" / student).rglob("*.ipynb"))
    for student, points in GRADED.items():
        assert _points(exercise_points(db, student)) == points, student
    folder = course / "autograded" / "f_names" / ASSIGNMENT
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".py") == sorted(
        p.name for p in (course / "source" / ASSIGNMENT).iterdir() if p.suffix == ".py")


@pytest.mark.parametrize("path", ["batch_fast", "batch_full"])
def test_the_class_grader_fails_each_alone_with_the_reason(path, request):
    course, results = request.getfixturevalue(path)
    for student, says in REFUSED.items():
        status = results[student].status
        assert status.startswith("failed: the submission folder was refused:"), status
        assert says in status and results[student].score is None
    for student, points in {**GRADED, **BATCH_ONLY}.items():
        result = results[student]
        assert result.gradable, (student, result.status)
        assert tuple(result.exercises[e] for e in EXERCISES) == points, (student, result.status)


@pytest.mark.parametrize("path", ["plain", "batch_fast", "batch_full"])
def test_no_feedback_runs_code_or_shows_what_a_link_pointed_at(path, request):
    course = request.getfixturevalue(path)[0]
    pages = sorted((course / "feedback").rglob("*.html"))
    assert pages
    students = [*REFUSED, *GRADED, *BATCH_ONLY]
    for page in pages:
        html = page.read_text()
        assert runnable_payloads(html, TOKEN) == [], page
        assert "BEGIN SOLUTION" not in html, page  # the master notebook's solutions
        owner = page.parts[-3]
        assert [s for s in students if s != owner and s in html] == [], page  # the class list
    for notebook in (course / "autograded").rglob("*.ipynb"):
        from nbconvert import HTMLExporter

        nb = nbformat.read(notebook, 4)
        rendered = HTMLExporter(template_name="lab").from_notebook_node(nb)[0]
        assert runnable_payloads(rendered, TOKEN) == [], notebook
