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

The assignment's column is headed by its name in the gradebook (or a title the
instructor gives) and its points possible are the gradebook's: what
``nbgrader generate_assignment`` recorded for its graded cells.

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

from .timestamps import describe_lateness, lateness

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


class NotGradable(LookupError):
    """The gradebook has no such assignment, or no points for it; the message says which."""


def _points_possible(gb: Gradebook, name: str) -> tuple[float, datetime | None]:
    try:
        assignment = gb.find_assignment(name)
    except MissingEntry:
        known = ", ".join(sorted(a.name for a in gb.assignments)) or "none"
        raise NotGradable(f"the gradebook has no assignment {name!r} (it has: {known})") \
            from None
    if not assignment.max_score:
        raise NotGradable(f"the gradebook records no graded cells for {name!r}: run "
                          "nbgrader generate_assignment against this gradebook first")
    return float(assignment.max_score), _utc(assignment.duedate)


def gradebook_rows(db_url: str, assignment: str, batch_csv: Path | None = None
                   ) -> tuple[list[GradeRow], float]:
    """One row per student in the gradebook, and the assignment's points possible."""
    failed = failed_students(batch_csv)
    rows = []
    with Gradebook(db_url) as gb:
        points, due = _points_possible(gb, assignment)
        for student in sorted(gb.students, key=lambda s: s.id):
            try:
                submission = gb.find_submission(assignment, student.id)
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


def write_canvas(rows: list[GradeRow], title: str, points: float, path: Path, section: str = "",
                 canvas_assignment_id: str = "") -> Path:
    column = f"{title} ({canvas_assignment_id})" if canvas_assignment_id else title
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


def write_moodle(rows: list[GradeRow], title: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MOODLE_COLUMNS + [title, f"Feedback: {title}"])
        for row in rows:
            when = row.submitted.strftime("%Y-%m-%d %H:%M UTC") if row.submitted else ""
            feedback = f"submitted {when}, {row.note}" if when else row.note
            writer.writerow([row.student, row.lms_user_id, row.first_name, row.last_name,
                             row.email, _points(row.score), feedback])
    return path


def batch_report(course: Path, assignment: str) -> Path:
    """The class grader's grades.csv for ``assignment`` (it says who could not be graded)."""
    return course / "reports" / assignment / "grades.csv"


def export(course: Path, db_url: str, assignment: str, out_dir: Path, formats: list[str],
           section: str = "", canvas_assignment_id: str = "", title: str | None = None
           ) -> dict[str, Path]:
    """Write the requested LMS files for ``assignment`` into ``out_dir``; return format ->
    path.  The grade column is headed ``title``, by default the assignment's name."""
    rows, points = gradebook_rows(db_url, assignment, batch_report(course, assignment))
    title = title or assignment
    written = {}
    if "canvas" in formats:
        written["canvas"] = write_canvas(rows, title, points, out_dir / "canvas-grades.csv",
                                         section, canvas_assignment_id)
    if "moodle" in formats:
        written["moodle"] = write_moodle(rows, title, out_dir / "moodle-grades.csv")
    return written
