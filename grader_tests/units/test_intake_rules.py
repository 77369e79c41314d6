"""The trusted intake's pure rules and its single-account behaviour (no accounts created).

Everything here runs as the current user: the folder's owner is that user,
so "names another student" is a folder named after a different account.
The multi-account attacks are in grader_tests/exchange/.
"""

from __future__ import annotations

import os
import pwd
import time
from datetime import datetime, timezone

import pytest
from nbgrader.utils import notebook_hash

from course_grader.exchange.arrival import (
    ACCEPTED,
    REFUSED,
    Arrival,
    newest_accepted,
    read_records,
    trusted_time,
)
from course_grader.exchange.intake import MAX_NEW_PER_ACCOUNT, take, take_inbound
from course_grader.exchange.names import parse_folder_name
from course_grader.exchange.notice import refusal_page, tell_refused

ME = pwd.getpwuid(os.getuid()).pw_name
SECRET = "ab" * 32


def test_folder_names_with_and_without_random_part():
    assert parse_folder_name("ada+init+2024-01-01 10:00:00.000000 UTC+Xy_z", "init").student \
        == "ada"
    claim = parse_folder_name("ada+init+2024-01-01 10:00:00.000000 UTC", "init")
    assert (claim.student, claim.stamp) == ("ada", "2024-01-01 10:00:00.000000 UTC")
    assert parse_folder_name("a+b+init+t+r", "init").student == "a+b"


@pytest.mark.parametrize("name", ["ada+other+t+r", "+init+t+r", "init", "ada+init", "x+y"])
def test_names_that_claim_nothing_for_the_assignment(name):
    assert parse_folder_name(name, "init") is None


def test_time_rule_never_earlier_than_any_change_time():
    assert trusted_time(None, [100.0, 250.5, 200.0]) == 250.5
    assert trusted_time(300.0, [100.0, 250.5]) == 300.0  # the arrival clock
    assert trusted_time(200.0, [100.0, 250.5]) == 250.5  # written after it was seen
    with pytest.raises(ValueError):
        trusted_time(None, [])


def _arrival(key="k", student="ada", t=1000.0, status=ACCEPTED, **extra) -> Arrival:
    return Arrival(key=key, assignment="init", status=status, reason="" if status ==
                   ACCEPTED else "why", student=student, uid=1000, claimed=repr(student),
                   time=t, time_source="change time", taken_at=t + 5, **extra)


def test_record_round_trip_keeps_every_field():
    a = _arrival(content_hash="f" * 64, files=["A.ipynb", "model.py"],
                 notes={"timestamp.txt": "'1999-01-01'"})
    back = Arrival.from_json(a.to_json())
    assert back == a
    assert back.when == datetime.fromtimestamp(1000.0, tz=timezone.utc)


def test_newest_accepted_by_trusted_time_and_due_date():
    arrivals = [_arrival("a", t=100), _arrival("b", t=300), _arrival("c", t=500, status=REFUSED),
                _arrival("d", "ben", t=50)]
    chosen = newest_accepted(arrivals)
    assert {s: a.key for s, a in chosen.items()} == {"ada": "b", "ben": "d"}
    due = datetime.fromtimestamp(200, tz=timezone.utc)
    assert newest_accepted(arrivals, due)["ada"].key == "a"
    assert newest_accepted([_arrival("x", t=900)], due)["ada"].key == "x"  # none on time


def _submission(inbound, name, notebook=b'{"cells": []}'):
    folder = inbound / name
    folder.mkdir(parents=True)
    (folder / "A.ipynb").write_bytes(notebook)
    (folder / "timestamp.txt").write_text("1999-01-01 00:00:00.000000 UTC")
    (folder / "submission_secret.txt").write_text(SECRET)
    return folder


