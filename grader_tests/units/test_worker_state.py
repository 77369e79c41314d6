"""Who keeps what between gradings: a worker's ``WorkerState`` and the runners' pools.

Prepared set-ups are kept per worker, the least recently used past ``keep`` go
(once no grading holds them), ``close`` removes every folder, and a forked copy
of a state never removes its parent's.  The verdict's runners belong to the
worker that configured them, or else to the nbgrader application running the
step, never to a module.  Nothing here starts a runner or nbgrader.
"""

from __future__ import annotations

import copy
import os
import types

import pytest
from traitlets.config import Config, Configurable

from course_grader.batch.worker_state import WorkerState
from course_grader.verdict.child import RunnerPool
from course_grader.verdict.preprocessor import TrustedVerdict, application_runners


def _maker(tmp_path, made: list):
    def make(name: str):
        def prepare():
            root = tmp_path / name
            (root / "inside").mkdir(parents=True)
            made.append(name)
            return types.SimpleNamespace(root=root)
        return prepare
    return make


def _use(state: WorkerState, key: str, make) -> None:
    with state.prepared(key, make(key)):
        pass


def test_a_set_up_is_prepared_once_and_the_least_recently_used_goes(tmp_path):
    made: list[str] = []
    make = _maker(tmp_path, made)
    with WorkerState(keep=2) as state:
        _use(state, "a", make)
        _use(state, "b", make)
        _use(state, "a", make)  # a used again: b is now the oldest
        _use(state, "c", make)
        assert made == ["a", "b", "c"]
        assert state.prepared_keys() == ["a", "c"]
        assert not (tmp_path / "b").exists()
        assert (tmp_path / "a" / "inside").is_dir() and (tmp_path / "c").is_dir()
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()  # closed


def test_a_set_up_in_use_stays_until_its_grading_lets_go(tmp_path):
    make = _maker(tmp_path, [])
    with WorkerState(keep=1) as state:
        with state.prepared("a", make("a")) as held:
            _use(state, "b", make)  # a is evicted while held
            assert state.prepared_keys() == ["b"]
            assert (held.root / "inside").is_dir()
        assert not (tmp_path / "a").exists()
        assert (tmp_path / "b").is_dir()


def test_a_set_up_that_cannot_be_prepared_is_not_kept(tmp_path):
    def broken():
        raise RuntimeError("no gradebook")

    with WorkerState() as state:
        with pytest.raises(RuntimeError, match="no gradebook"):
            with state.prepared("a", broken):
                pass
        assert state.prepared_keys() == []


def test_canaries_passed_are_remembered_per_state_and_bundle():
    first, second = WorkerState(), WorkerState()
    with first, second:
        first.mark_canaries_passed("k")
        assert first.canaries_passed("k")
        assert not first.canaries_passed("other") and not second.canaries_passed("k")


def test_a_forked_copy_never_removes_its_parents_folders(tmp_path):
    make = _maker(tmp_path, [])
    with WorkerState() as state:
        _use(state, "a", make)
        pid = os.fork()
        if pid == 0:  # the copy closes its state, as a forked worker would on leaving
            state.close()
            os._exit(0)
        os.waitpid(pid, 0)
        assert (tmp_path / "a" / "inside").is_dir()
    assert not (tmp_path / "a").exists()


def test_plain_autograde_steps_of_one_application_share_its_runners():
    """nbgrader makes a new step per notebook: the pool is the application's."""
    app = Configurable()
    exporter = Configurable(parent=app)
    first, second = TrustedVerdict(parent=exporter), TrustedVerdict(parent=exporter)
    pool = application_runners(first)
    assert isinstance(pool, RunnerPool) and application_runners(second) is pool
    other = TrustedVerdict(parent=Configurable())
    assert application_runners(other) is not pool


def test_a_configured_pool_is_used_as_it_is_never_copied():
    """traitlets deep-copies configured values; a copied pool would start runners twice."""
    with RunnerPool() as pool:
        step = TrustedVerdict(config=Config({"TrustedVerdict": {"runners": pool}}))
        assert step.runners is pool
        assert copy.deepcopy(pool) is pool
