"""Grade one submission's answers outside the student's process: the trusted verdict.

``GradingSetup`` is everything grading needs from the course, read from the
instructor's source folder: the setup cell (trusted text), the provided
modules the release hands out, and which test cell checks which exercise.
``grade_answers`` takes that setup and a submission's answer cells (plain
text) and returns a verdict per graded test cell.  Both are plain data, so the
same call works in the nbgrader process and in a remote worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .. import reference
from ..assignment import ANSWER_CELLS, EXERCISES
from ..cells import is_setup, is_test, nbgrader_meta
from . import checks
from .child import ChildOptions, Exercise, GraderBroken, run_child, to_python


@dataclass
class GradingSetup:
    setup_code: str
    provided: dict[str, bytes]
    tests: dict[str, tuple[str, str, float]]  # test grade_id -> (exercise, part, points)
    trusted_markdown: set[str] = field(default_factory=set)

    @classmethod
    def from_source(cls, source_dir: Path, notebook: str) -> GradingSetup:
        """Read the instructor's notebook and provided files; refuse a mismatch loudly."""
        path = source_dir / f"{notebook}.ipynb"
        if not path.is_file():
            raise GraderBroken(f"the source notebook {path} is missing")
        nb = nbformat.read(path, as_version=4)
        setup = "\n".join(to_python(c.source) for c in nb.cells if is_setup(c))
        provided = {}
        for item in sorted(source_dir.iterdir()):
            if item.is_file() and not item.name.startswith(".") and item.suffix != ".ipynb":
                provided[item.name] = item.read_bytes()
        known = {gid: (ex, gid.rsplit("_", 1)[1], float(points))
                 for ex, (_, cells) in EXERCISES.items() for gid, points in cells}
        tests = {}
        for cell in nb.cells:
            if is_test(cell):
                gid = nbgrader_meta(cell).get("grade_id")
                if gid not in known:
                    raise GraderBroken(f"test cell {gid!r} of {path.name} has no trusted "
                                       "check in course_grader; refusing to grade with it")
                tests[gid] = known[gid]
        if not tests:
            raise GraderBroken(f"{path.name} has no graded test cells")
        markdown = {c.source for c in nb.cells if c.cell_type == "markdown"}
        return cls(setup, provided, tests, markdown)

    @classmethod
    def from_course(cls, course_root: Path, assignment: str, notebook: str) -> GradingSetup:
        return cls.from_source(Path(course_root) / "source" / assignment, notebook)


def answers_of(nb) -> dict[str, str]:
    """Each exercise's answer cell source (the last copy wins, as preflight keeps it)."""
    found = {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") is True and cell.get("cell_type") == "code":
            for exercise, grade_id in ANSWER_CELLS.items():
                if meta.get("grade_id") == grade_id and isinstance(cell.get("source"), str):
                    found[exercise] = cell.source
    return found


def grade_answers(setup: GradingSetup, answers: dict[str, str],
                  options: ChildOptions) -> dict[str, tuple[checks.Verdict, float]]:
    """test grade_id -> (verdict, points awarded), decided here from the child's data."""
    exercises_needed = sorted({ex for ex, _, _ in setup.tests.values()})
    calls = checks.planned_calls()
    jobs = [Exercise(ex, EXERCISES[ex][0], to_python(answers.get(ex, "")), calls)
            for ex in exercises_needed]
    results = run_child(setup.setup_code, setup.provided, jobs, options)
    verdicts = {}
    for grade_id, (exercise, part, points) in setup.tests.items():
        verdict = checks.judge(exercise, part, EXERCISES[exercise][0], results[exercise],
                               reference.HIDDEN_DIMS)
        verdicts[grade_id] = (verdict, points if verdict.passed else 0.0)
    return verdicts


def default_uid() -> int | None:
    """The first exercise uid for the child when we are root (None otherwise)."""
    from ..pipeline import VERDICT_UID

    return VERDICT_UID if os.geteuid() == 0 else None
