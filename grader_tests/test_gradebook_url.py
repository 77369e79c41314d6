"""Which database the gradebook is: the URL rewrite every way of grading shares.

The PostgreSQL tests (marker ``postgres``) prove the rewritten URL connects; these
prove, without a server, what the rewrite keeps and what it refuses.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from course_grader.batch.bundle import SetupError, make_bundle
from course_grader.batch.coordinator import configured_db_url
from course_grader.gradebook import course_db_url, driver_url, sqlite_file, sqlite_url
from course_grader.sandbox.bubblewrap import Limits

# a course folder name a hand-built "sqlite:///" + path gets wrong: the URL's query
# starts at "?", and "%20" would be read back as a space
ODD = "a course ?x=1#2 %20"


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


def test_a_sqlite_url_names_exactly_its_file(tmp_path):
    path = tmp_path / ODD / "gradebook.db"
    path.parent.mkdir()
    url = sqlite_url(path, timeout="60")
    assert sqlite_file(url) == path and dict(make_url(url).query) == {"timeout": "60"}
    engine = create_engine(url)  # the file SQLite itself opens, not only the parse
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (x INTEGER)"))
    engine.dispose()
    assert [p.name for p in path.parent.iterdir()] == ["gradebook.db"]


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "sqlite://", "sqlite:///:memory:"])
def test_only_a_sqlite_url_with_a_file_has_one(url):
    assert sqlite_file(url) is None


def test_the_class_grader_finds_a_course_gradebook_at_any_path(tmp_path, monkeypatch):
    course = tmp_path / ODD
    (course / "release" / "lab1").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)  # a relative course folder is made absolute
    url = configured_db_url(course.relative_to(tmp_path))  # no nbgrader_config.py: default
    assert sqlite_file(url) == course / "gradebook.db"
    with pytest.raises(SetupError) as missing:
        make_bundle(course, "lab1", url, Limits(), sandbox=False, full=False)
    assert f"the gradebook {course / 'gradebook.db'} does not exist" in str(missing.value)
