"""The plain path's guard (``plain_guard.py``) on nbgrader's own converter objects.

No nbgrader command runs here: a real ``Autograde`` converter is given the
listing nbgrader makes, and the guard's exporter is made the way nbgrader
makes it; the end-to-end run is in batch/test_bounded_class.py.
"""

from __future__ import annotations

import logging
import os

from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from tree_helpers import deep_chain, removed_after

from course_grader.plain_guard import GuardedExporter, OnlyReleasedFiles


def _course(tmp_path, students):
    root = tmp_path / "course"
    for student in students:
        folder = root / "submitted" / student / "a"
        folder.mkdir(parents=True)
        (folder / "N.ipynb").write_text("{}")
    return root


def _converter(root):
    coursedir = CourseDirectory(root=str(root))
    converter = Autograde(coursedir=coursedir)
    converter.assignments = {
        str(p): [str(p / "N.ipynb")] for p in sorted((root / "submitted").glob("*/a"))}
    return converter


def test_unsafe_folders_leave_the_run_and_the_rest_stay(tmp_path, caplog):
    root = _course(tmp_path, ["a_link", "b_fifo", "c_deep", "d_linked_nb", "e_hard", "ok"])
    sub = root / "submitted"
    (sub / "a_link" / "a" / "gradebook.db").symlink_to(root / "gradebook.db")
    os.mkfifo(sub / "b_fifo" / "a" / "data.npy")
    deep_chain(sub / "c_deep" / "a", 1500)
    (sub / "d_linked_nb" / "a" / "N.ipynb").unlink()
    (sub / "d_linked_nb" / "a" / "N.ipynb").symlink_to(sub / "ok" / "a" / "N.ipynb")
    (tmp_path / "elsewhere.ipynb").write_text("{}")
    os.link(tmp_path / "elsewhere.ipynb", sub / "e_hard" / "a" / "copy.ipynb")
    (root / "autograded" / "a_link" / "a").mkdir(parents=True)  # an earlier run's output
    converter = _converter(root)
    with removed_after(sub / "c_deep"), caplog.at_level(logging.ERROR):
        GuardedExporter(parent=converter)
    assert list(converter.assignments) == [str(sub / "ok" / "a")]
    for student in ("a_link", "b_fifo", "c_deep", "d_linked_nb", "e_hard"):
        assert f"student '{student}' refused" in caplog.text
    assert "hard link" in caplog.text and "FIFO" in caplog.text and "nested" in caplog.text
    assert not (root / "autograded" / "a_link" / "a").exists()


def test_only_released_files_reach_the_kernel(tmp_path):
    root = tmp_path / "course"
    source = root / "source" / "a"
    (source / "data").mkdir(parents=True)
    for name in ("N.ipynb", "model.py", "data/x.txt"):
        (source / name).write_text("released")
    dest = root / "autograded" / "s" / "a"
    (dest / "data").mkdir(parents=True)
    (dest / "pkg").mkdir()
    for name in ("model.py", "data/x.txt", "data/extra.txt", "pkg/__init__.py", "numpy.py",
                 "timestamp.txt"):
        (dest / name).write_text("copied")
    step = OnlyReleasedFiles(config=Config({"CourseDirectory": {"root": str(root)}}))
    step.preprocess({}, {"nbgrader": {"student": "s", "assignment": "a", "notebook": "N"}})
    left = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert left == ["data/x.txt", "model.py", "timestamp.txt"]
