"""Where the browser tests find the course: the repository, the student edition."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STUDENT_EDITION = ROOT / "notebooks"
NOTEBOOK = "Initialization.ipynb"
ASSIGNMENT = "initialization"
IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")


def student_edition() -> Path:
    """The folder students receive (COURSE_STUDENT_EDITION overrides notebooks/)."""
    folder = Path(os.environ.get("COURSE_STUDENT_EDITION", STUDENT_EDITION))
    if not (folder / NOTEBOOK).exists():
        pytest.fail(f"the student edition {folder / NOTEBOOK} does not exist; "
                    "generate it with `python3 tasks.py release`")
    return folder


def copy_student_edition(target: Path) -> Path:
    shutil.copytree(student_edition(), target, ignore=IGNORED)
    return target
