"""``TrustedVerdict`` before any student code runs: which assignment it grades, and how
it reports a broken set-up (to the call that asked, never through module state).

No grading child starts here: each case stops before one would.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
from tiny import error, release
from traitlets.config import Config

from course_grader.verdict.child import GraderBroken
from course_grader.verdict.preprocessor import TrustedVerdict
from course_paths import SOURCE_DIR


def step(root, **traits):
    return TrustedVerdict(sandboxed=False, config=Config(
        {"CourseDirectory": {"root": str(root)}, "TrustedVerdict": traits}))


def resources(assignment, notebook):
    return {"nbgrader": {"assignment": assignment, "notebook": notebook}}


@pytest.fixture
def without_self_check(tmp_path):
    """The Initialization course with its structure check (self_check.py) gone."""
    source = tmp_path / "course" / "source" / "initialization"
    shutil.copytree(SOURCE_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    (source / "self_check.py").unlink()
    return tmp_path / "course"


def test_a_broken_setup_is_written_where_the_caller_asked(without_self_check, tmp_path):
    where = tmp_path / "state" / "broken.txt"
    where.parent.mkdir()
    nb = nbformat.read(without_self_check / "source" / "initialization" /
                       "Initialization.ipynb", 4)
    with pytest.raises(GraderBroken, match="self_check.py"):
        step(without_self_check, broken_path=str(where)).preprocess(
            nb, resources("initialization", "Initialization"))
    assert "the source folder has no self_check.py" in where.read_text()
    # a grading with no file named raises the same and writes nowhere
    where.unlink()
    with pytest.raises(GraderBroken, match="self_check.py"):
        step(without_self_check).preprocess(nb, resources("initialization", "Initialization"))
    assert list(where.parent.iterdir()) == []


def test_a_missing_configured_declaration_is_a_broken_setup(tmp_path):
    root = tmp_path / "course"
    (root / "source" / "doubling").mkdir(parents=True)
    nbformat.write(release(), root / "source" / "doubling" / "Doubling.ipynb")
    where = tmp_path / "broken.txt"
    pre = TrustedVerdict(sandboxed=False, config=Config({
        "CourseDirectory": {"root": str(root)}, "TrustedVerdict": {"broken_path": str(where)},
        "AssignmentDeclarations": {"modules": {"doubling": "no_such_grading_module"}}}))
    with pytest.raises(GraderBroken, match="no_such_grading_module"):
        pre.preprocess(release(), resources("doubling", "Doubling"))
    assert "'no_such_grading_module' cannot be imported" in where.read_text()


def test_without_a_declaration_the_executed_outputs_stay(tmp_path, caplog):
    root = tmp_path / "course"
    (root / "source" / "doubling").mkdir(parents=True)
    nbformat.write(release(), root / "source" / "doubling" / "Doubling.ipynb")
    nb = release()
    nb.cells[-1].outputs = [error("AssertionError", "")]  # as the kernel left it
    before = nbformat.writes(nb)
    pre = step(root, broken_path=str(tmp_path / "broken.txt"))
    with caplog.at_level("INFO"):
        out, res = pre.preprocess(nb, resources("doubling", "Doubling"))
    assert nbformat.writes(out) == before and "course_grader" not in res
    assert "No grading declaration for assignment 'doubling'" in caplog.text
    assert not (tmp_path / "broken.txt").exists()
