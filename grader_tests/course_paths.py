"""Paths and helpers shared by the test modules (imported by name, unlike conftest)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from course_grader.cells import grade_id_of

ROOT = Path(__file__).resolve().parent.parent
# the assignment most tests grade: its name in source/ and its notebook's nbgrader id
ASSIGNMENT = "initialization"
NOTEBOOK = "Initialization"
SOURCE_DIR = ROOT / "source" / ASSIGNMENT
SOURCE_NB = SOURCE_DIR / f"{NOTEBOOK}.ipynb"

# The provided modules are imported the way the notebook imports them.
if str(SOURCE_DIR) not in sys.path:
    sys.path.insert(0, str(SOURCE_DIR))


def execute_notebook(path: Path, cwd: Path, timeout: int = 300):
    """Run a notebook top to bottom in a real kernel; returns the executed copy."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def exercise_points(db_url: str, student: str) -> dict[str, float] | None:
    """Points per Initialization exercise the gradebook holds for ``student`` (None: not
    graded), from the test cells each exercise's record names."""
    from course_grader.assignments.initialization import EXERCISES
    from course_grader.gradebook import exercise_scores

    test_cells = {name: [check.grade_id for check in record.checks]
                  for name, record in EXERCISES.items()}
    return exercise_scores(db_url, ASSIGNMENT, student, test_cells)


def cells_by_grade_id(nb) -> dict:
    """grade_id -> cell, for every cell nbgrader grades, locks or tracks."""
    return {grade_id_of(cell): cell for cell in nb.cells if grade_id_of(cell)}