def test_own_folder_is_accepted_once_and_later_writes_change_nothing(tmp_path):
    folder = _submission(tmp_path / "inbound", f"{ME}+init+1999-01-01 00:00:00 UTC+r")
    store = tmp_path / "intake"
    before = time.time()
    first = take(folder, "init", store)
    assert first.accepted and first.student == ME and first.uid == os.getuid()
    assert first.time >= before - 1  # change time, not the 1999 in the name or file
    assert "1999" in first.notes["timestamp.txt"]
    (folder / "A.ipynb").write_bytes(b"changed later")
    (folder / "extra.py").write_text("x = 1")
    again = take(folder, "init", store)
    assert again == first
    assert len(read_records(store, "init")) == 1
    copied = store / "init" / first.key / "files"
    assert (copied / "A.ipynb").read_bytes() == b'{"cells": []}'
    assert not (copied / "extra.py").exists()
    assert oct(os.stat(store).st_mode & 0o777) == "0o700"


def test_folder_named_for_another_account_is_refused(tmp_path):
    folder = _submission(tmp_path / "inbound", "someone-else+init+t+r")
    arrival = take(folder, "init", tmp_path / "intake")
    assert arrival.status == REFUSED
    assert "belongs to the account" in arrival.reason and ME in arrival.reason
    assert not (tmp_path / "intake" / "init" / arrival.key / "files").exists()


@pytest.mark.parametrize("attack", ["symlink", "fifo", "hardlink", "many", "no-secret"])
def test_hostile_contents_are_refused_with_a_reason(tmp_path, attack):
    folder = _submission(tmp_path / "inbound", f"{ME}+init+t+{attack}")
    secret_file = tmp_path / "outside.txt"
    secret_file.write_text("solutions")
    if attack == "symlink":
        (folder / "A.ipynb").unlink()
        (folder / "A.ipynb").symlink_to(secret_file)
    elif attack == "fifo":
        os.mkfifo(folder / "pipe")
    elif attack == "hardlink":
        os.link(secret_file, folder / "copy.txt")
    elif attack == "many":
        for i in range(1000):
            (folder / f"d{i}").mkdir()
    else:
        (folder / "submission_secret.txt").unlink()
    arrival = take(folder, "init", tmp_path / "intake")
    expected = {"symlink": "symbolic link", "fifo": "FIFO", "hardlink": "hard link",
                "many": "more than", "no-secret": "not a complete"}[attack]
    assert arrival.status == REFUSED and expected in arrival.reason


def test_inbound_round_skips_other_assignments_waits_for_fresh_folders(tmp_path):
    inbound = tmp_path / "inbound"
    _submission(inbound, f"{ME}+init+t+old")
    _submission(inbound, f"{ME}+other+t+x")
    (inbound / "garbage-name").mkdir()
    fresh = take_inbound(inbound, "init", tmp_path / "intake", settle=60)
    assert fresh.taken == [] and "still being written" in fresh.waiting[0]
    done = take_inbound(inbound, "init", tmp_path / "intake", at_arrival=True, settle=0)
    assert [a.time_source for a in done.taken] == ["arrival clock"]
    assert take_inbound(inbound, "init", tmp_path / "intake", settle=0).taken == []


def test_one_account_cannot_flood_a_round(tmp_path):
    inbound = tmp_path / "inbound"
    for i in range(MAX_NEW_PER_ACCOUNT + 5):
        _submission(inbound, f"{ME}+init+t+{i:03d}")
    first = take_inbound(inbound, "init", tmp_path / "intake", settle=0)
    assert len(first.taken) == MAX_NEW_PER_ACCOUNT and "more than" in first.waiting[0]
    assert len(take_inbound(inbound, "init", tmp_path / "intake", settle=0).taken) == 5


def test_refusal_page_is_inert_and_found_where_fetch_feedback_looks(tmp_path):
    hostile = '<img src=x onerror=alert(1)>'
    folder = _submission(tmp_path / "inbound", f"{hostile}+init+t+r")
    arrival = take(folder, "init", tmp_path / "intake")
    assert not arrival.accepted
    page = refusal_page(arrival, "A")
    assert "<img" not in page.lower() and "&lt;img src=x" in page
    feedback = tmp_path / "feedback"
    written = tell_refused(folder, feedback, arrival)
    expected = feedback / f"{notebook_hash(secret=SECRET, notebook_id='A')}.html"
    assert written == [expected] and "not accepted" in expected.read_text()
    expected.write_text("real feedback")
    assert tell_refused(folder, feedback, arrival) == []  # never replaces a page
    assert expected.read_text() == "real feedback"
