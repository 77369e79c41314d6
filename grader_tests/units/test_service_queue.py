"""The grade-on-submit queue: newest only, rationing, fairness, exactly once across restarts."""

from __future__ import annotations

import pytest

from course_grader.service.policy import GradeOnSubmit
from course_grader.service.queue import (
    DAY,
    DONE,
    FAILED,
    GRADING,
    HELD,
    SUPERSEDED,
    WAITING,
    GradingQueue,
)

A = "initialization"


@pytest.fixture
def queue(tmp_path):
    q = GradingQueue(tmp_path / "queue.sqlite")
    yield q
    q.close()


def policy(**kw) -> GradeOnSubmit:
    return GradeOnSubmit(**{"assignments": [A], "cooldown_seconds": 60, "max_per_day": 3, **kw})


def test_offer_is_idempotent_and_only_the_newest_waits(queue):
    assert queue.offer("a1", "alice", A, 10.0)
    assert not queue.offer("a1", "alice", A, 10.0)
    assert queue.offer("a2", "alice", A, 20.0)
    assert queue.state("a1") == (SUPERSEDED, "a newer submission arrived")
    assert queue.offer("a0", "alice", A, 5.0)  # arrives late in the log: never graded
    assert queue.state("a0")[0] == SUPERSEDED
    job = queue.take(30.0, policy(), {})
    assert (job.arrival, job.attempt) == ("a2", 1)
    assert queue.take(31.0, policy(), {}) is None


def test_a_student_in_a_loop_never_delays_the_others(queue):
    p = policy()
    queue.offer("loop-0", "mallory", A, 0.0)
    job = queue.take(1.0, p, {})
    assert job.student == "mallory"
    for i in range(1, 50):  # a submission every 0.1 s while the first is graded
        queue.offer(f"loop-{i}", "mallory", A, 1.0 + i / 10)
    queue.offer("b1", "bob", A, 4.0)
    queue.offer("c1", "carol", A, 4.5)
    assert queue.finish("loop-0", DONE, 6.0)
    order = [queue.take(6.0 + k, p, {}) for k in range(3)]
    assert [j.student for j in order[:2]] == ["bob", "carol"]
    assert order[2] is None, "mallory waits for the cooldown"
    assert "once every 60 s" in queue.why_waiting("mallory", A, 8.0, p)
    later = queue.take(61.0, p, {})
    assert later.arrival == "loop-49", "only her newest submission is graded"
    assert queue.counts()[SUPERSEDED] == 48


def test_daily_cap_holds_a_submission_back_without_losing_it(queue):
    p = policy(cooldown_seconds=0, max_per_day=2)
    for i in range(2):
        queue.offer(f"s{i}", "alice", A, float(i * 100))
        job = queue.take(float(i * 100 + 1), p, {})
        queue.finish(job.arrival, DONE, float(i * 100 + 2))
    queue.offer("s2", "alice", A, 300.0)
    assert queue.take(301.0, p, {}) is None
    assert "2 submissions were graded in the last 24 hours" in queue.why_waiting(
        "alice", A, 301.0, p)
    assert queue.state("s2")[0] == WAITING
    assert queue.take(DAY + 2.0, p, {}).arrival == "s2"


def test_after_the_due_date_submissions_are_held_for_the_instructor(queue):
    queue.offer("late", "alice", A, 200.0)
    queue.offer("early", "bob", A, 50.0)
    assert queue.take(201.0, policy(), {A: 100.0}).arrival == "early"
    assert queue.state("late")[0] == HELD
    queue.offer("late2", "carol", A, 200.0)
    assert queue.take(202.0, policy(after_due="grade"), {A: 100.0}).arrival == "late2"


def test_a_killed_service_grades_every_submission_exactly_once(tmp_path):
    path = tmp_path / "queue.sqlite"
    first = GradingQueue(path)
    first.offer("x", "alice", A, 1.0)
    first.offer("y", "bob", A, 2.0)
    taken = first.take(3.0, policy(), {})
    first.close()  # killed mid-grade: "x" is still open
    second = GradingQueue(path)
    assert second.recover() == [taken.arrival]
    assert second.state(taken.arrival)[0] == WAITING
    again = second.take(4.0, policy(cooldown_seconds=0), {})
    other = second.take(4.0, policy(cooldown_seconds=0), {})
    assert {again.arrival, other.arrival} == {"x", "y"}
    assert again.attempt == 2
    assert second.finish(again.arrival, DONE, 5.0)
    assert not second.finish(again.arrival, DONE, 6.0), "recorded once"
    assert second.state(other.arrival)[0] == GRADING


def test_a_submission_that_kills_the_service_each_time_fails_after_three_tries(tmp_path):
    path = tmp_path / "queue.sqlite"
    p = policy(cooldown_seconds=0, max_per_day=10)
    for _ in range(3):
        q = GradingQueue(path)
        q.recover()
        q.offer("poison", "mallory", A, 1.0)
        assert q.take(2.0, p, {}) is not None
        q.close()
    q = GradingQueue(path)
    q.recover()
    assert q.state("poison") == (FAILED, "grading was interrupted 3 times")
    q.close()


def test_finish_refuses_states_that_are_not_an_end(queue):
    with pytest.raises(ValueError):
        queue.finish("x", WAITING, 1.0)


def test_a_submission_waits_while_its_authors_previous_one_is_graded(queue):
    p = policy(cooldown_seconds=0)
    queue.offer("first", "alice", A, 1.0)
    assert queue.take(2.0, p, {}).arrival == "first"
    queue.offer("second", "alice", A, 3.0)
    assert queue.take(4.0, p, {}) is None, "one grading per student at a time"
    assert queue.finish("first", DONE, 5.0)
    assert queue.take(5.0, p, {}).arrival == "second"
