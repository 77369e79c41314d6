"""Names and places of the Initialization assignment that every grading tool shares.

The exercises themselves, their cells and points, are records in
``course_grader.assignments.initialization``.
"""

from __future__ import annotations

from pathlib import Path

from .assignments.initialization import EXERCISES, MAX_SCORE

ASSIGNMENT = "initialization"
NOTEBOOK = "Initialization"  # nbgrader notebook id (file name without .ipynb)
COURSE_ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ASSIGNMENT", "COURSE_ROOT", "EXERCISES", "MAX_SCORE", "NOTEBOOK"]
