"""Shared fixtures: the executed source notebook and a graded sample class."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
# nbgrader's Gradebook runs the `alembic` program of its environment: reach it when the
# suite is started as .venv/bin/python -m pytest, without tasks.py putting .venv/bin on PATH
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                      os.environ.get("PATH", "")])
from course_paths import SOURCE_DIR, SOURCE_NB, execute_notebook  # noqa: E402


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


@pytest.fixture(scope="session")
def chromium_context(tmp_path_factory):
    """Debian's Chromium, shared by the browser and the hub tests (one per session)."""
    from browser.chromium import open_context

    yield from open_context(tmp_path_factory)
