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

from ..assignment import ASSIGNMENT, EXERCISES, NOTEBOOK


def driver_url(url: str) -> str:
    """Name psycopg2 explicitly: SQLAlchemy's default PostgreSQL driver is psycopg 3,
    which the course does not install."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


EXPECTED = {cell: float(points) for _, cells in EXERCISES.values() for cell, points in cells}


def snapshot(db_url: str) -> dict[str, dict[str, float]]:
    """student -> {grade_id: score} for every submission of the assignment."""
    out: dict[str, dict[str, float]] = {}
    with Gradebook(db_url) as gb:
        try:
            assignment = gb.find_assignment(ASSIGNMENT)
        except MissingEntry:
            return out
        for submission in assignment.submissions:
            for nb in submission.notebooks:
                if nb.name == NOTEBOOK:
                    out[submission.student.id] = {g.name: float(g.score or 0.0)
                                                  for g in nb.grades}
    return out


def check(db_url: str, expected_rows: dict[str, dict[str, float]]) -> list[str]:
    """Problems found (empty list: the gradebook is sound)."""
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
            assignment = gb.find_assignment(ASSIGNMENT)
        except MissingEntry:
            return problems + [f"assignment {ASSIGNMENT!r} is not in the gradebook"]
        cells = {c.name: float(c.max_score) for nb in assignment.notebooks
                 for c in nb.grade_cells}
        if cells != EXPECTED:
            problems.append(f"graded cells in the gradebook {cells} differ from {EXPECTED}")
    rows = snapshot(db_url)
    for student, grades in rows.items():
        if set(grades) != set(EXPECTED):
            problems.append(f"{student}: graded cells {sorted(grades)}")
        for cell, score in grades.items():
            if not 0.0 <= score <= EXPECTED.get(cell, 0.0):
                problems.append(f"{student}: {cell} scored {score} of {EXPECTED.get(cell)}")
    for student, grades in expected_rows.items():
        if rows.get(student) != grades:
            problems.append(f"{student}: gradebook rows changed after the student's own run "
                            f"({grades} -> {rows.get(student)})")
    return problems
