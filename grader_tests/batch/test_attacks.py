"""Forging a grade, through plain ``nbgrader autograde`` and through the class grader.

Every attack of ``attack_corpus`` must get exactly its honest points both
ways, the class must finish, and nothing a student wrote may run in the
instructor's or the student's browser, nor any grader file reach feedback.
"""

from __future__ import annotations

import shutil

import attack_corpus as attacks
import nbformat
import pytest
from batch_support import TEST_LIMITS, new_course
from html_safety import runnable_payloads

from course_grader.assignments.initialization import EXERCISES
from course_grader.batch.coordinator import Options, run_batch
from course_grader.nbgrader_run import nbgrader
from course_paths import ASSIGNMENT, NOTEBOOK, ROOT, exercise_points

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap missing: apt-get install bubblewrap")]


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("attacks-plain") / "course", None)
    cases = attacks.build(course, ROOT)
    nbgrader(course, "autograde", ASSIGNMENT, "--force", check=False, quiet=True)
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force", check=False, quiet=True)
    return course, cases


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The class grader with --full: the attacks also run in the kernel."""
    course = new_course(tmp_path_factory.mktemp("attacks-batch") / "course", None)
    cases = attacks.build(course, ROOT)
    result = run_batch(Options(course, workers=2, limits=TEST_LIMITS, progress=False,
                               full=True))
    return course, cases, {r.student: r for r in result.results}


@pytest.fixture(scope="module")
def batch_fast(tmp_path_factory):
    """The class grader's default path: only the verdict runs student code."""
    course = new_course(tmp_path_factory.mktemp("attacks-fast") / "course", None)
    cases = attacks.build(course, ROOT)
    result = run_batch(Options(course, workers=2, limits=TEST_LIMITS, progress=False))
    return course, cases, {r.student: r for r in result.results}


def _files(course, student):
    notebook = course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    html = course / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"
    return notebook.read_text(), html.read_text()


def test_plain_nbgrader_gives_honest_points(plain):
    course, cases = plain
    db = f"sqlite:///{course / 'gradebook.db'}"
    wrong = []
    for case in cases:
        scores = exercise_points(db, case.student)
        got = None if scores is None else tuple(scores[e] for e in EXERCISES)
        honest = tuple(float(p) for p in case.exercises)
        if case.plain_ok and got != honest:
            wrong.append(f"{case.student} ({case.what}): {got} instead of {honest}")
        elif got is not None and any(g > h for g, h in zip(got, honest)):
            wrong.append(f"{case.student} ({case.what}): {got} above {honest}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", ["batch", "batch_fast"])
def test_batch_gives_honest_points(path, request):
    course, cases, results = request.getfixturevalue(path)
    wrong = []
    for case in cases:
        result = results[case.student]
        got = tuple(result.exercises[e] for e in EXERCISES) if result.gradable else None
        if got != tuple(float(p) for p in case.exercises):
            wrong.append(f"{case.student} ({case.what}): {got} {result.status} "
                         f"{result.errors}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", ["plain", "batch", "batch_fast"])
def test_nothing_runs_in_a_browser(path, request):
    course = request.getfixturevalue(path)[0]
    notebook, html = _files(course, "a_html")
    assert runnable_payloads(html, attacks.TOKEN) == []
    nb = nbformat.reads(notebook, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert set(out.get("data", {})) <= {"text/plain", "text/html", "image/png"}
    # the formgrader renders the autograded notebook: render it the same way
    from nbconvert import HTMLExporter

    rendered = HTMLExporter(template_name="lab").from_notebook_node(nb)[0]
    assert runnable_payloads(rendered, attacks.TOKEN) == []


@pytest.mark.parametrize("path", ["plain", "batch", "batch_fast"])
def test_no_grader_file_reaches_feedback(path, request):
    course = request.getfixturevalue(path)[0]
    notebook, html = _files(course, "a_read_secrets")
    if path != "batch_fast":  # the default path runs no kernel, so no probe output
        assert "no grader here" in notebook  # the probe ran in the kernel
    for secret in attacks.SECRETS:
        assert secret not in html and secret not in notebook, secret
