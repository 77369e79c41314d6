"""Take one inbound submission folder once, as the instructor's process, trusting nothing in it.

``take`` decides who handed it in (the Unix owner, which must be the student
the name claims), when (the grader's clock at arrival, or at the latest the
change time of what was copied), and what (a copy made here, with its hash).
Accepted or refused, the outcome is recorded once in the store,
``<course>/intake/<assignment>/<key>/`` (instructor-only, 0700): ``record.json``
and, when accepted, ``files/``. Taking the same folder again returns that
record; later writes into the inbound folder change nothing.

``take_inbound`` does this for every new folder of an assignment; the collect
plug-in and a hub service call it. Nothing here raises on a hostile folder:
every problem with one is a refusal whose reason a student understands.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pwd
import secrets
import stat
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..untrusted_tree import TreeCaps, TreeRefused, copy_tree, remove_tree, scan_tree, show
from . import notice
from .arrival import ACCEPTED, FILES, RECORD, REFUSED, Arrival, trusted_time, write_record
from .names import parse_folder_name

# An honest submission holds the released files (notebook, model module),
# nbgrader's timestamp/secret, checkpoints and a few plots: tens of entries,
# a few MiB. untrusted_tree's defaults leave ample room above that.
INTAKE_CAPS = TreeCaps()
SECRET_FILE = "submission_secret.txt"
STUDENT_TIME_FILE = "timestamp.txt"
# nbgrader submit copies the files, then writes timestamp.txt and the secret;
# a folder changed less than this long ago may still be half written.
SETTLE_SECONDS = 2.0
# new folders one account may hand in per run; more are left for the next run
MAX_NEW_PER_ACCOUNT = 50


def store_of(course: Path) -> Path:
    """Where the course keeps what it took (inside the course folder, instructor-only)."""
    return Path(course) / "intake"


def arrival_key(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def recorded(store: Path, assignment: str, name: str) -> Arrival | None:
    path = store / assignment / arrival_key(name) / RECORD
    return Arrival.from_json(path.read_text(encoding="utf-8")) if path.is_file() else None


def _ensure_private(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)


def take(folder: Path, assignment: str, store: Path, arrived: float | None = None,
         caps: TreeCaps = INTAKE_CAPS) -> Arrival:
    """Accept or refuse the inbound ``folder`` once; the same folder again gives the same record.

    ``arrived`` is the grader's clock when the folder was seen to arrive (a
    service watching the exchange); None when that moment is unknown (plain
    collect), then the newest change time is the submission time.
    """
    folder = Path(folder)
    key = arrival_key(folder.name)
    done = store / assignment / key
    earlier = recorded(store, assignment, folder.name)
    if earlier is not None:
        return earlier
    _ensure_private(store)
    _ensure_private(store / assignment)
    work = store / assignment / f".{key}.{os.getpid()}.{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    try:
        arrival = _examine(folder, assignment, key, work, arrived, caps)
        write_record(work, arrival)
        try:
            os.rename(work, done)
        except OSError as error:  # another intake took it first: keep its record
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            remove_tree(work)
            return recorded(store, assignment, folder.name)
    except BaseException:
        remove_tree(work)
        raise
    return arrival


def _refusal(key, assignment, claimed, reason, owner=None, uid=None, notes=None) -> Arrival:
    now = time.time()
    return Arrival(key=key, assignment=assignment, status=REFUSED, reason=reason,
                   student=owner, uid=uid, claimed=claimed, time=now,
                   time_source="arrival clock", taken_at=now, notes=notes or {})


def _owner_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _examine(folder: Path, assignment: str, key: str, work: Path, arrived: float | None,
             caps: TreeCaps) -> Arrival:
    notes = {"folder name": show(folder.name, 120)}
    claim = parse_folder_name(folder.name, assignment)
    if claim is None:
        return _refusal(key, assignment, "?", "the folder's name is not "
                        f"<student>+{assignment}+<time>", notes=notes)
    claimed = show(claim.student)
    notes["time in the folder's name"] = show(claim.stamp)
    try:
        top = os.lstat(folder)
    except OSError as error:
        return _refusal(key, assignment, claimed, f"the folder could not be read "
                        f"({error.strerror})", notes=notes)
    owner = _owner_name(top.st_uid)
    if not stat.S_ISDIR(top.st_mode):
        return _refusal(key, assignment, claimed, "it is a link or a file, not a folder",
                        owner, top.st_uid, notes)
    if owner != claim.student:
        return _refusal(key, assignment, claimed,
                        f"the folder is handed in under the name {claimed} but belongs to "
                        f"the account {show(owner or f'uid {top.st_uid}')}; a submission is "
                        "accepted only in its owner's own name", owner, top.st_uid, notes)
    started = time.time()
    try:
        entries, content_hash = copy_tree(folder, work / FILES, caps, owner=top.st_uid)
    except TreeRefused as refused:
        return _refusal(key, assignment, claimed, str(refused), owner, top.st_uid, notes)
    except OSError as error:
        remove_tree(work / FILES)
        return _refusal(key, assignment, claimed, f"the folder could not be read "
                        f"({error.strerror})", owner, top.st_uid, notes)
    names = {e.path for e in entries if not e.is_dir}
    if SECRET_FILE not in names:
        remove_tree(work / FILES)
        return _refusal(key, assignment, claimed, "it is not a complete nbgrader submission "
                        f"({SECRET_FILE} is missing); use the Submit button",
                        owner, top.st_uid, notes)
    stamp = work / FILES / STUDENT_TIME_FILE
    if stamp.is_file():
        notes["timestamp.txt"] = show(stamp.read_bytes()[:80].decode("utf-8", "replace"))
    ctimes = [top.st_ctime, *(e.ctime for e in entries), *_ctimes_after(folder, caps,
                                                                        top.st_uid, started)]
    return Arrival(key=key, assignment=assignment, status=ACCEPTED, reason="",
                   student=owner, uid=top.st_uid, claimed=claimed,
                   time=trusted_time(arrived, ctimes),
                   time_source="change time" if arrived is None else "arrival clock",
                   taken_at=time.time(), content_hash=content_hash, files=sorted(names),
                   notes=notes)


def _ctimes_after(folder: Path, caps: TreeCaps, uid: int, started: float) -> list[float]:
    """Change times after the copy: a write during it makes the time no earlier than that write."""
    try:
        return [os.lstat(folder).st_ctime, *(e.ctime for e in scan_tree(folder, caps, uid))]
    except (TreeRefused, OSError):
        return [time.time()]  # it changed while copied: the end of the copy bounds it


@dataclass
class Round:
    """What one pass over ``inbound/`` did."""

    taken: list[Arrival] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # messages about folders left for later


def _settled(folder: Path, now: float, settle: float) -> bool:
    if settle <= 0:
        return True
    try:
        newest = max([os.lstat(folder).st_ctime,
                      *(e.ctime for e in scan_tree(folder, INTAKE_CAPS))])
    except (TreeRefused, OSError):
        return True  # it will be refused; no point waiting
    return now - newest >= settle


def take_inbound(inbound: Path, assignment: str, store: Path, at_arrival: bool = False,
                 settle: float = SETTLE_SECONDS, feedback: Path | None = None,
                 course_id: str = "") -> Round:
    """Take every new folder in ``inbound/`` for ``assignment``.

    ``at_arrival``: the caller watches the exchange, so its clock is the
    arrival time. ``feedback``: the exchange's ``feedback/`` folder, where a
    refused student finds why (``nbgrader fetch_feedback``).
    """
    result = Round()
    per_account: Counter = Counter()
    _ensure_private(store)  # an unwritable store fails here, before any folder
    _ensure_private(store / assignment)
    try:
        names = sorted(os.listdir(inbound))
    except OSError as error:
        raise RuntimeError(f"cannot list {inbound}: {error.strerror}") from None
    for name in names:
        if parse_folder_name(name, assignment) is None or recorded(store, assignment, name):
            continue
        folder = Path(inbound) / name
        try:
            uid = os.lstat(folder).st_uid
        except OSError:
            continue  # gone again
        per_account[uid] += 1
        if per_account[uid] > MAX_NEW_PER_ACCOUNT:
            if per_account[uid] == MAX_NEW_PER_ACCOUNT + 1:
                result.waiting.append(f"account {show(_owner_name(uid) or str(uid))} has "
                                      f"more than {MAX_NEW_PER_ACCOUNT} new folders; the "
                                      "rest wait for the next run")
            continue
        now = time.time()
        if not _settled(folder, now, settle):
            result.waiting.append(f"{show(name)} is still being written; taken next time")
            continue
        try:
            arrival = take(folder, assignment, store, arrived=now if at_arrival else None)
        except (OSError, ValueError) as error:  # one odd folder never stops the others
            result.waiting.append(f"{show(name)} could not be taken ({error}); tried again "
                                  "next time")
            continue
        if not arrival.accepted and feedback is not None:
            try:
                notice.tell_refused(folder, feedback, arrival, course_id)
            except OSError as error:
                result.waiting.append(f"the refusal of {show(name)} could not be shown to "
                                      f"the student ({error})")
        result.taken.append(arrival)
    return result
