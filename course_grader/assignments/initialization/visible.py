"""The structure check the students' self_check.py and the hidden checks share.

The notebook's visible checks ship to students in ``self_check.py``, which
must run on its own (numpy only).  Rather than a second copy here, the grader
runs that file's ``structure_problem``, read from the instructor's source
folder: course text the grader trusts like the notebook itself, never the
copy in a student's folder.
"""

from __future__ import annotations

import types
from typing import Callable

VISIBLE_CHECKS = "self_check.py"  # the provided module the notebook's test cells call


def structure_check(provided: dict[str, bytes]) -> Callable:
    """``structure_problem(keys, values, dims)`` of the provided visible checks: the
    declaration's ``check_setup`` (each grading setup runs the file once and keeps it).

    Raises LookupError when the file or the function is missing.
    """
    if VISIBLE_CHECKS not in provided:
        raise LookupError(f"the source folder has no {VISIBLE_CHECKS}")
    module = types.ModuleType("course_visible_checks")
    module.__file__ = VISIBLE_CHECKS
    exec(compile(provided[VISIBLE_CHECKS], VISIBLE_CHECKS, "exec"),  # noqa: S102 - course text
         module.__dict__)
    function = getattr(module, "structure_problem", None)
    if not callable(function):
        raise LookupError(f"{VISIBLE_CHECKS} has no structure_problem(keys, values, dims)")
    return function
