"""The course folder: which one by default, the assignments it holds, their notebooks.

Every command (``release``, ``grade``, ``export-lms``) takes the assignment by
name.  Without a name it takes the course's only assignment under ``source/``;
with several there it refuses to guess and lists them.  Nothing here names an
assignment: names come from the folders nbgrader reads.
"""

from __future__ import annotations

from pathlib import Path

# the repository this package ships in is itself an nbgrader course folder
COURSE_ROOT = Path(__file__).resolve().parent.parent


class UnknownAssignment(ValueError):
    """No assignment of that name under ``source/``, or none named where several are."""


def assignments(course: Path) -> list[str]:
    """The assignments of ``course``: the folders under its ``source/``, sorted."""
    source = Path(course) / "source"
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name != "__pycache__")


def choose_assignment(course: Path, name: str | None = None) -> str:
    """``name`` if ``course`` has that assignment; without a name, its only one."""
    found = assignments(course)
    listed = ", ".join(found) if found else "none"
    source = Path(course) / "source"
    if name is None:
        if len(found) == 1:
            return found[0]
        raise UnknownAssignment(f"name the assignment: {source} holds {len(found)} "
                                f"({listed})")
    if name not in found:
        raise UnknownAssignment(f"no assignment {name!r} in {source} (it holds: {listed})")
    return name


def notebook_names(course: Path, assignment: str) -> list[str]:
    """The notebooks of ``assignment`` as nbgrader names them: the ``.ipynb`` files of its
    source folder, without the suffix."""
    return sorted(p.stem for p in (Path(course) / "source" / assignment).glob("*.ipynb"))
