"""What kind of cell this is to nbgrader, safely for any JSON a student sent.

The decisions are nbgrader's own (``nbgrader.utils``: is_grade, is_solution,
is_locked, is_task); this module only hands them the cell's grading metadata
when it is a dict, so a cell whose ``metadata`` or ``metadata.nbgrader`` is a
list, a string or missing is an ordinary cell instead of an exception.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbgrader import utils


def nbgrader_meta(cell) -> dict:
    """The cell's ``metadata.nbgrader`` dict, or {} when missing or not a dict."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def _node(cell) -> NotebookNode:
    # nbgrader.utils reads cell.metadata["nbgrader"] and trusts it to be a dict
    return NotebookNode(metadata=NotebookNode(nbgrader=nbgrader_meta(cell)))


def _is_code(cell) -> bool:
    return isinstance(cell, dict) and cell.get("cell_type") == "code"


def is_grade(cell) -> bool:
    """A cell worth points: a test cell, or an answer cell graded by hand."""
    return bool(utils.is_grade(_node(cell)))


def is_solution(cell) -> bool:
    """An answer cell (the student writes in it)."""
    return bool(utils.is_solution(_node(cell)))


def is_locked(cell) -> bool:
    """A cell nbgrader restores from the release: tests and locked cells, never answers."""
    return bool(utils.is_locked(_node(cell)))


def is_test(cell) -> bool:
    """A graded test cell: code, worth points, not an answer."""
    node = _node(cell)
    return _is_code(cell) and utils.is_grade(node) is True and not utils.is_solution(node)


def is_setup(cell) -> bool:
    """A locked code cell that is neither an answer nor a test: the course's own code."""
    node = _node(cell)
    return _is_code(cell) and bool(utils.is_locked(node)) and not utils.is_grade(node)


def grade_id_of(cell) -> str | None:
    """The ``grade_id`` of a cell nbgrader grades, locks or tracks; None for any other."""
    node = _node(cell)
    if utils.is_grade(node) or utils.is_solution(node) or utils.is_locked(node) \
            or utils.is_task(node):
        found = nbgrader_meta(cell).get("grade_id")
        return found if isinstance(found, str) else None
    return None
