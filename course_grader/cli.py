"""Command line of the instructor tools: ``python -m course_grader <command>``.

    release   regenerate the student edition (release/ and notebooks/) from source/
    demo      build a sample class in demo/, grade it, write feedback and grades
    grade     grade the whole class in submitted/ (sandboxed, parallel, resumable)
    export-lms  write the gradebook's grades as CSV files Canvas and Moodle import
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from .assignment import ASSIGNMENT, COURSE_ROOT, EXERCISES, MAX_SCORE, NOTEBOOK
from .nbgrader_run import nbgrader

STUDENT_EDITION = COURSE_ROOT / "notebooks"


def release(course: Path = COURSE_ROOT, publish: bool = True) -> Path:
    """Write the visible checks' catalogue of mistakes into the source folder, run
    ``nbgrader generate_assignment``; with ``publish``, mirror it into notebooks/."""
    from .assignments.initialization import catalogue

    catalogue.write(course / "source" / ASSIGNMENT)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", quiet=True)
    released = course / "release" / ASSIGNMENT
    if publish:
        publish_student_edition(released, STUDENT_EDITION)
    return released


def publish_student_edition(released: Path, dest: Path) -> None:
    """Make ``dest`` hold exactly the released files (notebook and provided modules).

    Every file is a real copy, never a link into source/: a student who downloads
    the folder (a zip from the hosting site, a checkout without symlink support)
    must get ``model.py`` itself, not a one-line file naming its path.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for path in sorted(released.iterdir()):
        if path.name.startswith(".") or path.name == "__pycache__":
            continue
        if path.is_dir():
            shutil.copytree(path, dest / path.name)
        else:
            shutil.copyfile(path, dest / path.name)


def make_course_copy(dest: Path) -> Path:
    """A fresh course folder at ``dest`` with this course's source and config."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy2(COURSE_ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(COURSE_ROOT / "source", dest / "source",
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    (dest / "exchange").mkdir()
    return dest


def write_sample_class(course: Path) -> list:
    from .assignments.initialization.sample_class import (
        sample_class,
        submitted_at,
        write_submission,
    )
    from .timestamps import write_timestamp

    release_nb = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    submissions = sample_class()
    for position, sub in enumerate(submissions):
        folder = course / "submitted" / sub.student / ASSIGNMENT
        write_submission(release_nb, sub, folder)
        # as `nbgrader submit` would have: the gradebook and formgrader read it
        write_timestamp(folder, submitted_at(sub.student, position))
    register_students(course, submissions)
    return submissions


def register_students(course: Path, submissions) -> None:
    """Give the sample students names, so the formgrader shows more than ids.

    The assignment gets the sample due date, so the two late students show as late.
    """
    from nbgrader.api import Gradebook

    from .assignments.initialization.sample_class import DUE

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        # nbgrader keeps due dates as naive UTC
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUE.replace(tzinfo=None))
        for sub in submissions:
            first, _, last = sub.student.partition("_")
            gb.update_or_create_student(sub.student, first_name=first.title(),
                                        last_name=f"({last.replace('_', ' ')})")


def demo(args) -> int:
    from .gradebook import exercise_scores
    from .table import format_table, score_fraction

    course = make_course_copy(Path(args.dir).resolve())
    print(f"1/5 Generating the student edition in {course / 'release'}")
    release(course, publish=False)
    print("2/5 Writing a sample class into submitted/")
    submissions = write_sample_class(course)
    if args.plain_nbgrader:
        print(f"3/5 Autograding {len(submissions)} submissions with plain nbgrader")
        nbgrader(course, "autograde", ASSIGNMENT, "--force", quiet=True)
        print("4/5 Generating feedback HTML")
        nbgrader(course, "generate_feedback", ASSIGNMENT, "--force", quiet=True)
    else:
        from .batch.coordinator import Options, Refusal, run_batch

        print(f"3-4/5 Grading {len(submissions)} submissions with the batch grader "
              "(sandboxed, parallel; feedback included)")
        try:
            run_batch(Options(course, workers=args.workers, sandbox=not args.no_sandbox))
        except Refusal as refusal:
            print(f"demo: {refusal}", file=sys.stderr)
            return 2
    print("5/5 Exporting grades to grades.csv")
    nbgrader(course, "export", quiet=True)
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    rows = []
    for sub in submissions:
        scores = exercise_scores(db_url, sub.student) or {}
        row = {"student": sub.student, "what": sub.what}
        row.update({ex: f"{scores.get(ex, 0):g}" for ex in EXERCISES})
        row["total"] = score_fraction(sum(scores.values()), MAX_SCORE)
        rows.append(row)
    print()
    print(format_table(rows, ["student", "what", *EXERCISES, "total"]))
    print(f"\nFeedback: {course / 'feedback'}\nGrades:   {course / 'grades.csv'}")
    if not args.plain_nbgrader:
        print(f"Reports:  {course / 'reports' / ASSIGNMENT}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_grader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help="regenerate release/ and notebooks/ from source/")
    demo_parser = commands.add_parser("demo", help="grade a sample class end to end")
    demo_parser.add_argument("--dir", default=str(COURSE_ROOT / "demo"),
                             help="course folder to build the demo in (default: demo/)")
    demo_parser.add_argument("--workers", type=int, default=0,
                             help="parallel students for the batch grader (default: cores)")
    demo_parser.add_argument("--no-sandbox", action="store_true",
                             help="grade without bubblewrap (trusted sample class only)")
    demo_parser.add_argument("--plain-nbgrader", action="store_true",
                             help="grade with plain `nbgrader autograde` instead")
    from .batch import cli as batch_cli  # the class grader

    grade_parser = commands.add_parser("grade", help="grade every submission: sandboxed, "
                                       "parallel, with reports (see docs/batch-grading.md)")
    batch_cli.add_arguments(grade_parser)
    from . import lms_cli

    lms_cli.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "grade":
        return batch_cli.run(args)
    if args.command == "export-lms":
        return lms_cli.run(args)
    if args.command == "release":
        released = release()
        print(f"Released {released} and mirrored it into {STUDENT_EDITION}")
        return 0
    if args.command == "demo":
        return demo(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
