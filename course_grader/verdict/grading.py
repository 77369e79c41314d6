"""Grade one submission's answers outside the student's process: the trusted verdict.

``GradingSetup`` is everything grading needs from the course, read from the
instructor's source folder: the setup cell (trusted text), the provided
modules the release hands out, the assignment's declaration (``registry.py``
finds it) and which test cell checks which graded function.  ``grade_answers``
takes that setup and a submission's answer cells (plain text) and returns a
verdict per graded test cell.  An assignment without a declaration has a
setup with no tests: nbgrader's own test cells grade it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import nbformat

from ..cells import is_setup, is_test, nbgrader_meta
from .child import ChildOptions, GraderBroken, Job, run_child, to_python
from .declaration import Declaration, GradedFunction, Verdict
from .registry import declaration_for


@dataclass
class GradingSetup:
    setup_code: str
    provided: dict[str, bytes]
    tests: dict[str, tuple[str, str, float]]  # test grade_id -> (function's name, part, points)
    trusted_markdown: set[str] = field(default_factory=set)
    declaration: Declaration | None = None

    @classmethod
    def from_source(cls, source_dir: Path, notebook: str,
                    declaration: Declaration | None) -> GradingSetup:
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
        markdown = {c.source for c in nb.cells if c.cell_type == "markdown"}
        grading = cls(setup, provided, {}, markdown, declaration)
        if declaration is None:
            return grading
        grading.context  # noqa: B018 - a broken set-up is refused here, before anyone
        known = {test.grade_id: (function.name, test.part, float(test.points))
                 for function in declaration.exercises for test in function.tests}
        for cell in nb.cells:
            if is_test(cell):
                gid = nbgrader_meta(cell).get("grade_id")
                if gid not in known:
                    raise GraderBroken(f"test cell {gid!r} of {path.name} has no trusted "
                                       f"check in the declaration of "
                                       f"{declaration.assignment!r}; refusing to grade with it")
                grading.tests[gid] = known[gid]
        if not grading.tests:
            raise GraderBroken(f"{path.name} has no graded test cells")
        return grading

    @classmethod
    def from_course(cls, course_root: Path, assignment: str, notebook: str) -> GradingSetup:
        """The setup of ``assignment``, with the declaration the course gives it."""
        return cls.from_source(Path(course_root) / "source" / assignment, notebook,
                               declaration_for(assignment, Path(course_root)))

    @cached_property
    def context(self):
        """What the declaration's ``check_setup`` makes of the provided files (computed
        once per setup: the setup owns it, and nothing outlives it)."""
        check = self.declaration.check_setup if self.declaration is not None else None
        if check is None:
            return None
        try:
            return check(self.provided)
        except (LookupError, ValueError) as problem:
            raise GraderBroken(f"{problem}: the declaration of "
                               f"{self.declaration.assignment!r} needs it") from None

    @property
    def functions(self) -> dict[str, GradedFunction]:
        return self.declaration.by_name() if self.declaration is not None else {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("context", None)  # made again where it is used (it may hold course code)
        return state


def answers_of(nb, declaration: Declaration | None) -> dict[str, str]:
    """Each graded function's answer cell source (the last copy wins, as preflight keeps it)."""
    found: dict[str, str] = {}
    if declaration is None:
        return found
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") is True and cell.get("cell_type") == "code":
            for function in declaration.exercises:
                if meta.get("grade_id") == function.answer_cell and \
                        isinstance(cell.get("source"), str):
                    found[function.name] = cell.source
    return found


def grade_answers(setup: GradingSetup, answers: dict[str, str],
                  options: ChildOptions) -> dict[str, tuple[Verdict, float]]:
    """test grade_id -> (verdict, points awarded), decided here from the child's data."""
    functions = setup.functions
    needed = [functions[name] for name in sorted({name for name, _, _ in setup.tests.values()})]
    if not needed:
        return {}
    context = setup.context
    jobs = [Job(f.name, f.function, to_python(answers.get(f.name, "")),
                [call.to_json() for call in f.calls], f.returns) for f in needed]
    results = run_child(setup.setup_code, setup.provided, jobs, options)
    verdicts = {}
    for grade_id, (name, part, points) in setup.tests.items():
        verdict = functions[name].judge(part, results[name], context)
        if not isinstance(verdict, Verdict):
            raise GraderBroken(f"the judge of {name!r} returned {type(verdict).__name__}, "
                               "not a Verdict")
        verdicts[grade_id] = (verdict, points if verdict.passed else 0.0)
    return verdicts


def default_uid() -> int | None:
    """The first exercise uid for the child when we are root (None otherwise)."""
    from ..pipeline import VERDICT_UID

    return VERDICT_UID if os.geteuid() == 0 else None
