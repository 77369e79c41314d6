"""Command line of the instructor tools: ``python -m course_grader <command>``.

    release     regenerate an assignment's student edition (release/ and notebooks/)
    demo        build a sample class in demo/, grade it, write feedback and grades
    grade       grade the whole class in submitted/ (sandboxed, parallel, resumable)
    export-lms  write the gradebook's grades as CSV files Canvas and Moodle import

``release``, ``grade`` and ``export-lms`` take the assignment's name; without
one they take the course's only assignment under source/.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import shutil
import sys
from pathlib import Path

from . import student_edition
from .course import COURSE_ROOT, UnknownAssignment, choose_assignment, notebook_names
from .nbgrader_run import nbgrader


def write_release_files(course: Path, assignment: str) -> None:
    """Files an assignment's instructor-only package writes into its source folder before
    each release: ``course_grader.assignments.<name>.catalogue.write`` when there is one
    (Initialization: the catalogue of mistakes its visible checks read)."""
    package = f"{__package__}.assignments.{assignment}"
    if not assignment.isidentifier() or importlib.util.find_spec(package) is None \
            or importlib.util.find_spec(f"{package}.catalogue") is None:
        return
    importlib.import_module(f"{package}.catalogue").write(course / "source" / assignment)


def release(course: Path = COURSE_ROOT, assignment: str | None = None,
            publish: bool = True) -> Path:
    """Run ``nbgrader generate_assignment`` for ``assignment`` (default: the course's only
    one); with ``publish``, copy its release into the course's notebooks/, touching only
    the files this assignment's releases wrote there."""
    assignment = choose_assignment(course, assignment)
    write_release_files(course, assignment)
    nbgrader(course, "generate_assignment", assignment, "--force", quiet=True)
    released = course / "release" / assignment
    if publish:
        student_edition.publish(released, course / "notebooks", assignment)
    return released


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


def demo_assignment() -> str:
    """The demo's assignment, named as its instructor-only package is: the one whose
    sample class the demo grades."""
    from .assignments import initialization

    return initialization.__name__.rpartition(".")[2]


def write_sample_class(course: Path) -> list:
    from .assignments.initialization.sample_class import (
        sample_class,
        submitted_at,
        write_submission,
    )
    from .timestamps import write_timestamp

    assignment = demo_assignment()
    (notebook,) = notebook_names(course, assignment)
    release_nb = course / "release" / assignment / f"{notebook}.ipynb"
    submissions = sample_class()
    for position, sub in enumerate(submissions):
        folder = course / "submitted" / sub.student / assignment
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
    from .gradebook import course_db_url

    with Gradebook(course_db_url(course)) as gb:
        # nbgrader keeps due dates as naive UTC
        gb.update_or_create_assignment(demo_assignment(), duedate=DUE.replace(tzinfo=None))
        for sub in submissions:
            first, _, last = sub.student.partition("_")
            gb.update_or_create_student(sub.student, first_name=first.title(),
                                        last_name=f"({last.replace('_', ' ')})")


def print_scores(course: Path, submissions) -> None:
    """The demo's table: points per exercise of every sample student, from the gradebook."""
    from .assignments.initialization import EXERCISES, MAX_SCORE
    from .gradebook import course_db_url, exercise_scores
    from .table import format_table, score_fraction

    test_cells = {name: [check.grade_id for check in record.checks]
                  for name, record in EXERCISES.items()}
    rows = []
    for sub in submissions:
        scores = exercise_scores(course_db_url(course), demo_assignment(), sub.student,
                                 test_cells) or {}
        row = {"student": sub.student, "what": sub.what}
        row.update({ex: f"{scores.get(ex, 0):g}" for ex in EXERCISES})
        row["total"] = score_fraction(sum(scores.values()), MAX_SCORE)
        rows.append(row)
    print(format_table(rows, ["student", "what", *EXERCISES, "total"]))


def demo(args) -> int:
    course = make_course_copy(Path(args.dir).resolve())
    assignment = demo_assignment()
    print(f"1/5 Generating the student edition in {course / 'release'}")
    release(course, assignment, publish=False)
    print("2/5 Writing a sample class into submitted/")
    submissions = write_sample_class(course)
    if args.plain_nbgrader:
        print(f"3/5 Autograding {len(submissions)} submissions with plain nbgrader")
        nbgrader(course, "autograde", assignment, "--force", quiet=True)
        print("4/5 Generating feedback HTML")
        nbgrader(course, "generate_feedback", assignment, "--force", quiet=True)
    else:
        from .batch.coordinator import Options, Refusal, run_batch

        print(f"3-4/5 Grading {len(submissions)} submissions with the batch grader "
              "(sandboxed, parallel; feedback included)")
        try:
            run_batch(Options(course, assignment=assignment, workers=args.workers,
                              sandbox=not args.no_sandbox))
        except Refusal as refusal:
            print(f"demo: {refusal}", file=sys.stderr)
            return 2
    print("5/5 Exporting grades to grades.csv")
    nbgrader(course, "export", quiet=True)
    print()
    print_scores(course, submissions)
    print(f"\nFeedback: {course / 'feedback'}\nGrades:   {course / 'grades.csv'}")
    if not args.plain_nbgrader:
        print(f"Reports:  {course / 'reports' / assignment}")
    return 0


def run_release(args) -> int:
    course = Path(args.course).resolve()
    released = release(course, args.assignment)
    print(f"Released {released} and copied it into {course / 'notebooks'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_grader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    release_parser = commands.add_parser(
        "release", help="regenerate an assignment's release/ and notebooks/ from source/")
    release_parser.add_argument("assignment", nargs="?", default=None,
                                help="its name in source/ (default: the only one there)")
    release_parser.add_argument("--course", default=str(COURSE_ROOT),
                                help="course folder (default: this repository)")
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
    run = {"grade": batch_cli.run, "export-lms": lms_cli.run, "release": run_release,
           "demo": demo}[args.command]
    try:
        return run(args)
    except (UnknownAssignment, student_edition.PublishRefused) as refused:  # says what to do
        print(f"{args.command}: {refused}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
