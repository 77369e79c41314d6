"""The grade-on-submit queue: which submission is graded next, each exactly once.

Every arrival the trusted intake accepts is offered here under its arrival id
(idempotent). The queue lives in one SQLite file in the instructor's area, so
a killed service loses nothing: on restart ``recover`` puts an interrupted
grading back in line (a re-grade writes the same gradebook rows again; the
arrival still counts once).

Fairness between students:
- only a student's newest waiting submission is graded (older ones are
  marked superseded the moment a newer one arrives);
- a student is served at most ``max_per_day`` times in any 24 hours and not
  twice within ``cooldown_seconds``; such a submission waits, it is not lost;
- a student's next submission waits while the previous one is being graded;
- among the students who may be served, the one served longest ago goes
  first (never served counts as longest), then the earliest arrival.
So one account submitting in a loop costs the others at most one grading.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .policy import GradeOnSubmit

DAY = 24 * 3600
WAITING, GRADING, DONE, FAILED, SUPERSEDED, HELD = (
    "waiting", "grading", "done", "failed", "superseded", "held")
SERVED = (GRADING, DONE, FAILED)  # states that used up one of the student's gradings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS arrivals (
    id TEXT PRIMARY KEY,
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    arrived REAL NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    finished REAL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS by_student ON arrivals (student, assignment, state);
"""


@dataclass(frozen=True)
class Job:
    arrival: str
    student: str
    assignment: str
    arrived: float
    attempt: int


class GradingQueue:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # made by whoever builds the service, used by the thread that runs it (one at a time)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None,
                                  check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _write(self):
        """A transaction that holds the write lock from its start."""
        return _Immediate(self.db)

    def offer(self, arrival: str, student: str, assignment: str, arrived: float) -> bool:
        """Queue an accepted arrival; False when it was offered before."""
        with self._write():
            if self.db.execute("SELECT 1 FROM arrivals WHERE id = ?", (arrival,)).fetchone():
                return False
            newer = self.db.execute(
                "SELECT 1 FROM arrivals WHERE student = ? AND assignment = ? AND arrived > ?",
                (student, assignment, arrived)).fetchone()
            if newer is None:
                self.db.execute(
                    "UPDATE arrivals SET state = ?, note = 'a newer submission arrived' "
                    "WHERE student = ? AND assignment = ? AND state = ?",
                    (SUPERSEDED, student, assignment, WAITING))
            state, note = (SUPERSEDED, "a newer submission arrived") if newer else (WAITING, "")
            self.db.execute("INSERT INTO arrivals (id, student, assignment, arrived, state, note)"
                            " VALUES (?, ?, ?, ?, ?, ?)",
                            (arrival, student, assignment, arrived, state, note))
        return True

    def take(self, now: float, policy: GradeOnSubmit, due: dict[str, float | None]
             ) -> Job | None:
        """The next submission to grade (marked as grading), or None."""
        with self._write():
            waiting = self.db.execute(
                "SELECT id, student, assignment, arrived, attempts FROM arrivals "
                "WHERE state = ? ORDER BY arrived", (WAITING,)).fetchall()
            busy = {row[0] for row in self.db.execute(
                "SELECT student FROM arrivals WHERE state = ?", (GRADING,))}
            best = None
            for arrival, student, assignment, arrived, attempts in waiting:
                deadline = due.get(assignment)
                if policy.after_due == "hold" and deadline is not None and arrived > deadline:
                    self._set(arrival, HELD, "after the due date: graded by the instructor")
                    continue
                served = self._served(student, assignment, now)
                if student in busy or not _may_serve(served, now, policy):
                    continue
                rank = (max(served, default=float("-inf")), arrived)
                if best is None or rank < best[0]:
                    best = (rank, Job(arrival, student, assignment, arrived, attempts + 1))
            if best is None:
                return None
            job = best[1]
            self.db.execute("UPDATE arrivals SET state = ?, started = ?, attempts = ? "
                            "WHERE id = ?", (GRADING, now, job.attempt, job.arrival))
            return job

    def finish(self, arrival: str, state: str, now: float, note: str = "") -> bool:
        """Close a grading; False when it was not open (finished already, or never taken)."""
        if state not in (DONE, FAILED):
            raise ValueError(f"a grading ends done or failed, not {state!r}")
        cursor = self.db.execute(
            "UPDATE arrivals SET state = ?, finished = ?, note = ? WHERE id = ? AND state = ?",
            (state, now, note, arrival, GRADING))
        return cursor.rowcount == 1

    def recover(self, max_attempts: int = 3) -> list[str]:
        """After a restart: gradings that never finished go back in line (or fail)."""
        with self._write():
            open_ = self.db.execute("SELECT id, student, assignment, arrived, attempts "
                                    "FROM arrivals WHERE state = ?", (GRADING,)).fetchall()
            for arrival, student, assignment, arrived, attempts in open_:
                newer = self.db.execute(
                    "SELECT 1 FROM arrivals WHERE student = ? AND assignment = ? "
                    "AND arrived > ?", (student, assignment, arrived)).fetchone()
                if newer:
                    self._set(arrival, SUPERSEDED, "a newer submission arrived")
                elif attempts >= max_attempts:
                    self._set(arrival, FAILED, f"grading was interrupted {attempts} times")
                else:
                    self._set(arrival, WAITING, "grading was interrupted; graded again")
        return [row[0] for row in open_]

    def state(self, arrival: str) -> tuple[str, str] | None:
        row = self.db.execute("SELECT state, note FROM arrivals WHERE id = ?",
                              (arrival,)).fetchone()
        return None if row is None else (row[0], row[1])

    def why_waiting(self, student: str, assignment: str, now: float,
                    policy: GradeOnSubmit) -> str:
        """What keeps a student's waiting submission from being graded, in plain words."""
        served = self._served(student, assignment, now)
        recent = [t for t in served if t > now - DAY]
        if len(recent) >= policy.max_per_day:
            return (f"{policy.max_per_day} submissions were graded in the last 24 hours; the "
                    f"next is graded at the earliest {int(min(recent) + DAY - now)} s from now")
        if served and now - max(served) < policy.cooldown_seconds:
            return (f"graded at most once every {policy.cooldown_seconds} s; the next in "
                    f"{int(max(served) + policy.cooldown_seconds - now)} s")
        return "in line"

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, COUNT(*) FROM arrivals GROUP BY state"))

    def _served(self, student: str, assignment: str, now: float) -> list[float]:
        rows = self.db.execute(
            f"SELECT started FROM arrivals WHERE student = ? AND assignment = ? "
            f"AND state IN ({', '.join('?' * len(SERVED))}) AND started IS NOT NULL",
            (student, assignment, *SERVED)).fetchall()
        return [started for (started,) in rows]

    def _set(self, arrival: str, state: str, note: str) -> None:
        self.db.execute("UPDATE arrivals SET state = ?, note = ? WHERE id = ?",
                        (state, note, arrival))


def _may_serve(served: list[float], now: float, policy: GradeOnSubmit) -> bool:
    if sum(1 for t in served if t > now - DAY) >= policy.max_per_day:
        return False
    return not served or now - max(served) >= policy.cooldown_seconds


class _Immediate:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        return False
