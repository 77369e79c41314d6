"""One arrival, as the intake records it: accepted or refused, and why.

Fields the grader decided (``student``, ``uid``, ``time``, ``content_hash``)
are kept apart from ``notes``, the student-written folder name and
``timestamp.txt`` text, which nothing may read as a fact.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ACCEPTED, REFUSED = "accepted", "refused"
RECORD = "record.json"
FILES = "files"


def trusted_time(arrived: float | None, ctimes: list[float]) -> float:
    """The submission time: the grader's clock at arrival, never before any change time.

    When the intake runs later than the arrival (``arrived`` is None), the
    newest change time (ctime) of the folder and its entries is the earliest
    moment the content was complete; no user can set a ctime back.
    """
    newest = max(ctimes) if ctimes else None
    if arrived is None:
        if newest is None:
            raise ValueError("no change time to date the submission by")
        return newest
    return arrived if newest is None else max(arrived, newest)


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


@dataclass(frozen=True)
class Arrival:
    key: str  # folder of this arrival in the store; derived from the inbound name
    assignment: str
    status: str  # ACCEPTED or REFUSED
    reason: str  # why refused, for the student and the instructor ("" when accepted)
    student: str | None  # the owning account's name (None when it has no name)
    uid: int | None
    claimed: str  # the student the folder's name claims (printable, shortened)
    time: float  # seconds since the epoch (trusted_time); for a refusal, when it was seen
    time_source: str  # "arrival clock" or "change time"
    taken_at: float  # the grader's clock when the intake ran
    content_hash: str | None = None
    files: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # untrusted, shown only

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    @property
    def when(self) -> datetime:
        return utc(self.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Arrival:
        data = json.loads(text)
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def write_record(folder: Path, arrival: Arrival) -> None:
    path = folder / RECORD
    with open(path, "x", encoding="utf-8") as out:
        out.write(arrival.to_json())
        out.flush()
        os.fsync(out.fileno())


def read_records(store: Path, assignment: str) -> list[Arrival]:
    """Every arrival recorded for ``assignment`` (oldest intake first)."""
    folder = store / assignment
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        path = entry / RECORD
        if not entry.name.startswith(".") and path.is_file():
            found.append(Arrival.from_json(path.read_text(encoding="utf-8")))
    return sorted(found, key=lambda a: (a.taken_at, a.key))


def newest_accepted(arrivals: list[Arrival], due: datetime | None = None
                    ) -> dict[str, Arrival]:
    """Per student, the accepted arrival with the newest trusted time.

    With ``due``, the newest one at or before it when there is one (what
    nbgrader's ``--before-duedate`` asks for), else the newest.
    """
    chosen: dict[str, Arrival] = {}
    for student in sorted({a.student for a in arrivals if a.accepted and a.student}):
        mine = sorted((a for a in arrivals if a.accepted and a.student == student),
                      key=lambda a: (a.time, a.key), reverse=True)
        on_time = [a for a in mine if due is not None and a.when <= due]
        chosen[student] = (on_time or mine)[0]
    return chosen
