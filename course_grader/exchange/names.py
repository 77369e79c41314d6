"""What an inbound folder's name claims (``<student>+<assignment>+<time>[+<random>]``).

The name is the student's word: it says which student and which assignment
the folder is meant for, nothing more is taken from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    student: str
    assignment: str
    stamp: str  # the time the name states; an untrusted note only


def parse_folder_name(name: str, assignment: str) -> Claim | None:
    """The claim of an inbound folder for ``assignment``, or None when it is not one.

    nbgrader writes ``student+assignment+timestamp+random`` (the random part
    is optional); student ids may themselves contain ``+``.
    """
    parts = name.split("+")
    for tail in (3, 2):  # with and without the random part
        if len(parts) > tail and parts[-tail] == assignment:
            student = "+".join(parts[:-tail])
            if student and "/" not in student and "\0" not in student:
                return Claim(student, assignment, parts[-tail + 1])
    return None
