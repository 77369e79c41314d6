"""Fixtures for the batch grader's tests: PostgreSQL database, graded corpus runs."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from batch_support import grade_corpus

from course_grader.gradebook import driver_url


@pytest.fixture(scope="session")
def pg_database():
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    base = os.environ.get("COURSE_TEST_PG_URL")
    if not base:
        pytest.skip("COURSE_TEST_PG_URL is not set (.ci/run starts a PostgreSQL server "
                    "and sets it)")
    import psycopg2

    name = f"cg_batch_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(base)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    yield driver_url(urlunsplit(parts._replace(path=f"/{name}")))
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture(scope="module")
def sqlite_corpus(tmp_path_factory):
    return grade_corpus(tmp_path_factory.mktemp("corpus-sqlite"), None)


@pytest.fixture(scope="module")
def sqlite_corpus_full(tmp_path_factory):
    return grade_corpus(tmp_path_factory.mktemp("corpus-sqlite-full"), None, full=True)


@pytest.fixture(scope="module")
def postgres_corpus(tmp_path_factory, pg_database):
    return grade_corpus(tmp_path_factory.mktemp("corpus-pg"), pg_database)
