"""Grade one submission's answers outside the student's process: the trusted verdict.

``GradingSetup`` is everything grading needs from the course, read from the
instructor's source folder: the setup cell (trusted text), the provided
modules the release hands out, and which test cell checks which exercise
(the exercises' records, ``course_grader.assignments.initialization`` by default).
``grade_answers`` takes that setup and a submission's answer cells (plain
text) and returns a verdict per graded test cell.  Both are plain data, so the
same call works in the nbgrader process and in a remote worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..assignments.initialization import EXERCISES, checks
from ..assignments.initialization.record import Exercise as Record
from ..assignments.initialization.visible import structure_check
from ..cells import is_setup, is_test, nbgrader_meta
from .child import ChildOptions, Exercise, GraderBroken, RunnerPool, run_child, to_python


@dataclass
class GradingSetup:
    setup_code: str
    provided: dict[str, bytes]
    tests: dict[str, tuple[str, str, float]]  # test grade_id -> (exercise, part, points)
    trusted_markdown: set[str] = field(default_factory=set)
    exercises: dict[str, Record] = field(default_factory=lambda: dict(EXERCISES))

    @classmethod
    def from_source(cls, source_dir: Path, notebook: str,
                    exercises: dict[str, Record] = EXERCISES) -> GradingSetup:
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
        try:
            structure_check(provided)
        except LookupError as missing:
            raise GraderBroken(f"{missing}: the hidden checks use its structure check") \
                from None
        known = {check.grade_id: (name, check.part, float(check.points))
                 for name, record in exercises.items() for check in record.checks}
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
        return cls(setup, provided, tests, markdown, dict(exercises))

    @property
    def structure_problem(self):
        """The keys-and-shapes check of the provided visible checks (``visible.py``)."""
        return structure_check(self.provided)

    @classmethod
    def from_course(cls, course_root: Path, assignment: str, notebook: str) -> GradingSetup:
        return cls.from_source(Path(course_root) / "source" / assignment, notebook)


def answers_of(nb, exercises: dict[str, Record] = EXERCISES) -> dict[str, str]:
    """Each exercise's answer cell source (the last copy wins, as preflight keeps it)."""
    found = {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") is True and cell.get("cell_type") == "code":
            for name, record in exercises.items():
                if meta.get("grade_id") == record.answer_cell and \
                        isinstance(cell.get("source"), str):
                    found[name] = cell.source
    return found


def grade_answers(setup: GradingSetup, answers: dict[str, str], options: ChildOptions,
                  runners: RunnerPool | None = None) -> dict[str, tuple[checks.Verdict, float]]:
    """test grade_id -> (verdict, points awarded), decided here from the child's data
    (run by a runner of ``runners``, or by one of its own when None)."""
    needed = [setup.exercises[name] for name in sorted({ex for ex, _, _ in setup.tests.values()})]
    jobs = [Exercise(record.name, record.function, to_python(answers.get(record.name, "")),
                     checks.planned_calls(record.grading_dims)) for record in needed]
    results = run_child(setup.setup_code, setup.provided, jobs, options, runners)
    structure_problem = setup.structure_problem
    verdicts = {}
    for grade_id, (exercise, part, points) in setup.tests.items():
        verdict = checks.judge(setup.exercises[exercise], part, results[exercise],
                               structure_problem)
        verdicts[grade_id] = (verdict, points if verdict.passed else 0.0)
    return verdicts


def default_uid() -> int | None:
    """The first exercise uid for the child when we are root (None otherwise)."""
    from ..pipeline import VERDICT_UID

    return VERDICT_UID if os.geteuid() == 0 else None
