"""Grades into the LMS: Canvas and Moodle CSV files from a real gradebook, and timestamps.

A small class from the sample class (one on time, one late, one whose
submission the class grader could not grade, the rest never handed in) is
autograded by real nbgrader, then exported; the files are checked against
the layouts Canvas's and Moodle's gradebook imports document.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from datetime import timedelta

import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from course_grader.assignments.initialization import MAX_SCORE
from course_grader.assignments.initialization.sample_class import (
    DUE,
    LATE,
    sample_class,
    submitted_at,
)
from course_grader.cli import make_course_copy, release, write_sample_class
from course_grader.gradebook import sqlite_url
from course_grader.lms_export import CANVAS_COLUMNS, MOODLE_COLUMNS, NotGradable, export
from course_grader.nbgrader_run import nbgrader
from course_grader.timestamps import FILE, read_timestamp
from course_paths import ASSIGNMENT, ROOT

GRADED = ["ada_correct", "jade_no_seed", "dan_xavier"]  # handed in; the rest did not
FAILED = "dan_xavier"  # the class grader's grades.csv says it could not be graded
CANVAS_ID = {"ada_correct": "40001", "jade_no_seed": "40002"}
TITLE = ASSIGNMENT  # the grade column: the assignment's name in the gradebook
CLASS = sample_class()
TOTAL = {sub.student: sum(sub.expected.values()) for sub in CLASS}  # points earned


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_course_copy(tmp_path_factory.mktemp("lms") / "course")
    release(course, publish=False)
    submissions = write_sample_class(course)
    for sub in submissions:
        if sub.student not in GRADED:
            shutil.rmtree(course / "submitted" / sub.student)
    nbgrader(course, "autograde", ASSIGNMENT, "--force", quiet=True)
    with Gradebook(db_url(course)) as gb:
        for student, lms_id in CANVAS_ID.items():
            gb.update_or_create_student(student, lms_user_id=lms_id)
    report = course / "reports" / ASSIGNMENT / "grades.csv"
    report.parent.mkdir(parents=True)
    report.write_text(f"student,total,status\nada_correct,{TOTAL['ada_correct']:g},graded\n"
                      f"jade_no_seed,{TOTAL['jade_no_seed']:g},graded\n"
                      "dan_xavier,,failed: not a notebook\n")
    return course


def db_url(course) -> str:
    return sqlite_url(course / "gradebook.db")


def read_csv(path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_every_sample_submission_carries_an_nbgrader_timestamp(tmp_path):
    course = make_course_copy(tmp_path / "course")
    (course / "release" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "Initialization.ipynb",
                course / "release" / ASSIGNMENT)
    (course / "gradebook.db").unlink(missing_ok=True)
    submissions = write_sample_class(course)
    times = []
    for position, sub in enumerate(submissions):
        folder = course / "submitted" / sub.student / ASSIGNMENT
        text = (folder / FILE).read_text()
        # nbgrader's own parser reads it, as autograde and the formgrader do
        assert parse_utc(text) == submitted_at(sub.student, position).replace(tzinfo=None)
        assert text.endswith(" UTC"), text
        times.append(read_timestamp(folder))
    late = {sub.student for sub, when in zip(submissions, times) if when > DUE}
    assert late == set(LATE)


@pytest.mark.nbgrader
def test_autograde_records_timestamps_and_lateness(course):
    with Gradebook(db_url(course)) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        assert assignment.duedate == DUE.replace(tzinfo=None)
        position = [s.student for s in CLASS].index("ada_correct")
        ada = gb.find_submission(ASSIGNMENT, "ada_correct")
        assert ada.timestamp == submitted_at("ada_correct", position).replace(tzinfo=None)
        assert ada.total_seconds_late == 0
        jade = gb.find_submission(ASSIGNMENT, "jade_no_seed")
        assert jade.total_seconds_late == LATE["jade_no_seed"].total_seconds()
        assert (ada.score, jade.score) == (TOTAL["ada_correct"], TOTAL["jade_no_seed"])


@pytest.mark.nbgrader
def test_canvas_file_follows_the_gradebook_import_layout(course, tmp_path):
    path = export(course, db_url(course), ASSIGNMENT, tmp_path, ["canvas"],
                  section="Lecture A")["canvas"]
    rows = read_csv(path)
    assert rows[0] == CANVAS_COLUMNS + [TITLE]
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    # second row: "Points Possible" in the first column, the points under the assignment
    assert rows[1][0].strip() == "Points Possible"
    assert rows[1][1:5] == ["", "", "", ""] and float(rows[1][5]) == MAX_SCORE
    students = {row[3]: row for row in rows[2:]}
    assert len(students) == len(rows) - 2 == len(CLASS)
    ada = students["ada_correct"]
    assert ada[0] == "(correct), Ada"  # "Last, First", Canvas's sortable name
    assert ada[1] == CANVAS_ID["ada_correct"] and ada[4] == "Lecture A"
    assert float(ada[5]) == TOTAL["ada_correct"]
    assert float(students["jade_no_seed"][5]) == TOTAL["jade_no_seed"]
    assert students[FAILED][5] == "", "an ungraded submission must not read as 0"
    assert students["ben_untouched"][5] == "", "no submission: no grade, not 0"
    for row in rows[2:]:
        assert row[0] and row[3], row
        assert row[5] == "" or 0 <= float(row[5]) <= MAX_SCORE


@pytest.mark.nbgrader
def test_canvas_file_can_update_an_existing_assignment(course, tmp_path):
    path = export(course, db_url(course), ASSIGNMENT, tmp_path, ["canvas"],
                  canvas_assignment_id="987")["canvas"]
    assert read_csv(path)[0][5] == f"{TITLE} (987)"


@pytest.mark.nbgrader
def test_moodle_file_follows_the_csv_grade_import(course, tmp_path):
    rows = read_csv(export(course, db_url(course), ASSIGNMENT, tmp_path, ["moodle"])["moodle"])
    assert rows[0] == MOODLE_COLUMNS + [TITLE, f"Feedback: {TITLE}"]
    body = [dict(zip(rows[0], row)) for row in rows[1:]]
    usernames = [row["Username"] for row in body]
    assert all(usernames) and len(set(usernames)) == len(usernames) == len(CLASS)
    by_user = {row["Username"]: row for row in body}
    assert by_user["ada_correct"]["First name"] == "Ada"
    assert by_user["ada_correct"]["ID number"] == CANVAS_ID["ada_correct"]
    assert float(by_user["ada_correct"][TITLE]) == TOTAL["ada_correct"]
    for row in body:  # Moodle rejects grades above the item's maximum; "." decimals
        assert row[TITLE] == "" or 0 <= float(row[TITLE]) <= MAX_SCORE
    late = by_user["jade_no_seed"][f"Feedback: {TITLE}"]
    assert "late by 2 h 05 min" in late, late
    assert "on time" in by_user["ada_correct"][f"Feedback: {TITLE}"]
    assert by_user[FAILED][TITLE] == "" and "not graded" in by_user[FAILED][f"Feedback: {TITLE}"]
    assert by_user["ben_untouched"][f"Feedback: {TITLE}"] == "no submission"


@pytest.mark.nbgrader
def test_title_and_points_are_the_gradebooks(course, tmp_path):
    """A second assignment in the same gradebook is exported under its own name and with
    its own points possible, from the cells nbgrader recorded for it."""
    shutil.copy(course / "gradebook.db", tmp_path / "gradebook.db")
    url = sqlite_url(tmp_path / "gradebook.db")
    with Gradebook(url) as gb:
        gb.update_or_create_assignment("lab2")
        gb.update_or_create_notebook("Activations", "lab2")
        for cell, points in (("relu", 4), ("sigmoid", 3)):
            gb.update_or_create_grade_cell(cell, "Activations", "lab2", max_score=points,
                                           cell_type="code")
    written = export(course, url, "lab2", tmp_path / "out", ["canvas", "moodle"])
    canvas = read_csv(written["canvas"])
    assert canvas[0][5] == "lab2" and float(canvas[1][5]) == 7 != MAX_SCORE
    assert all(row[5] == "" for row in canvas[2:]), "nobody handed lab2 in"
    assert read_csv(written["moodle"])[0][5:] == ["lab2", "Feedback: lab2"]
    titled = export(course, url, "lab2", tmp_path / "titled", ["canvas"], title="Lab 2")
    assert read_csv(titled["canvas"])[0][5] == "Lab 2"


@pytest.mark.nbgrader
def test_an_assignment_the_gradebook_lacks_is_refused_by_name(course, tmp_path):
    with pytest.raises(NotGradable, match=r"no assignment 'lab9' \(it has: initialization\)"):
        export(course, db_url(course), "lab9", tmp_path, ["canvas"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.nbgrader
def test_export_lms_command_writes_both_files(course):
    # no assignment named: the course's only one under source/
    result = subprocess.run(
        [sys.executable, "-m", "course_grader", "export-lms", "--course", str(course)],
        capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    out = course / "reports" / ASSIGNMENT
    assert (out / "canvas-grades.csv").is_file() and (out / "moodle-grades.csv").is_file()
    assert "jade_no_seed: late by 2 h 05 min" in result.stdout, result.stdout
    assert f"out of {MAX_SCORE:g} points" in result.stdout
    assert LATE["jade_no_seed"] < timedelta(hours=3)
