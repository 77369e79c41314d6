"""Paths and helpers shared by the test modules (imported by name, unlike conftest)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from course_grader.cells import grade_id_of

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "source" / "initialization"
SOURCE_NB = SOURCE_DIR / "Initialization.ipynb"

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


def cells_by_grade_id(nb) -> dict:
    """grade_id -> cell, for every cell nbgrader grades, locks or tracks."""
    return {grade_id_of(cell): cell for cell in nb.cells if grade_id_of(cell)}
