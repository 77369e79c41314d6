"""The course's gradebook: which database it is, and the scores the demo and tests read.

``nbgrader_config.py``, ``export-lms`` and the class grader all name the
database through ``course_db_url``/``driver_url``, so a ``postgresql://``
URL means the same driver everywhere. URLs are read and written by SQLAlchemy's
own ``make_url``/``URL``, as nbgrader's ``Gradebook`` reads them: a course folder
whose path holds a space, ``?``, ``#`` or ``%`` names the right file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from sqlalchemy.engine import URL, make_url

# SQLAlchemy 2 picks psycopg 3 for a bare postgresql:// URL; the course installs psycopg2
POSTGRES_DRIVER = "postgresql+psycopg2"


def driver_url(url: str) -> str:
    """Name psycopg2 in a PostgreSQL URL that names no driver; other URLs are unchanged.

    A string that is not a database URL raises SQLAlchemy's ``ArgumentError`` here,
    when the course's configuration is read, not in the middle of a batch.
    """
    parsed = make_url(url)
    if parsed.drivername not in ("postgresql", "postgres"):
        return url
    return parsed.set(drivername=POSTGRES_DRIVER).render_as_string(hide_password=False)


def sqlite_url(path: Path, **query: str) -> str:
    """The URL of the SQLite database file ``path`` (quoted as SQLAlchemy reads it back)."""
    return URL.create("sqlite", database=str(path), query=query).render_as_string()


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def course_db_url(course: Path, override: str | None = None) -> str:
    """The gradebook of ``course``: ``override``, else ``$NBGRADER_DB_URL``, else its
    ``gradebook.db``, whose timeout makes a second writer wait for the lock instead of
    failing the whole batch."""
    url = override or os.environ.get("NBGRADER_DB_URL") or sqlite_url(
        Path(course) / "gradebook.db", timeout="60")
    return driver_url(url)


def exercise_scores(db_url: str, assignment: str, student: str,
                    exercises: Mapping[str, Iterable[str]]) -> dict[str, float] | None:
    """Points per exercise for ``student``'s submission of ``assignment`` (every notebook
    of it the gradebook holds), or None if nothing was graded for them; ``exercises``
    maps each exercise to the grade ids of its test cells."""
    from nbgrader.api import Gradebook, MissingEntry  # not needed to load the course config

    with Gradebook(db_url) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        by_cell = {grade.name: grade.score for nb in submission.notebooks for grade in nb.grades}
    return {name: float(sum(by_cell.get(grade_id, 0.0) or 0.0 for grade_id in grade_ids))
            for name, grade_ids in exercises.items()}
