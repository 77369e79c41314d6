"""The Initialization assignment as the generic verdict sees it: ``declaration()``.

Each exercise record becomes one graded function: called on the grading
layer sizes (``checks.planned_calls``), returning a dict of arrays, judged by
``checks.judge``; the students' own structure check (``visible.py``) is the
set-up check whose result every judge receives.
"""

from __future__ import annotations

from functools import partial

from ...verdict.declaration import Declaration, GradedFunction, TestCell
from . import checks
from .record import Exercise
from .visible import structure_check

ASSIGNMENT = "initialization"  # the nbgrader assignment (source/initialization/)


def graded_function(record: Exercise) -> GradedFunction:
    return GradedFunction(
        name=record.name, function=record.function, answer_cell=record.answer_cell,
        tests=tuple(TestCell(c.grade_id, c.part, c.points) for c in record.checks),
        calls=checks.planned_calls(record.grading_dims), returns="dict of arrays",
        judge=partial(checks.judge, record))


def declaration(exercises: dict[str, Exercise]) -> Declaration:
    """The declaration of these records, in their order."""
    return Declaration(ASSIGNMENT, tuple(graded_function(r) for r in exercises.values()),
                       check_setup=structure_check)
