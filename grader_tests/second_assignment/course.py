"""Put the "activations" assignment into a course folder, as a course engineer would.

Three things and nothing of ``course_grader/``: the master notebook under
``source/activations/``, the declaration beside the course (outside
``source/``, which is copied to students), and one line of
``nbgrader_config.py`` naming the declaration by its path from the course root.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .samples import ASSIGNMENT, NOTEBOOK

HERE = Path(__file__).resolve().parent
MASTER = HERE / f"{NOTEBOOK}.ipynb"
DECLARATION_FILE = HERE / "declaration.py"
# where the course keeps it: instructor-only, never released
DECLARATION_IN_COURSE = Path("declarations") / f"{ASSIGNMENT}.py"


def add_assignment(course: Path, declared: bool = True) -> Path:
    """Copy the master notebook in; with ``declared``, the declaration and its config line.

    Without ``declared`` the course grades the assignment with nbgrader's ordinary test
    cells (their hidden tests run in the kernel)."""
    source = course / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copyfile(MASTER, source / MASTER.name)
    if declared:
        target = course / DECLARATION_IN_COURSE
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DECLARATION_FILE, target)
        with open(course / "nbgrader_config.py", "a") as config:
            config.write("\n# the second assignment's declaration, by its path from here\n"
                         "c.AssignmentDeclarations.modules = "
                         f"{{{ASSIGNMENT!r}: {str(DECLARATION_IN_COURSE)!r}}}\n")
    return source
