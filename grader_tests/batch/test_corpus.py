"""The adversarial corpus, graded in one batch: once on SQLite, once on PostgreSQL."""

from __future__ import annotations

import csv
import shutil

import pytest

from course_grader.assignments.initialization import EXERCISES
from course_grader.batch import gradebook_check
from course_grader.batch.outcome import gradebook_scores
from course_grader.batch.preflight import submission_hash
from course_paths import ASSIGNMENT, NOTEBOOK

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap missing: apt-get install bubblewrap")]


# statuses only a kernel run of the notebook can produce; without one (the default
# path) the same submissions are simply graded, with the same points
KERNEL_STATUSES = ("timed out", "kernel died", "resource cap hit")


def _expected_status(case, full: bool) -> str:
    return "graded" if not full and case.status in KERNEL_STATUSES else case.status


def _check_results(run):
    by_student = {r.student: r for r in run["batch"].results}
    assert sorted(by_student) == sorted(c.student for c in run["cases"])
    wrong = []
    for case in run["cases"]:
        result = by_student[case.student]
        got = None if not result.gradable else tuple(result.exercises[e] for e in EXERCISES)
        status = _expected_status(case, run["full"])
        if got != case.exercises or not result.status.startswith(status):
            wrong.append(f"{case.student} ({case.what}): expected {case.exercises} "
                         f"{status!r}, got {got} {result.status!r} {result.notes} "
                         f"{result.errors}")
    assert not wrong, "\n".join(wrong)
    return by_student


def _check_untouched(run):
    course = run["course"]
    for case in run["cases"]:
        folder = course / "submitted" / case.student / ASSIGNMENT
        assert submission_hash(folder) == run["submitted_before"][case.student], case.student
    assert submission_hash(course / "source" / ASSIGNMENT) == run["source_before"]
    assert run["connections"] == 0, "a sandboxed kernel reached the grader's loopback"


def _check_gradebook(run, by_student):
    db_url = run["db_url"] or f"sqlite:///{run['course'] / 'gradebook.db'}"
    assert run["batch"].problems == []
    spec = run["batch"].spec
    assert gradebook_check.check(db_url, spec, {}) == []
    for student, result in by_student.items():
        if result.gradable:  # what the table says is what the gradebook holds
            rows = gradebook_scores(db_url, spec, student)
            assert {k: v for k, (v, _) in rows.items()} == result.scores, student


def _check_csv(run, by_student):
    with open(run["batch"].csv) as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    for student, result in by_student.items():
        row = rows[student]
        assert row["status"] == result.status
        if result.gradable:
            assert float(row["total"]) == result.score
        else:  # never a plain 0 for something that was not graded
            assert row["total"] == "" and all(row[e] == "" for e in EXERCISES)


def test_corpus_sqlite(sqlite_corpus):
    by_student = _check_results(sqlite_corpus)
    _check_untouched(sqlite_corpus)
    _check_gradebook(sqlite_corpus, by_student)
    _check_csv(sqlite_corpus, by_student)


def test_corpus_sqlite_full(sqlite_corpus_full, sqlite_corpus):
    """Every cell run in the sandboxed kernel: its statuses, and the same points."""
    by_student = _check_results(sqlite_corpus_full)
    _check_untouched(sqlite_corpus_full)
    _check_gradebook(sqlite_corpus_full, by_student)
    fast = {r.student: r.scores for r in sqlite_corpus["batch"].results}
    assert {r.student: r.scores for r in sqlite_corpus_full["batch"].results} == fast


@pytest.mark.postgres
def test_corpus_postgres(postgres_corpus):
    by_student = _check_results(postgres_corpus)
    _check_untouched(postgres_corpus)
    _check_gradebook(postgres_corpus, by_student)
    _check_csv(postgres_corpus, by_student)


@pytest.mark.parametrize("corpus", ["sqlite_corpus", "sqlite_corpus_full"])
def test_feedback_hides_the_grading(corpus, request):
    run = request.getfixturevalue(corpus)
    course = run["course"]
    for student in ("test_pass", "patch_numpy", "memory_bomb", "os_exit"):
        html = (course / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "hidden_checks" not in html, student
        assert "course_grader" not in html, student
        assert "Grading status" in html, student
        assert "Fontconfig" not in html, student
    # per exercise, the points and the diagnosis
    wrong = (course / "feedback" / "test_pass" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "he: 4 / 10 points" in wrong and "[diagnosis:" in wrong
    if run["full"]:
        died = (course / "feedback" / "os_exit" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
        assert "not run" in died


def test_report_files(sqlite_corpus):
    batch = sqlite_corpus["batch"]
    assert batch.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = batch.summary.read_text()
    assert "pass rate" in summary and "Gradebook integrity: ok" in summary
    for student in ("correct", "invalid_json", "fork_bomb"):
        assert student in summary
