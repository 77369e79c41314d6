"""Reading nbgrader's grading metadata from a cell, safely for any JSON a student sent."""

from __future__ import annotations


def nbgrader_meta(cell) -> dict:
    """The cell's ``metadata.nbgrader`` dict, or {} when missing or not a dict."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def is_test(cell) -> bool:
    """A graded test cell: code, worth points, not an answer."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and meta.get("grade") is True \
        and not meta.get("solution")


def is_setup(cell) -> bool:
    """A locked code cell that is neither an answer nor a test: the course's own code."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("locked")) \
        and not meta.get("grade") and not meta.get("solution")
