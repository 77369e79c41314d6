"""What one graded exercise is, as data: its cells, points, rule and typical mistakes.

The hidden checks, the sample class, the reports and the tests read these
records instead of naming exercises; adding an exercise means adding its
notebook cells, one record (``exercises.py``) and its sample submissions.
"""

from __future__ import annotations

from dataclasses import dataclass

from .reference import Weights, layers

# Layer sizes every graded function is called on by the hidden checks.  All
# but the last are sizes the notebook never shows; [2, 10, 5, 1] is the
# notebook's own network, so a function that only works there still fails
# elsewhere, and one that fails on the real network is caught too.  The wide
# fan-out case sets scales by the fan-in (He, Xavier) far apart from scales by
# the fan-out or by both (Glorot).
GRADING_DIMS = ((4, 7, 3, 5, 1), (6, 1), (100, 1000), (2, 10, 5, 1))


@dataclass(frozen=True)
class Check:
    """One graded test cell of the notebook and what it checks."""

    grade_id: str
    part: str  # "structure" (keys, shapes, dtypes) or "values"
    points: float


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: the weights it gives, and what the student is told."""

    code: str  # ends the message as "[diagnosis: <code>]" so reports can count it
    weights: Weights
    message: str


@dataclass(frozen=True)
class CallHint:
    """A usual slip in calling numpy, recognised by the error it raises."""

    error: str  # the exception's type name
    fragment: str  # a piece of its message
    hint: str  # one line a student understands


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: a function the student writes in one answer cell."""

    name: str  # short name: reports' column, sample answers' key
    function: str  # the function the answer cell defines
    checks: tuple[Check, ...]  # its graded test cells, in notebook order
    weights: Weights  # the rule the correct answer follows
    recipe: str  # that rule in the notebook's words, for messages
    example_dims: tuple[int, ...]  # the layer sizes the notebook's example uses
    mistakes: tuple[Mistake, ...] = ()  # most specific first: the first match is named
    grading_dims: tuple[tuple[int, ...], ...] = GRADING_DIMS
    # more sizes the visible check tries, shown in the notebook (never a grading size)
    more_example_dims: tuple[tuple[int, ...], ...] = ()

    @property
    def visible_dims(self) -> tuple[tuple[int, ...], ...]:
        """Every size the visible checks call the function on, the example's first."""
        return (self.example_dims, *self.more_example_dims)

    @property
    def answer_cell(self) -> str:
        return f"{self.name}_answer"

    @property
    def points(self) -> float:
        return float(sum(check.points for check in self.checks))

    def reference(self, dims) -> dict:
        """The correct parameters for ``dims``."""
        return layers(self.weights, dims)
