"""Shared fixtures: paths, the executed source notebook, a graded sample class."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "source" / "initialization"
SOURCE_NB = SOURCE_DIR / "Initialization.ipynb"

# The provided modules are imported the way the notebook imports them.
sys.path.insert(0, str(SOURCE_DIR))


def execute_notebook(path: Path, cwd: Path, timeout: int = 300):
    """Run a notebook top to bottom in a real kernel; returns the executed copy."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


@pytest.fixture(scope="session")
def executed_source_notebook():
    """The master notebook, executed once per test session in source/initialization."""
    return execute_notebook(SOURCE_NB, SOURCE_DIR)


@pytest.fixture(scope="session")
def graded_sample_class(tmp_path_factory):
    """A temporary course with the sample class autograded by real nbgrader.

    Returns ``(course_dir, submissions)``.
    """
    from course_grader.cli import make_course_copy, release, write_sample_class
    from course_grader.nbgrader_run import nbgrader

    course = make_course_copy(tmp_path_factory.mktemp("sample") / "course")
    release(course, publish=False)
    submissions = write_sample_class(course)
    nbgrader(course, "autograde", "initialization", "--force", quiet=True)
    nbgrader(course, "generate_feedback", "initialization", "--force", quiet=True)
    return course, submissions


def cells_by_grade_id(nb) -> dict:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells
            if "nbgrader" in cell.get("metadata", {})
            and "grade_id" in cell.metadata["nbgrader"]}
