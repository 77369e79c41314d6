"""``python -m course_grader export-lms initialization``: grades for Canvas and Moodle."""

from __future__ import annotations

import argparse
from pathlib import Path

from .assignment import ASSIGNMENT, COURSE_ROOT
from .gradebook import course_db_url


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "export-lms", help="write canvas-grades.csv and moodle-grades.csv from the gradebook")
    parser.add_argument("assignment", choices=[ASSIGNMENT])
    parser.add_argument("--course", default=str(COURSE_ROOT),
                        help="course folder (default: this repository)")
    parser.add_argument("--db-url", default=None,
                        help="gradebook URL (default: $NBGRADER_DB_URL or the course's "
                             "gradebook.db)")
    parser.add_argument("--format", choices=["canvas", "moodle", "all"], default="all")
    parser.add_argument("--out", default=None,
                        help="folder for the files (default: <course>/reports/<assignment>)")
    parser.add_argument("--section", default="",
                        help="Canvas section name written in every row (default: empty)")
    parser.add_argument("--canvas-assignment-id", default="",
                        help="id of an existing Canvas assignment to update (default: Canvas "
                             "creates a new assignment)")
    return parser


def run(args: argparse.Namespace) -> int:
    from .lms_export import export, gradebook_rows

    course = Path(args.course).resolve()
    db_url = course_db_url(course, args.db_url)
    out = Path(args.out) if args.out else course / "reports" / ASSIGNMENT
    formats = ["canvas", "moodle"] if args.format == "all" else [args.format]
    written = export(course, db_url, out, formats, args.section, args.canvas_assignment_id)
    rows, points = gradebook_rows(db_url, course / "reports" / ASSIGNMENT / "grades.csv")
    graded = [r for r in rows if r.score is not None]
    print(f"{len(rows)} students, {len(graded)} with a grade, out of {points:g} points")
    for row in rows:
        if row.note != "on time":
            print(f"  {row.student}: {row.note}")
    for name, path in written.items():
        print(f"{name}: {path}")
    if "moodle" in written:
        print(f"Moodle: map 'Username' to username and set the grade item's maximum "
              f"grade to {points:g}.")
    return 0
