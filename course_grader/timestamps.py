"""Submission times, written and read the way nbgrader's exchange does.

``nbgrader submit`` puts a ``timestamp.txt`` beside every submission and
``nbgrader collect`` keeps it; autograde stores it in the gradebook, which is
how the formgrader fills its Timestamp column and nbgrader computes lateness
against the assignment's due date.  Submissions that never went through the
exchange (the sample class, a folder copied by hand) need the same file.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

# nbgrader's default Exchange.timestamp_format and Exchange.timezone ("UTC")
FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
FILE = "timestamp.txt"


def format_timestamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime(FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Read a ``timestamp.txt`` written with nbgrader's default format (UTC)."""
    text = text.strip()
    if text.endswith(" UTC"):
        text = text[: -len(" UTC")]
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)


def write_timestamp(folder: Path, when: datetime) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    path.write_text(format_timestamp(when))
    return path


def read_timestamp(folder: Path) -> datetime | None:
    path = folder / FILE
    return parse_timestamp(path.read_text()) if path.is_file() else None


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
