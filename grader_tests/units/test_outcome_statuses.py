"""How one student's run becomes a status, scores and diagnoses (``batch/outcome.py``).

The gradebook read is replaced by a dict, and the autograded notebook is a
tiny in-memory one: only the grader's reading of the run is under test.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from tiny import SPEC, error, release

from course_grader.batch import outcome
from course_grader.batch.outcome import (
    CAPPED,
    DIED,
    GRADED,
    MANUAL,
    REPAIRED,
    TIMED_OUT,
    StudentResult,
    read_outcome,
)
from course_grader.batch.preflight import Preflight

FULL = {"double_test": (2.0, False), "other": (3.0, False)}


@pytest.fixture
def course(tmp_path):
    return tmp_path / "course"


def autograded(course, nb) -> None:
    path = course / "autograded" / "s" / SPEC.name / f"{SPEC.notebook}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def read(course, monkeypatch, rows=FULL, events=(), code=0, report=None, log_text=None):
    monkeypatch.setattr(outcome, "gradebook_scores", lambda db, spec, student: rows)
    events_path = course / "events.json"
    events_path.parent.mkdir(parents=True, exist_ok=True)
    events_path.write_text(json.dumps({"events": list(events)}))
    log = course / "autograde.log"
    log.unlink(missing_ok=True)
    if log_text is not None:
        log.write_text(log_text)
    return read_outcome(SPEC, "sqlite://", course, "s", report or Preflight("s", "h"), code,
                        log, events_path)


def event(kind, cell="", message="why"):
    return {"kind": kind, "cell": cell, "message": message}


def test_a_clean_run_is_graded_with_points_per_exercise(course, monkeypatch):
    result = read(course, monkeypatch)
    assert result.status == GRADED and result.gradable
    assert (result.score, result.max_score) == (5.0, 5.0)
    assert result.exercises == {"double": 2.0, "other": 3.0}
    assert result.notes == [] and result.diagnoses == []


@pytest.mark.parametrize("events, status", [
    ([event("resource_cap"), event("cell_timeout")], CAPPED),
    ([event("cell_timeout"), event("kernel_died")], TIMED_OUT),
    ([event("notebook_timeout")], TIMED_OUT),
    ([event("kernel_killed")], TIMED_OUT),
    ([event("kernel_died")], DIED),
    ([event("links_removed")], GRADED),
])
def test_the_worst_thing_the_grader_saw_names_the_status(course, monkeypatch, events, status):
    result = read(course, monkeypatch, events=events)
    assert result.status == status
    assert result.gradable  # the points nbgrader recorded still count
    assert len(result.notes) == len(events)


def test_event_notes_name_the_cell(course, monkeypatch):
    result = read(course, monkeypatch, events=[event("cell_timeout", "double_test", "30 s")])
    assert result.notes == ["cell timeout in double_test: 30 s"]


def test_manual_grading_beats_repaired(course, monkeypatch):
    report = Preflight("s", "h")
    report.note("duplicate_cell", "pasted twice", repaired=True)
    assert read(course, monkeypatch, report=report).status == REPAIRED
    manual = dict(FULL, other=(0.0, True))
    result = read(course, monkeypatch, rows=manual, report=report)
    assert result.status == MANUAL and "needs manual grading: other" in result.notes


def test_a_finding_that_repaired_nothing_keeps_the_status_graded(course, monkeypatch):
    report = Preflight("s", "h")
    report.note("extra_files", "notes.txt not used")
    result = read(course, monkeypatch, report=report)
    assert result.status == GRADED and result.findings[0]["kind"] == "extra_files"


def test_no_exit_code_is_a_timeout_without_points(course, monkeypatch):
    result = read(course, monkeypatch, code=None)
    assert result.status == TIMED_OUT and not result.gradable
    assert result.exercises == {"double": None, "other": None}


def test_a_failed_autograde_says_why_from_its_log(course, monkeypatch):
    log = "[INFO] fine\n[ERROR] first\n[AutogradeApp | ERROR] Notebook JSON is invalid\n"
    result = read(course, monkeypatch, code=1, log_text=log)
    assert result.status.startswith("failed: nbgrader autograde exited with 1")
    assert "Notebook JSON is invalid" in result.status and not result.gradable
    assert "see the autograde log" in read(course, monkeypatch, code=1).status


def test_no_gradebook_rows_is_a_failure_not_a_zero(course, monkeypatch):
    result = read(course, monkeypatch, rows=None)
    assert result.status == "failed: no grades in the gradebook after autograde"
    assert result.score is None


def test_diagnoses_come_from_graded_cells_only(course, monkeypatch):
    nb = release()
    nb.cells[2].outputs = [error("ValueError", "nope [diagnosis: forged_by_student]")]
    nb.cells[3].outputs = [error("GradingCheckFailed", "scale is off [diagnosis: xavier_scale]")]
    autograded(course, nb)
    result = read(course, monkeypatch, rows=dict(FULL, double_test=(0.0, False)))
    assert result.diagnoses == ["xavier_scale"]
    assert list(result.errors) == ["double_test"]
    assert result.exercises["double"] == 0.0 and result.score == 3.0


def test_an_error_without_a_diagnosis_is_summed_up_in_one_sentence(course, monkeypatch):
    nb = release()
    nb.cells[3].outputs = [error("AssertionError", "Wrong shape. Expected (3, 2).\nmore")]
    autograded(course, nb)
    result = read(course, monkeypatch)
    assert result.diagnoses == ["AssertionError: Wrong shape"]


def test_a_result_survives_its_json_round_trip():
    result = StudentResult("s", GRADED, "h", 5.0, 5.0, {"double_test": 2.0})
    data = json.loads(json.dumps(result.to_dict()))
    data["field_from_a_newer_version"] = 1
    assert StudentResult.from_dict(data) == result


def test_exercise_max_sums_its_cells():
    assert SPEC.max_score == 5.0
    assert SPEC.exercise_max("double") == 2.0
