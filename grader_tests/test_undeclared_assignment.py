"""An assignment without a declaration is graded by nbgrader's own test cells, by plain
``nbgrader autograde`` and by the class grader alike; a declaration the course names
but that cannot be loaded stops grading before anyone is graded.

The course is the Initialization course's config with one tiny notebook of its
own ("doubling": a setup, an answer and a test cell worth 2 points; the
notebooks of ``units/tiny.py``), for which no declaration exists anywhere.
"""

from __future__ import annotations

import io
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.api import Gradebook

from course_grader.batch.coordinator import Options, Refusal, run_batch
from course_grader.cells import grade_id_of
from course_grader.nbgrader_run import nbgrader
from course_grader.sandbox.bubblewrap import Limits
from course_paths import ROOT

pytestmark = [pytest.mark.nbgrader, pytest.mark.sandbox, pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap missing: apt-get install bubblewrap")]

ASSIGNMENT, NOTEBOOK = "doubling", "Doubling"
SOLUTION = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
TEST = "assert double(1) == 2\n### BEGIN HIDDEN TESTS\nassert double(5) == 10\n" \
       "### END HIDDEN TESTS"
LIMITS = Limits(cell_timeout=30, notebook_timeout=120)
# passes the visible assert only: nbgrader's hidden assert gives it 0
VISIBLE_ONLY = "def double(x):\n    return 2 if x == 1 else 0"


def _cell(source, grade_id, **flags):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False,
                                 "grade_id": grade_id, "schema_version": 3, **flags}
    return cell


def _source_notebook():
    nb = new_notebook()
    nb.cells = [new_markdown_cell("# Doubling"),
                _cell("import math", "setup", locked=True),
                _cell(SOLUTION, "double_answer", solution=True),
                _cell(TEST, "double_test", grade=True, locked=True, points=2)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def _submit(course, student, answer):
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)
    for cell in release.cells:
        if answer is not None and grade_id_of(cell) == "double_answer":
            cell.source = answer
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(release, folder / f"{NOTEBOOK}.ipynb")


def _course(root, extra_config: str = ""):
    root.mkdir(parents=True)
    config = (ROOT / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(config + extra_config)
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    nbformat.write(_source_notebook(), source / f"{NOTEBOOK}.ipynb")
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force", quiet=True)
    _submit(root, "ada_right", SOLUTION.replace("### BEGIN SOLUTION\n    ", "")
            .replace("\n    ### END SOLUTION", ""))
    _submit(root, "ben_untouched", None)
    _submit(root, "cleo_visible_only", VISIBLE_ONLY)
    return root


EXPECTED = {"ada_right": 2.0, "ben_untouched": 0.0, "cleo_visible_only": 0.0}


def _scores(course) -> dict:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s: gb.find_submission(ASSIGNMENT, s).score for s in EXPECTED}


def test_plain_autograde_grades_it_with_its_own_test_cells(tmp_path):
    course = _course(tmp_path / "course")
    done = nbgrader(course, "autograde", ASSIGNMENT, "--force", quiet=True)
    assert "No grading declaration for assignment 'doubling'" in done.stderr
    assert _scores(course) == EXPECTED


def test_the_class_grader_runs_the_notebook_and_says_why(tmp_path):
    course = _course(tmp_path / "course")
    out = io.StringIO()
    batch = run_batch(Options(course, ASSIGNMENT, workers=1, limits=LIMITS,
                              progress=False, engine="forked"), out=out)
    assert "No grading declaration for 'doubling'" in out.getvalue()
    assert "every cell run in a kernel" in out.getvalue()
    assert {r.student: r.score for r in batch.results} == EXPECTED
    assert {r.student: r.status for r in batch.results} == dict.fromkeys(EXPECTED, "graded")
    assert _scores(course) == EXPECTED


MISSING = '\nc.AssignmentDeclarations.modules = {"doubling": "grading/doubling.py"}\n'


def test_a_configured_declaration_that_is_missing_grades_nobody(tmp_path):
    course = _course(tmp_path / "course", MISSING)
    with pytest.raises(Refusal, match="declaration file 'grading/doubling.py'"):
        run_batch(Options(course, ASSIGNMENT, workers=1, limits=LIMITS, progress=False))
    assert not (course / "autograded").exists()
    # plain nbgrader cannot stop the class: every student fails, with the reason logged
    done = nbgrader(course, "autograde", ASSIGNMENT, "--force", quiet=True, check=False)
    assert done.returncode != 0
    assert done.stderr.count("declaration file 'grading/doubling.py'") >= len(EXPECTED)
    assert not any((course / "autograded").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}.ipynb"))
