"""The coordinator never waits for ever on a task (``Engine.grade``'s bound).

A real local Dask cluster of two worker processes runs a stand-in task: one
student's task never returns, one raises, the others return.  The stuck one
comes back as ``TaskOverdue`` once nothing has finished for the bound, the
others as their results; the loop ends.
"""

from __future__ import annotations

import io
import time

import pytest

from course_grader.batch.engine import Engine, TaskOverdue, task_bound
from course_grader.batch.task import SubmissionFiles
from course_grader.sandbox.bubblewrap import Limits

pytestmark = pytest.mark.slow

BOUND = 10.0


def stand_in(shared, sub: SubmissionFiles):
    """What a worker runs instead of task.grade (module level: workers import it)."""
    if sub.student == "stuck":
        time.sleep(3600)  # a task that never returns
    if sub.student == "raises":
        raise ValueError("a bug of ours")
    return f"graded {sub.student}"


def test_a_task_that_never_returns_is_overdue_and_the_rest_arrive():
    subs = [SubmissionFiles(s, "") for s in ("ada", "raises", "bob", "cy", "stuck")]
    with Engine(None, 2, io.StringIO()) as engine:
        # both workers up and the stand-in imported: the bound counts grading time only
        warm = [SubmissionFiles(f"warm{i}", "") for i in range(4)]
        assert len(dict(engine.grade(None, iter(warm), 300, run=stand_in))) == 4
        started = time.monotonic()
        got = dict(engine.grade(None, iter(subs), BOUND, run=stand_in))
    took = time.monotonic() - started
    assert {s: got[s] for s in ("ada", "bob", "cy")} == {
        s: f"graded {s}" for s in ("ada", "bob", "cy")}
    assert isinstance(got["raises"], ValueError)
    assert isinstance(got["stuck"], TaskOverdue) and "no result within 10 s" in str(got["stuck"])
    assert took < 120, took


def test_the_bound_covers_the_longest_legitimate_task():
    limits = Limits()
    # a newly joined worker grades two canaries before its student, each up to the
    # notebook's deadline (--full) and the grading child's CPU cap
    assert task_bound(limits) > 3 * limits.notebook_timeout
    assert task_bound(Limits(notebook_timeout=60)) < task_bound(limits)
