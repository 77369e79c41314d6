"""Facts about the Initialization assignment that every grading tool shares.

One place names the assignment, its notebook, and which graded cells make up
each exercise, so the batch grader, the reports and the tests agree.
"""

from __future__ import annotations

from pathlib import Path

ASSIGNMENT = "initialization"
NOTEBOOK = "Initialization"  # nbgrader notebook id (file name without .ipynb)
COURSE_ROOT = Path(__file__).resolve().parent.parent

# exercise -> (function the student writes, [(grade_id, points), ...])
EXERCISES = {
    "zeros": ("initialize_parameters_zeros", [("zeros_structure", 4), ("zeros_values", 6)]),
    "random": ("initialize_parameters_random", [("random_structure", 4), ("random_values", 6)]),
    "he": ("initialize_parameters_he", [("he_structure", 4), ("he_values", 6)]),
}
ANSWER_CELLS = {exercise: f"{exercise}_answer" for exercise in EXERCISES}
MAX_SCORE = sum(points for _, cells in EXERCISES.values() for _, points in cells)


def exercise_of(grade_id: str) -> str | None:
    """The exercise a graded cell belongs to, or None for cells outside them."""
    for exercise, (_, cells) in EXERCISES.items():
        if grade_id in {cell for cell, _ in cells} or grade_id == ANSWER_CELLS[exercise]:
            return exercise
    return None


def exercise_max(exercise: str) -> float:
    return float(sum(points for _, points in EXERCISES[exercise][1]))
