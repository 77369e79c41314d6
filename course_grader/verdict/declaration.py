"""What an assignment tells the generic verdict: its graded functions, as data.

An assignment declares itself in an instructor-only module that defines
``DECLARATION: Declaration`` at top level (``registry.py`` finds it by the
assignment's name).  For each graded function it gives the answer cell that
defines it, the test cells that score it, the calls the grader makes
(arguments the grader chooses, as JSON data or ``Array``), what comes back
(``returns``) and ``judge``, which turns the validated results of those calls
into one ``Verdict`` per test cell.  The runner, the intake and nbgrader's
steps work from this alone; nothing generic names an assignment.

Every record is checked when it is made, so a declaration that cannot be
sent to the runner fails when the grader starts, before anyone is graded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import numpy as np

# what a graded function hands back, as the runner describes it and the intake reads it
RETURN_KINDS = ("dict of arrays", "array", "number", "tuple")
# the intake reads at most this many calls per function (intake.MAX_CALLS)
MAX_CALLS = 16
MAX_ARRAY_ARGUMENT = 1 << 16  # elements of one Array argument


class DeclarationError(ValueError):
    """A declaration that the verdict cannot grade with (said when it is made)."""


@dataclass(frozen=True)
class Array:
    """An argument the runner turns into ``np.array(values, dtype=dtype)``."""

    values: list
    dtype: str = "float64"

    def __post_init__(self):
        try:
            kind = np.dtype(self.dtype).kind
            size = np.asarray(self.values, dtype=self.dtype).size
        except (TypeError, ValueError) as error:
            raise DeclarationError(f"Array({self.values!r:.60}, {self.dtype!r}): {error}") \
                from None
        if kind not in "biuf":
            raise DeclarationError(f"Array dtype {self.dtype!r} is not a plain number type")
        if size > MAX_ARRAY_ARGUMENT:
            raise DeclarationError(f"an Array argument of {size} elements is too large")
        _json_text(self.values)

    def to_json(self) -> dict:
        return {"array": self.values, "dtype": self.dtype}


@dataclass(frozen=True)
class Call:
    """One call of the graded function: ``function(*args)``.

    ``disturb`` reseeds numpy's global random stream just before the call (a
    function must not rely on the seed its caller happened to set)."""

    args: tuple
    disturb: int | None = None

    def __post_init__(self):
        if not isinstance(self.args, tuple):
            raise DeclarationError(f"Call args must be a tuple, not {type(self.args).__name__}")
        if self.disturb is not None and (type(self.disturb) is not int or
                                         not 0 <= self.disturb < 2**32):
            raise DeclarationError(f"Call disturb must be a seed (0 <= int < 2**32), not "
                                   f"{self.disturb!r}")
        for arg in self.args:
            if not isinstance(arg, Array):
                _json_text(arg)

    def to_json(self) -> dict:
        """The call as the runner reads it: each argument tagged as data or array."""
        return {"args": [arg.to_json() if isinstance(arg, Array) else {"data": arg}
                         for arg in self.args],
                "disturb": self.disturb}


@dataclass(frozen=True)
class TestCell:
    """One graded test cell (its nbgrader grade_id), the part it checks and its points."""

    __test__ = False  # a record, not a pytest class

    grade_id: str
    part: str
    points: float


@dataclass
class Verdict:
    """The decision on one test cell: passed, what the student is told, a diagnosis code."""

    passed: bool
    message: str
    code: str = "ok"


@dataclass(frozen=True)
class GradedFunction:
    """A function the student writes in one answer cell, and how it is graded.

    ``judge(part, result, context)`` gets a test cell's ``part``, the validated
    results of ``calls`` (``intake.ExerciseResult``, or None when nothing usable
    came back) and what the declaration's ``check_setup`` returned."""

    name: str  # short name: reports' column, the answers' key
    function: str  # the name the answer cell defines
    answer_cell: str  # grade_id of that answer cell
    tests: tuple[TestCell, ...]
    calls: tuple[Call, ...]
    returns: str  # one of RETURN_KINDS
    judge: Callable

    def __post_init__(self):
        if not self.function.isidentifier():
            raise DeclarationError(f"{self.name}: {self.function!r} is not a function name")
        if self.returns not in RETURN_KINDS:
            raise DeclarationError(f"{self.name}: returns={self.returns!r}; the verdict "
                                   f"reads back one of {', '.join(RETURN_KINDS)}")
        if not 1 <= len(self.calls) <= MAX_CALLS:
            raise DeclarationError(f"{self.name}: {len(self.calls)} calls; the verdict "
                                   f"makes between 1 and {MAX_CALLS}")
        if not all(isinstance(call, Call) for call in self.calls):
            raise DeclarationError(f"{self.name}: calls must be Call records")
        if not self.tests or not all(isinstance(test, TestCell) for test in self.tests):
            raise DeclarationError(f"{self.name}: tests must be one or more TestCell records")
        if not callable(self.judge):
            raise DeclarationError(f"{self.name}: judge must be callable")

    @property
    def points(self) -> float:
        return float(sum(test.points for test in self.tests))


@dataclass(frozen=True)
class Declaration:
    """An assignment's graded functions, in notebook order.

    ``check_setup(provided)`` gets the provided (released) files by name and
    returns the ``context`` every judge receives; raising LookupError or
    ValueError there means the grading set-up is broken (nobody is graded)."""

    assignment: str
    exercises: tuple[GradedFunction, ...]
    check_setup: Callable[[dict[str, bytes]], object] | None = None

    def __post_init__(self):
        if not self.exercises:
            raise DeclarationError(f"the declaration of {self.assignment!r} grades nothing")
        for attribute in ("name", "function", "answer_cell"):
            values = [getattr(exercise, attribute) for exercise in self.exercises]
            if len(set(values)) != len(values):
                raise DeclarationError(f"two graded functions of {self.assignment!r} share "
                                       f"a {attribute}")
        grade_ids = [test.grade_id for exercise in self.exercises for test in exercise.tests]
        if len(set(grade_ids)) != len(grade_ids):
            raise DeclarationError(f"a test cell of {self.assignment!r} is declared twice")

    def by_name(self) -> dict[str, GradedFunction]:
        return {exercise.name: exercise for exercise in self.exercises}


def _json_text(value) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as error:
        raise DeclarationError(f"a call argument is not plain JSON data ({error})") from None
