"""Where a library does the work: typed settings, nbgrader's time parser, one atomic
write, a gradebook copy without a subprocess.

``c.ClassGrader`` is a traitlets ``Configurable`` (a wrong type or an unknown
name is refused); ``timestamps.parse_timestamp`` is ``nbgrader.utils.parse_utc``
with one answer to hostile text (ValueError); every file the coordinator
replaces goes through ``write_atomic``; a worker's gradebook copy is made
without nbgrader running its ``alembic`` program or anyone changing ``PATH``.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbgrader.utils import parse_utc
from traitlets.config import Config

from course_grader.atomic_write import write_atomic
from course_grader.batch import coordinator, gradebook_copy
from course_grader.batch.settings import SettingsError, read_settings
from course_grader.timestamps import FILE, format_timestamp, parse_timestamp, read_timestamp

# -- c.ClassGrader ------------------------------------------------------------------------


def _course(tmp_path: Path, lines: str) -> Path:
    (tmp_path / "nbgrader_config.py").write_text(f"c = get_config()\n{lines}\n")
    return tmp_path


def test_run_every_cell_is_read_typed_from_the_course_config(tmp_path):
    assert coordinator._config_full(_course(tmp_path, "c.ClassGrader.run_every_cell = True"))
    assert not coordinator._config_full(_course(tmp_path, "c.Exchange.root = '/x'"))
    assert not coordinator._config_full(tmp_path / "no-course-here")


@pytest.mark.parametrize("line,words", [
    ("c.ClassGrader.run_every_cell = 'no'", "run_every_cell"),  # a str is not a bool
    ("c.ClassGrader.run_evry_cell = True", "run_evry_cell is not a setting"),
])
def test_a_wrong_class_grader_setting_refuses_the_batch(tmp_path, line, words):
    with pytest.raises(coordinator.Refusal, match=words):
        coordinator._config_full(_course(tmp_path, line))


def test_the_settings_have_traitlets_defaults():
    assert read_settings(Config()).run_every_cell is False
    with pytest.raises(SettingsError):
        read_settings(Config({"ClassGrader": {"run_every_cell": [1]}}))


# -- timestamps ---------------------------------------------------------------------------

WHEN = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31),
                    timezones=st.just(timezone.utc))


@given(WHEN)
def test_a_timestamp_reads_back_as_written_and_as_nbgrader_reads_it(when):
    text = format_timestamp(when)
    assert parse_timestamp(text) == when
    assert parse_timestamp(text) == parse_utc(text).replace(tzinfo=timezone.utc)


def test_other_zones_are_converted_to_utc():
    assert parse_timestamp("2026-12-01 11:00:00.000000 Europe/Paris") == \
        datetime(2026, 12, 1, 10, tzinfo=timezone.utc)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_hostile_text_is_a_time_or_a_value_error(text):
    try:
        when = parse_timestamp(text)
    except ValueError:
        return
    assert when.tzinfo is timezone.utc


@pytest.mark.parametrize("text", [
    "", "UTC", "a b c", "9" * 40, "2026-12-01 10:00:00.000000 " + "9" * 30,
    # a zone word is opened as a file by dateutil: never a path
    "2026-12-01 10:00:00 /etc/passwd", "2026-12-01 10:00:00 ../../../../etc/shadow",
    "2026-12-01 10:00:00 Europe/../../../etc/shadow",
    "2026-12-01\x0010:00:00", "x" * 5000, "2026-13-45 99:99:99.000000 UTC",
])
def test_known_hostile_timestamps_are_value_errors(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_a_zone_word_naming_a_file_is_never_read_as_a_zone(tmp_path):
    """dateutil's gettz opens a zone word that is a path: a planted zone file would set
    the time.  (Without the check this text reads as 01:00 UTC, Tokyo's 10:00.)"""
    zone = Path("/usr/share/zoneinfo/Asia/Tokyo")
    if not zone.is_file():
        pytest.skip("no system zone files to plant")
    planted = tmp_path / "zone"
    planted.write_bytes(zone.read_bytes())
    with pytest.raises(ValueError, match="not a time zone"):
        parse_timestamp(f"2026-12-01 10:00:00.000000 {planted}")


def test_a_timestamp_file_longer_than_any_time_is_refused(tmp_path):
    (tmp_path / FILE).write_text(format_timestamp(datetime.now(timezone.utc)) + "0" * 10**6)
    with pytest.raises(ValueError):
        read_timestamp(tmp_path)
    assert read_timestamp(tmp_path / "none") is None


# -- atomic writes ------------------------------------------------------------------------


def test_write_atomic_replaces_whole_and_makes_folders(tmp_path):
    path = tmp_path / "a" / "b" / "grades.csv"
    write_atomic(path, "x,y\r\n1,2\r\n")
    assert path.read_bytes() == b"x,y\r\n1,2\r\n"  # byte for byte, no newline translation
    write_atomic(path, b"\x00\xff")
    assert path.read_bytes() == b"\x00\xff"
    assert os.listdir(path.parent) == ["grades.csv"]
    assert path.stat().st_mode & 0o777 == 0o644 & ~_umask()


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "half \udc80 written")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["result.json"]


def test_a_link_in_the_place_is_replaced_never_written_through(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "out.html").symlink_to(target)
    write_atomic(tmp_path / "out.html", "page")
    assert target.read_text() == "keep"
    assert not (tmp_path / "out.html").is_symlink()
    assert (tmp_path / "out.html").read_text() == "page"


def _umask() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("Umask:")), 8)


# -- a worker's gradebook copy ------------------------------------------------------------

DEFINITION = {
    "name": "doubling", "course_id": "course", "duedate": None, "alembic_version": None,
    "notebooks": [{"name": "Doubling", "kernelspec": None,
                   "grade_cells": [{"name": "double_test", "max_score": 2.0,
                                    "cell_type": "code"}],
                   "task_cells": [], "solution_cells": [{"name": "double_answer"}],
                   "source_cells": [{"name": "double_test", "cell_type": "code",
                                     "locked": True, "source": "assert double(1) == 2",
                                     "checksum": "abc"}]}]}


def test_a_gradebook_copy_runs_no_program_and_leaves_path_alone(tmp_path, monkeypatch):
    """An unstamped course gradebook gives an unstamped copy; nbgrader does not stamp it
    with its `alembic` program (not on this PATH), and the environment is not changed."""
    monkeypatch.setenv("PATH", "/nonexistent")
    before = dict(os.environ)
    path = gradebook_copy.build(tmp_path / "gradebook.db", DEFINITION)
    assert dict(os.environ) == before
    copied = gradebook_copy.export_definition(f"sqlite:///{path}", "doubling")
    assert copied["alembic_version"] is None
    assert gradebook_copy.graded_cells(copied, "Doubling") == {"double_test": 2.0}


def test_a_copy_keeps_the_course_gradebooks_stamp(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    path = gradebook_copy.build(tmp_path / "g.db", dict(DEFINITION, alembic_version="abc123"))
    assert gradebook_copy.export_definition(f"sqlite:///{path}",
                                            "doubling")["alembic_version"] == "abc123"
