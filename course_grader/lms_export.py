"""Grades for the university's LMS: CSV files Canvas's and Moodle's gradebook import.

Both are written from the nbgrader gradebook (students, their LMS ids and
names, each submission's score and timestamp), not from a report, so they
agree with what the formgrader shows.

Canvas ("Import grades in the Gradebook", the same layout as its own export):
the columns ``Student`` ("Last, First"), ``ID`` (Canvas user id),
``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per
assignment; the second row starts with ``Points Possible`` and holds each
assignment's points.  A header ``Name (1234)`` updates the existing Canvas
assignment 1234; a plain name makes Canvas create the assignment.

Moodle ("Import grades from CSV file"): a header row, one row per student,
a column that identifies the user (mapped in the import form to username,
ID number or email address), one column per grade item and, optionally, a
feedback column per item.  Points possible are not in the file: Moodle
keeps the grade item's maximum, and rejects grades above it.

A submission the class grader could not grade (status ``failed: ...`` in
its grades.csv) and a student without a submission get an empty cell, which
both importers read as "no grade", never as 0.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .assignment import ASSIGNMENT, MAX_SCORE
from .timestamps import describe_lateness, lateness

TITLE = "Initialization"  # the assignment's name in the LMS
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "    Points Possible"  # Canvas's own export indents it like this
MOODLE_COLUMNS = ["Username", "ID number", "First name", "Last name", "Email address"]


@dataclass
class GradeRow:
    student: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str
    score: float | None  # None: no grade to send
    submitted: datetime | None
    note: str


def _utc(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when


def failed_students(batch_csv: Path | None) -> dict[str, str]:
    """student -> status for submissions the class grader could not grade."""
    if batch_csv is None or not batch_csv.is_file():
        return {}
    with open(batch_csv, newline="") as handle:
        return {row["student"]: row["status"] for row in csv.DictReader(handle)
                if row.get("status", "").startswith("failed")}


def gradebook_rows(db_url: str, batch_csv: Path | None = None) -> tuple[list[GradeRow], float]:
    """One row per student in the gradebook, and the assignment's points possible."""
    failed = failed_students(batch_csv)
    rows = []
    with Gradebook(db_url) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        points = float(assignment.max_score or MAX_SCORE)
        due = _utc(assignment.duedate)
        for student in sorted(gb.students, key=lambda s: s.id):
            try:
                submission = gb.find_submission(ASSIGNMENT, student.id)
            except MissingEntry:
                submission = None
            submitted = _utc(submission.timestamp) if submission else None
            if submission is None:
                score, note = None, "no submission"
            elif student.id in failed:
                score, note = None, f"not graded ({failed[student.id]})"
            else:
                score = float(submission.score)
                note = describe_lateness(lateness(submitted, due))
            rows.append(GradeRow(student.id, student.first_name or "", student.last_name or "",
                                 student.email or "", student.lms_user_id or "",
                                 score, submitted, note))
    return rows, points


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def write_canvas(rows: list[GradeRow], points: float, path: Path, section: str = "",
                 canvas_assignment_id: str = "") -> Path:
    column = f"{TITLE} ({canvas_assignment_id})" if canvas_assignment_id else TITLE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CANVAS_COLUMNS + [column])
        writer.writerow([CANVAS_POINTS_ROW, "", "", "", "", _points(points)])
        for row in rows:
            name = f"{row.last_name}, {row.first_name}" if row.last_name else row.student
            writer.writerow([name, row.lms_user_id, "", row.student, section,
                             _points(row.score)])
    return path


def write_moodle(rows: list[GradeRow], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MOODLE_COLUMNS + [TITLE, f"Feedback: {TITLE}"])
        for row in rows:
            when = row.submitted.strftime("%Y-%m-%d %H:%M UTC") if row.submitted else ""
            feedback = f"submitted {when}, {row.note}" if when else row.note
            writer.writerow([row.student, row.lms_user_id, row.first_name, row.last_name,
                             row.email, _points(row.score), feedback])
    return path


def export(course: Path, db_url: str, out_dir: Path, formats: list[str], section: str = "",
           canvas_assignment_id: str = "") -> dict[str, Path]:
    """Write the requested LMS files into ``out_dir``; return format -> path."""
    batch_csv = course / "reports" / ASSIGNMENT / "grades.csv"
    rows, points = gradebook_rows(db_url, batch_csv)
    written = {}
    if "canvas" in formats:
        written["canvas"] = write_canvas(rows, points, out_dir / "canvas-grades.csv",
                                         section, canvas_assignment_id)
    if "moodle" in formats:
        written["moodle"] = write_moodle(rows, out_dir / "moodle-grades.csv")
    return written
