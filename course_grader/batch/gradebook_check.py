"""Integrity check of the gradebook after a batch.

Checks what a hostile or crashed run could have broken: the database file
itself (SQLite's own check), every submission having exactly the
assignment's graded cells with scores inside [0, max], and each student's
rows still equal to what was read right after that student's own run, so
no later run changed them.
"""

from __future__ import annotations

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import create_engine, text

from .outcome import AssignmentSpec


def snapshot(db_url: str, spec: AssignmentSpec) -> dict[str, dict[str, float]]:
    """student -> {grade_id: score} for every submission of the assignment."""
    out: dict[str, dict[str, float]] = {}
    with Gradebook(db_url) as gb:
        try:
            assignment = gb.find_assignment(spec.name)
        except MissingEntry:
            return out
        for submission in assignment.submissions:
            for nb in submission.notebooks:
                if nb.name == spec.notebook:
                    out[submission.student.id] = {g.name: float(g.score or 0.0)
                                                  for g in nb.grades}
    return out


def check(db_url: str, spec: AssignmentSpec,
          expected_rows: dict[str, dict[str, float]]) -> list[str]:
    """Problems found (empty list: the gradebook is sound).

    ``spec.cells`` was read from this gradebook when the batch started, so a
    difference means the assignment changed under the batch."""
    expected = spec.cells
    problems = []
    if db_url.startswith("sqlite"):
        engine = create_engine(db_url)
        with engine.connect() as conn:
            verdict = conn.execute(text("PRAGMA integrity_check")).scalar()
        engine.dispose()
        if verdict != "ok":
            problems.append(f"SQLite integrity_check: {verdict}")
    with Gradebook(db_url) as gb:
        try:
            assignment = gb.find_assignment(spec.name)
        except MissingEntry:
            return problems + [f"assignment {spec.name!r} is not in the gradebook"]
        cells = {c.name: float(c.max_score) for nb in assignment.notebooks
                 for c in nb.grade_cells if nb.name == spec.notebook}
        if cells != expected:
            problems.append(f"graded cells in the gradebook {cells} differ from {expected}")
    rows = snapshot(db_url, spec)
    for student, grades in rows.items():
        if set(grades) != set(expected):
            problems.append(f"{student}: graded cells {sorted(grades)}")
        for cell, score in grades.items():
            if not 0.0 <= score <= expected.get(cell, 0.0):
                problems.append(f"{student}: {cell} scored {score} of {expected.get(cell)}")
    for student, grades in expected_rows.items():
        if rows.get(student) != grades:
            problems.append(f"{student}: gradebook rows changed after the student's own run "
                            f"({grades} -> {rows.get(student)})")
    return problems
