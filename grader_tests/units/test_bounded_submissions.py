"""Folders a student built, and exceptions of a task, never crash or stall the class.

The coordinator's content hash (``coordinator._check``), the worker's read of the
submission (``task.read_submission``), preflight and ``task.grade`` on deep, wide,
linked and special trees handed in beside the notebook; a task whose exception
cannot be pickled back comes back as data.  No nbgrader run, no kernel.
"""

from __future__ import annotations

import os
import pickle
import threading
import types

import nbformat
import pytest
from tiny import SPEC, release
from tree_helpers import deep_chain, removed_after, wide_folder

from course_grader.batch import coordinator, task
from course_grader.batch.outcome import StudentResult
from course_grader.batch.preflight import check_submission, preflight
from course_grader.batch.worker_state import WorkerState, remove_folder
from course_grader.verdict.child import GraderBroken


def _folder(tmp_path):
    folder = tmp_path / "course" / "submitted" / "s" / "doubling"
    folder.mkdir(parents=True)
    nbformat.write(release(), folder / "Doubling.ipynb")
    return folder


def _hostile(kind: str, folder, tmp_path) -> str:
    """Build one hostile tree beside the notebook; the words its refusal must contain."""
    if kind == "deep":
        (folder / "chain").mkdir()
        deep_chain(folder / "chain", 1500)
        return "nested more than"
    if kind == "wide":
        wide_folder(folder, 1000)
        return "more than 200 files"
    if kind == "link":
        (folder / "model.py").symlink_to(tmp_path / "course")
        return "symbolic link"
    if kind == "fifo":
        os.mkfifo(folder / "data.npy")
        return "FIFO"
    if kind == "hardlink":
        (tmp_path / "classmate.ipynb").write_text("{}")
        os.link(tmp_path / "classmate.ipynb", folder / "copy.ipynb")
        return "hard link"
    raise AssertionError(kind)


KINDS = ["deep", "wide", "link", "fifo", "hardlink"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_coordinators_hash_refuses_instead_of_crashing(tmp_path, kind):
    folder = _folder(tmp_path)
    with removed_after(folder):
        says = _hostile(kind, folder, tmp_path)
        digest, refused = coordinator._check(folder.parent, "doubling")
    assert refused is not None and says in refused
    assert digest.startswith("refused-")


@pytest.mark.parametrize("kind", KINDS)
def test_the_workers_read_and_preflight_refuse_with_the_reason(tmp_path, kind):
    folder = _folder(tmp_path)
    with removed_after(folder):
        says = _hostile(kind, folder, tmp_path)
        sub = task.read_submission(folder, "s", "h")
        report = preflight(tmp_path / "course", "s", release(), tmp_path / "work", "doubling",
                           "Doubling")
    assert sub.refused is not None and says in sub.refused and sub.files == {}
    pickle.loads(pickle.dumps(sub))  # crosses to a worker as plain data
    assert report.failure and says in report.failure
    assert not (tmp_path / "work" / "s").exists() or not any((tmp_path / "work" / "s").iterdir())


def test_an_honest_folder_reads_back_with_the_coordinators_hash(tmp_path):
    folder = _folder(tmp_path)
    (folder / "plots").mkdir()
    (folder / "empty").mkdir()
    (folder / "plots" / "cost.png").write_bytes(b"\x89PNG....")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "Doubling-checkpoint.ipynb").write_text("{}")
    digest, refused = check_submission(folder)
    sub = task.read_submission(folder, "s", digest)
    assert refused is None and sub.refused is None
    assert sorted(sub.files) == ["Doubling.ipynb", "plots/cost.png"]
    copy = tmp_path / "copy"
    task._write_submission(sub, copy)
    assert check_submission(copy) == (digest, None)  # the worker's preflight hash agrees


class Unpicklable(Exception):
    """An exception Dask could not send back: it holds a lock."""

    def __init__(self):
        super().__init__("boom [4, 7, 3, 5, 1]")
        self.lock = threading.Lock()


@pytest.fixture
def worker(tmp_path):
    """A worker's state already holding a prepared set-up (no gradebook, no nbgrader)
    for the bundle key "k"."""
    with WorkerState() as state:
        (tmp_path / "base").mkdir()
        with state.prepared("k", lambda: types.SimpleNamespace(spec=SPEC,
                                                               root=tmp_path / "base")):
            pass
        yield state


@pytest.fixture
def fake_base():
    return types.SimpleNamespace(key="k")


def test_an_exception_that_cannot_be_pickled_comes_back_as_a_failure(fake_base, worker,
                                                                     monkeypatch):
    with pytest.raises(TypeError):
        pickle.dumps(Unpicklable())  # what used to leave the future pending for ever

    def explode(*args, **kwargs):
        raise Unpicklable()
    monkeypatch.setattr(task, "_grade", explode)
    graded = task.grade(fake_base, task.SubmissionFiles("s", "h"), worker, check_canaries=False)
    result = StudentResult.from_dict(pickle.loads(pickle.dumps(graded)).result)
    assert result.status.startswith("failed: internal error: Unpicklable")
    assert not result.gradable and result.score is None  # reported, never a 0


def test_a_broken_set_up_still_stops_the_class_as_plain_text(fake_base, worker, monkeypatch):
    class Odd(GraderBroken):
        def __init__(self):
            super().__init__("no reference data")
            self.lock = threading.Lock()

    def broken(*args, **kwargs):
        raise Odd()
    monkeypatch.setattr(task, "_grade", broken)
    with pytest.raises(GraderBroken) as raised:
        task.grade(fake_base, task.SubmissionFiles("s", "h"), worker, check_canaries=False)
    assert type(raised.value) is GraderBroken and "no reference data" in str(raised.value)
    pickle.dumps(raised.value)


def test_a_refused_submission_fails_on_the_worker_without_grading(fake_base, worker, monkeypatch):
    monkeypatch.setattr(task, "preflight", lambda *a: pytest.fail("preflight ran"))
    graded = task.grade(fake_base, task.SubmissionFiles("s", "h", refused="'x' is a FIFO"), worker,
                        check_canaries=False)
    result = StudentResult.from_dict(graded.result)
    assert result.status == "failed: the submission folder was refused: 'x' is a FIFO"


def test_a_task_never_leaves_a_deep_folder_behind_nor_raises(tmp_path):
    root = tmp_path / "student"
    root.mkdir()
    deep_chain(root, 3000)
    remove_folder(root)
    assert not root.exists()


def test_failures_of_ours_are_not_saved_as_the_students_result(fake_base, worker, monkeypatch):
    from course_grader.batch.engine import TaskOverdue
    from course_grader.batch.outcome import failed_before_grading

    overdue = failed_before_grading(SPEC, "s", "h", str(TaskOverdue(60)))
    monkeypatch.setattr(task, "_grade", lambda *a: 1 / 0)
    internal = StudentResult.from_dict(task.grade(fake_base, task.SubmissionFiles("s", "h"), worker,
                                                  check_canaries=False).result)
    refused = failed_before_grading(SPEC, "s", "h", "the submission folder was refused: x")
    assert overdue.status.startswith(coordinator.TRANSIENT)
    assert internal.status.startswith(coordinator.TRANSIENT)
    assert not refused.status.startswith(coordinator.TRANSIENT)  # the folder's own doing
