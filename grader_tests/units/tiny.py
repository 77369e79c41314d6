"""Tiny in-memory notebooks with nbgrader metadata, in the style of nbgrader's own tests.

One setup cell, one answer cell and one test cell worth 2 points: enough for
every repair, status and report the class grader makes, without running
nbgrader or a kernel.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_grader.batch.outcome import AssignmentSpec
from course_grader.cells import grade_id_of

ANSWER_SOURCE = "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
TEST_SOURCE = "assert double(1) == 2\n### BEGIN HIDDEN TESTS\nassert double(5) == 10\n" \
              "### END HIDDEN TESTS"


def graded_cell(cell, grade_id: str, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
            "schema_version": 3}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def setup_cell():
    return graded_cell(new_code_cell("import math"), "setup", locked=True)


def answer_cell(source: str = ANSWER_SOURCE):
    return graded_cell(new_code_cell(source), "double_answer", solution=True)


def check_cell(points: float = 2):
    return graded_cell(new_code_cell(TEST_SOURCE), "double_test", grade=True, locked=True,
                       points=points)


def release():
    """The released notebook: intro, setup, answer, test."""
    nb = new_notebook()
    nb.cells = [new_markdown_cell("# Doubling"), setup_cell(), answer_cell(), check_cell()]
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
    return nb


def copy_of(nb):
    return copy.deepcopy(nb)


def ids(nb) -> list:
    """The grade id of every cell, None where nbgrader does not grade or lock it."""
    return [grade_id_of(c) for c in nb.cells]


def error(ename: str, evalue: str, traceback: list[str] | None = None):
    return new_output("error", ename=ename, evalue=evalue,
                      traceback=traceback if traceback is not None else [f"{ename}: {evalue}"])


# what the class grader knows of the tiny assignment, plus a second exercise worth 3
SPEC = AssignmentSpec(name="doubling", notebook="Doubling",
                      cells={"double_test": 2.0, "other": 3.0},
                      exercises={"double": ["double_test"], "other": ["other"]})


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path
