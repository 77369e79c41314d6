"""Submission times, written and read the way nbgrader's exchange does.

``nbgrader submit`` puts a ``timestamp.txt`` beside every submission and
``nbgrader collect`` keeps it; autograde stores it in the gradebook, which is
how the formgrader fills its Timestamp column and nbgrader computes lateness
against the assignment's due date.  Submissions that never went through the
exchange (the sample class, a folder copied by hand) need the same file.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from nbgrader.utils import parse_utc

# nbgrader's default Exchange.timestamp_format and Exchange.timezone ("UTC")
FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
FILE = "timestamp.txt"
MAX_TEXT = 100  # a time in any format nbgrader writes is far shorter
# a zone as nbgrader writes it: a name (UTC, Europe/Paris) or an offset, never a path
ZONE = re.compile(r"(?!.*\.\.)[A-Za-z][\w+\-/]{0,40}|[+\-]\d{1,4}")


def format_timestamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime(FORMAT)


def parse_timestamp(text: str) -> datetime:
    """A ``timestamp.txt``'s time, read as nbgrader reads it (``nbgrader.utils.parse_utc``),
    as an aware UTC datetime; ValueError for anything that is not a time."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"not a timestamp: {len(text)} characters")
    parts = text.split(" ")
    if len(parts) == 3 and not ZONE.fullmatch(parts[2]):
        # parse_utc hands a third word to dateutil's gettz, which opens it as a file path
        raise ValueError(f"not a time zone: {parts[2][:40]!r}")
    try:
        when = parse_utc(text)
    except (ValueError, OverflowError, LookupError, TypeError, Warning) as error:
        # dateutil's answers to a hostile text vary; the caller needs one of them
        raise ValueError(f"not a timestamp: {text[:40]!r}") from error
    return when.replace(tzinfo=timezone.utc)


def write_timestamp(folder: Path, when: datetime) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    path.write_text(format_timestamp(when))
    return path


def read_timestamp(folder: Path) -> datetime | None:
    path = folder / FILE
    if not path.is_file():
        return None
    with open(path, "rb") as fh:
        return parse_timestamp(fh.read(4 * MAX_TEXT).decode())


def lateness(submitted: datetime | None, due: datetime | None) -> timedelta:
    """How late a submission was (zero when on time or when either time is unknown)."""
    if submitted is None or due is None or submitted <= due:
        return timedelta(0)
    return submitted - due


def describe_lateness(late: timedelta) -> str:
    """``"on time"`` or e.g. ``"late by 1 d 2 h 05 min"``."""
    if late <= timedelta(0):
        return "on time"
    minutes = int(late.total_seconds() // 60) or 1  # a few seconds late is still late
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = ([f"{days} d"] if days else []) + ([f"{hours} h"] if days or hours else [])
    parts.append(f"{minutes:02d} min" if parts else f"{minutes} min")
    return "late by " + " ".join(parts)
