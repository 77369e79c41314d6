"""``nbgrader collect`` (and the formgrader's Collect button) through the trusted intake.

Plugged in by the course config::

    c.ExchangeFactory.collect = "course_grader.exchange.collect.TrustedCollect"

Every new inbound folder of the assignment is taken by ``intake.take_inbound``
(refusals logged with their reason and told to the student through the
exchange's feedback folder); then, per student, the newest accepted arrival
by trusted time is copied from the course's intake store into
``submitted/<student>/<assignment>/`` with a ``timestamp.txt`` holding that
trusted time, which nbgrader's lateness and the LMS exports read. Nothing is
read from the inbound folder here but through the intake.
"""

from __future__ import annotations

import os
import shutil
from datetime import timezone
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import check_mode

from ..timestamps import FILE as TIMESTAMP_FILE
from ..timestamps import read_timestamp, write_timestamp
from ..untrusted_tree import remove_tree
from .arrival import FILES, Arrival, newest_accepted, read_records
from .intake import store_of, take_inbound


class TrustedCollect(ExchangeCollect):
    """nbgrader's collect with identity, time and content decided by the intake."""

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        assignment = self.coursedir.assignment_id
        self.store = store_of(Path(self.coursedir.root))
        try:
            round_ = take_inbound(Path(self.inbound_path), assignment, self.store,
                                  feedback=Path(self.course_path) / "feedback",
                                  course_id=self.coursedir.course_id)
        except RuntimeError as error:
            self.fail(str(error))
        for arrival in round_.taken:
            if arrival.accepted:
                self.log.info("Accepted a submission of %s (owner uid %s), time %s (%s)",
                              arrival.student, arrival.uid, arrival.when.isoformat(),
                              arrival.time_source)
            else:
                self.log.warning("REFUSED %s (names %s, from account %s): %s",
                                 arrival.notes.get("folder name", "?"), arrival.claimed,
                                 arrival.student or "?", arrival.reason)
        for message in round_.waiting:
            self.log.warning("Not taken yet: %s", message)
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(assignment).duedate
            except MissingEntry:
                self.duedate = None
        due = self.duedate if self.before_duedate else None
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=timezone.utc)  # nbgrader stores naive UTC
        chosen = newest_accepted(read_records(self.store, assignment), due)
        wanted = self.coursedir.student_id
        self.src_records = [a for s, a in sorted(chosen.items())
                            if not wanted or wanted == "*" or s == wanted]

    def copy_files(self):
        assignment = self.coursedir.assignment_id
        if not self.src_records:
            self.log.warning("No accepted submissions of '%s' for course '%s' to collect",
                             assignment, self.coursedir.course_id)
            return
        self.log.info("Processing %d accepted submissions of '%s' for course '%s'",
                      len(self.src_records), assignment, self.coursedir.course_id)
        for arrival in self.src_records:
            dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory,
                                                   arrival.student, assignment))
            existing = _existing_time(dest)
            if dest.is_dir():
                newer = existing is None or arrival.when > existing
                if not (self.update and newer) and not (
                        self.before_duedate and existing != arrival.when):
                    self.log.info("No newer accepted submission to collect: %s %s"
                                  if self.update else "Submission already exists, use "
                                  "--update to update: %s %s", arrival.student, assignment)
                    continue
                self.log.info("Updating submission: %s %s", arrival.student, assignment)
                remove_tree(dest)
            else:
                self.log.info("Collecting submission: %s %s", arrival.student, assignment)
            deliver(self.store, arrival, dest, self.coursedir.ignore)


def deliver(store: Path, arrival: Arrival, dest: Path, ignore=()) -> None:
    """Copy an accepted arrival from the store to ``dest`` (replaced), with the trusted time."""
    remove_tree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = store / arrival.assignment / arrival.key / FILES
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(*ignore, TIMESTAMP_FILE))
    # the one time nbgrader and the exports read: the intake's, not the student's
    write_timestamp(dest, arrival.when)


def _existing_time(folder: Path):
    try:
        return read_timestamp(folder) if folder.is_dir() else None
    except (OSError, ValueError):
        return None  # unreadable: treated as older than any accepted arrival
