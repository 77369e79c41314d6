"""Which database the gradebook is: the URL rewrite every way of grading shares.

The PostgreSQL tests (marker ``postgres``) prove the rewritten URL connects; these
prove, without a server, what the rewrite keeps and what it refuses.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from course_grader.gradebook import course_db_url, driver_url


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_names_psycopg2_and_keeps_everything_else(scheme):
    url = f"{scheme}://grader:p%40ss%2Fword@db.example:6543/course?sslmode=require"
    rewritten = make_url(driver_url(url))
    assert rewritten.drivername == "postgresql+psycopg2"
    assert (rewritten.username, rewritten.password, rewritten.host, rewritten.port,
            rewritten.database, dict(rewritten.query)) == \
        ("grader", "p@ss/word", "db.example", 6543, "course", {"sslmode": "require"})


@pytest.mark.parametrize("url", ["postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db",
                                 "sqlite:////srv/course/gradebook.db?timeout=60",
                                 "sqlite://", "mysql://u@h/db"])
def test_other_urls_are_unchanged(url):
    assert driver_url(url) == url


@pytest.mark.parametrize("url", ["", "gradebook.db", "not a url at all"])
def test_a_string_that_is_no_url_is_refused(url):
    with pytest.raises(ArgumentError):
        driver_url(url)


def test_the_course_gradebook_by_default_and_by_override(tmp_path, monkeypatch):
    course = tmp_path / "a course?#1"  # characters a hand-built URL would get wrong
    monkeypatch.delenv("NBGRADER_DB_URL", raising=False)
    default = make_url(course_db_url(course))
    assert (default.drivername, default.database, dict(default.query)) == \
        ("sqlite", str(course / "gradebook.db"), {"timeout": "60"})
    monkeypatch.setenv("NBGRADER_DB_URL", "postgres://u@h/from_env")
    assert course_db_url(course) == "postgresql+psycopg2://u@h/from_env"
    assert course_db_url(course, "sqlite:///other.db") == "sqlite:///other.db"
