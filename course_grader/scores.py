"""Read per-exercise scores out of an nbgrader gradebook."""

from __future__ import annotations

from nbgrader.api import Gradebook, MissingEntry

from .assignment import ASSIGNMENT, EXERCISES, NOTEBOOK


def exercise_scores(db_url: str, student: str) -> dict[str, float] | None:
    """Points per exercise for ``student``, or None if nothing was graded for them."""
    with Gradebook(db_url) as gb:
        try:
            nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        except MissingEntry:
            return None
        by_cell = {grade.name: grade.score for grade in nb.grades}
    return {name: float(sum(by_cell.get(check.grade_id, 0.0) or 0.0 for check in record.checks))
            for name, record in EXERCISES.items()}


def format_table(rows: list[dict], columns: list[str]) -> str:
    """A plain aligned text table; ``rows`` are dicts keyed by ``columns``."""
    texts = [[str(row.get(col, "")) for col in columns] for row in rows]
    widths = [max(len(col), *(len(t[i]) for t in texts)) if texts else len(col)
              for i, col in enumerate(columns)]
    line = "  ".join(col.ljust(w) for col, w in zip(columns, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(t.ljust(w) for t, w in zip(row, widths)) for row in texts]
    return "\n".join(out)
