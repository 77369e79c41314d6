"""docs/code-map.md names every module of course_grader/, and only files that exist.

The map's table names modules in its first column. A bold folder row
(**`course_grader/verdict/`**) starts that folder's rows; any other row naming a
folder (`source/initialization/`, `grader_tests/`) ends it, and names in rows
outside a folder are paths from the repository's root (`tasks.py`). Package
plumbing (`__init__.py`, `__main__.py`) need not be listed.
"""

from __future__ import annotations

import re

from course_paths import ROOT

CODE_MAP = ROOT / "docs" / "code-map.md"
BOLD_FOLDER = re.compile(r"\s*\*\*`([\w/]+/)`\*\*\s*")


def listed_files(text: str) -> set[str]:
    """Paths from the repository root of every .py file the map's first column names."""
    folder, found = "", set()
    for line in text.splitlines():
        if not line.startswith("|") or line.startswith("| ---"):
            continue
        first = line.split("|")[1]
        bold = BOLD_FOLDER.fullmatch(first)
        if bold:
            folder = bold[1]
            continue
        names = re.findall(r"`([\w./-]+)`", first)
        if any(name.endswith("/") for name in names):
            folder = ""
        found.update(folder + name for name in names if name.endswith(".py"))
    return found


def modules() -> set[str]:
    return {str(path.relative_to(ROOT)) for path in (ROOT / "course_grader").rglob("*.py")
            if not (path.name.startswith("__") and path.name.endswith("__.py"))}


def test_every_module_is_on_the_map():
    missing = sorted(modules() - listed_files(CODE_MAP.read_text()))
    assert not missing, f"add a row to docs/code-map.md for: {', '.join(missing)}"


def test_every_file_on_the_map_exists():
    gone = sorted(path for path in listed_files(CODE_MAP.read_text())
                  if not (ROOT / path).is_file())
    assert not gone, f"docs/code-map.md names files that do not exist: {', '.join(gone)}"


def test_the_reader_follows_folders():
    """The parser itself: a bold folder row scopes the rows under it, a folder row ends it."""
    text = ("| `tasks.py` | x |\n| --- | --- |\n| **`course_grader/`** | x |\n"
            "| `cli.py`, `table.py` | x |\n| **`course_grader/batch/`** | x |\n"
            "| `child.py` → `runner.py` | the `other.py` here is not a row name |\n"
            "| `grader_tests/` | x |\n| `conftest.py` | x |\n")
    assert listed_files(text) == {"tasks.py", "course_grader/cli.py", "course_grader/table.py",
                                  "course_grader/batch/child.py",
                                  "course_grader/batch/runner.py", "conftest.py"}
