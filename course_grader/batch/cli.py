"""``python -m course_grader grade [ASSIGNMENT]``: grade the whole class."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..course import COURSE_ROOT, UnknownAssignment, choose_assignment
from ..sandbox.bubblewrap import Limits

DESCRIPTION = """Grade every submission in submitted/: preflight, then real nbgrader
autograde per student in parallel, each kernel in a bubblewrap sandbox, then
feedback HTML, reports/<assignment>/grades.csv, a score plot and a summary.
Re-running grades only new or changed submissions (use --force for all)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", nargs="?", default=None,
                        help="the assignment to grade: its name in source/ (default: the "
                             "only one there)")
    parser.add_argument("--course", default=str(COURSE_ROOT),
                        help="course folder (default: this repository)")
    parser.add_argument("--workers", type=int, default=0,
                        help="parallel students (default: number of cores)")
    parser.add_argument("--db-url", default=None,
                        help="gradebook URL, e.g. postgresql://user@host/db "
                             "(default: the course's nbgrader_config.py)")
    parser.add_argument("--force", action="store_true",
                        help="regrade every submission, changed or not")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run kernels without bubblewrap (trusted submissions only)")
    parser.add_argument("--students", default=None,
                        help="comma-separated student ids to grade (default: all)")
    for name in Limits.names():  # --memory-mb, --cell-timeout, ...: one per limit
        default = getattr(Limits, name)
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default,
                            help=f"{Limits.help(name)} (default {default})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--full", action="store_true",
                        help="also run every cell in a sandboxed kernel (the students' plots "
                             "re-run in the feedback); grades are the same either way")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="grade on an existing Dask cluster (default: a local cluster "
                             "of --workers processes started and stopped here)")


def run(args: argparse.Namespace) -> int:
    from .coordinator import Options, Refusal, run_batch

    limits = Limits(**{name: getattr(args, name) for name in Limits.names()})
    students = [s.strip() for s in args.students.split(",") if s.strip()] \
        if args.students else None
    course = Path(args.course)
    options = Options(course, assignment=choose_assignment(course, args.assignment),
                      full=args.full,
                      scheduler=args.scheduler, workers=args.workers, db_url=args.db_url,
                      force=args.force, sandbox=not args.no_sandbox, students=students,
                      limits=limits, progress=not args.no_progress)
    try:
        batch = run_batch(options)
    except Refusal as refusal:
        print(f"grade: {refusal}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    # non-zero when anything needs the instructor: a submission that could not be
    # graded, or a gradebook that failed its integrity check
    failed = [r.student for r in batch.results if not r.gradable]
    if failed:
        print(f"grade: {len(failed)} submission(s) could not be graded: "
              f"{', '.join(failed[:20])} (see the table and grades.csv)", file=sys.stderr)
    return 1 if batch.problems or failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_grader grade",
                                     description=DESCRIPTION)
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except UnknownAssignment as unknown:
        print(f"grade: {unknown}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
