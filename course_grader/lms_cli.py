"""``python -m course_grader export-lms [ASSIGNMENT]``: grades for Canvas and Moodle."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .course import COURSE_ROOT, choose_assignment
from .gradebook import course_db_url


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "export-lms", help="write canvas-grades.csv and moodle-grades.csv from the gradebook")
    parser.add_argument("assignment", nargs="?", default=None,
                        help="its name in the gradebook (default: the course's only "
                             "assignment under source/)")
    parser.add_argument("--course", default=str(COURSE_ROOT),
                        help="course folder (default: this repository)")
    parser.add_argument("--db-url", default=None,
                        help="gradebook URL (default: $NBGRADER_DB_URL or the course's "
                             "gradebook.db)")
    parser.add_argument("--format", choices=["canvas", "moodle", "all"], default="all")
    parser.add_argument("--out", default=None,
                        help="folder for the files (default: <course>/reports/<assignment>)")
    parser.add_argument("--title", default=None,
                        help="the grade column's name in the LMS (default: the assignment's "
                             "name)")
    parser.add_argument("--section", default="",
                        help="Canvas section name written in every row (default: empty)")
    parser.add_argument("--canvas-assignment-id", default="",
                        help="id of an existing Canvas assignment to update (default: Canvas "
                             "creates a new assignment)")
    return parser


def run(args: argparse.Namespace) -> int:
    from .lms_export import NotGradable, batch_report, export, gradebook_rows

    course = Path(args.course).resolve()
    # a named assignment need not be in source/: the gradebook is what is exported
    assignment = args.assignment or choose_assignment(course)
    db_url = course_db_url(course, args.db_url)
    out = Path(args.out) if args.out else course / "reports" / assignment
    formats = ["canvas", "moodle"] if args.format == "all" else [args.format]
    try:
        written = export(course, db_url, assignment, out, formats, args.section,
                         args.canvas_assignment_id, args.title)
    except NotGradable as missing:
        print(f"export-lms: {missing}", file=sys.stderr)
        return 2
    rows, points = gradebook_rows(db_url, assignment, batch_report(course, assignment))
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
