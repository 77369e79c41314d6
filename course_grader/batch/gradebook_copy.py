"""The assignment's definition out of the gradebook as plain data, and back into a private one.

Workers never reach the course's gradebook.  What nbgrader needs from it to
autograde one student (the notebooks, their graded, solution, task and source
cells, so ``OverwriteCells`` can restore locked cells and ``SaveAutoGrades``
can score) travels with each task as plain data; the worker rebuilds a
throw-away SQLite gradebook from it for each student.  Only the coordinator
writes the real gradebook (``save_graded.py``).
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry


class NotInGradebook(LookupError):
    pass


def export_definition(db_url: str, assignment: str) -> dict:
    """Everything nbgrader stores about ``assignment`` except students and grades."""
    with Gradebook(db_url) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            raise NotInGradebook(assignment) from None
        notebooks = []
        for nb in sorted(found.notebooks, key=lambda n: n.name):
            notebooks.append({
                "name": nb.name, "kernelspec": nb.kernelspec,
                "grade_cells": [{"name": c.name, "max_score": float(c.max_score),
                                 "cell_type": c.cell_type} for c in nb.grade_cells],
                "task_cells": [{"name": c.name, "max_score": float(c.max_score),
                                "cell_type": c.cell_type} for c in nb.task_cells],
                "solution_cells": [{"name": c.name} for c in nb.solution_cells],
                "source_cells": [{"name": c.name, "cell_type": c.cell_type, "locked": c.locked,
                                  "source": c.source, "checksum": c.checksum}
                                 for c in nb.source_cells]})
        return {"name": found.name, "course_id": found.course_id, "duedate": found.duedate,
                "notebooks": notebooks, "alembic_version": _alembic_version(gb)}


def _alembic_version(gb: Gradebook) -> str | None:
    """The schema version nbgrader stamped on the course's gradebook (None: not stamped)."""
    from sqlalchemy import text

    try:
        row = gb.db.execute(text("SELECT version_num FROM alembic_version")).first()
    except Exception:  # noqa: BLE001 - no such table: the copy is stamped by nbgrader itself
        gb.db.rollback()
        return None
    return str(row[0]) if row and isinstance(row[0], str) else None


def graded_cells(definition: dict, notebook: str) -> dict[str, float]:
    """grade_id -> max points of every graded cell of ``notebook``."""
    for nb in definition["notebooks"]:
        if nb["name"] == notebook:
            return {c["name"]: c["max_score"]
                    for c in sorted(nb["grade_cells"], key=lambda c: c["name"])}
    raise NotInGradebook(f"{definition['name']}/{notebook}")


def build(path: Path, definition: dict) -> Path:
    """A new SQLite gradebook at ``path`` holding only the assignment's definition."""
    path.unlink(missing_ok=True)
    name = definition["name"]
    # the copy carries the course gradebook's schema stamp (none if it had none); a
    # database that already has a table is not new to nbgrader, which would otherwise run
    # its `alembic` program (looked up on PATH) to stamp it, seconds per worker process
    version = definition.get("alembic_version")
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        if version:
            db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (version,))
    with Gradebook(f"sqlite:///{path}", course_id=definition["course_id"]) as gb:
        gb.update_or_create_assignment(name, duedate=definition["duedate"])
        for nb in definition["notebooks"]:
            gb.update_or_create_notebook(nb["name"], name, kernelspec=nb["kernelspec"])
            for cell in nb["grade_cells"]:
                gb.update_or_create_grade_cell(cell["name"], nb["name"], name,
                                               max_score=cell["max_score"],
                                               cell_type=cell["cell_type"])
            for cell in nb["task_cells"]:
                gb.update_or_create_task_cell(cell["name"], nb["name"], name,
                                              max_score=cell["max_score"],
                                              cell_type=cell["cell_type"])
            for cell in nb["solution_cells"]:
                gb.update_or_create_solution_cell(cell["name"], nb["name"], name)
            for cell in nb["source_cells"]:
                gb.update_or_create_source_cell(
                    cell["name"], nb["name"], name, cell_type=cell["cell_type"],
                    locked=cell["locked"], source=cell["source"], checksum=cell["checksum"])
    return path


def fresh_copy(template: Path, dest: Path) -> str:
    """A copy of the seeded gradebook for one student; its URL."""
    shutil.copyfile(template, dest)
    return f"sqlite:///{dest}"
