"""One prepared grading child serves many submissions: as fast as one, as safe as many.

The runner runs the setup cell once and each submission in fresh forks.  A
submission's code must not change the next submission's verdict in any way:
every attack below runs as student A, then a probe student B is graded by the
same runner.  B's answers are correct only while the sandbox is as clean as a
fresh one; if anything A did survived, B loses points.
"""

from __future__ import annotations

import os
import shutil
import signal
import textwrap

import pytest
import sealed_payloads as payloads

from course_grader.assignments.initialization import EXERCISES
from course_grader.assignments.initialization.sample_class import sample_class
from course_grader.sandbox.bubblewrap import Limits
from course_grader.verdict import child as child_module
from course_grader.verdict import grading
from course_grader.verdict.child import ChildOptions, RunnerPool
from course_grader.verdict.grading import GradingSetup, default_uid
from course_paths import ROOT

pytestmark = [pytest.mark.sandbox,
              pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap missing: apt-get install bubblewrap")]

SETUP = GradingSetup.from_course(ROOT, "initialization", "Initialization")
CLASS = {sub.student: sub for sub in sample_class()}
CORRECT = CLASS["ada_correct"].answers
# full marks per exercise, from the records (not typed in here)
FULL = {name: record.points for name, record in EXERCISES.items()}


def options(**changes) -> ChildOptions:
    return ChildOptions(sandboxed=True, uid=default_uid(), **changes)


def points(answers, opts) -> dict[str, float]:
    totals: dict[str, float] = {}
    for grade_id, (_, awarded) in grade_answers(SETUP, answers, opts).items():
        exercise = SETUP.tests[grade_id][0]
        totals[exercise] = totals.get(exercise, 0.0) + awarded
    return totals


def with_zeros(prelude: str, condition: str = "True") -> dict[str, str]:
    """Correct answers whose zeros function first runs ``prelude`` (the attack or the
    probe) and returns the right arrays only while ``condition`` holds."""
    body = textwrap.indent(textwrap.dedent(prelude), "    ")
    code = (f"def initialize_parameters_zeros(layers_dims):\n{body}\n"
            f"    if not ({condition}):\n        return {{}}\n"
            "    return {k: v for l in range(1, len(layers_dims)) for k, v in (\n"
            "        ('W' + str(l), np.zeros((layers_dims[l], layers_dims[l - 1]))),\n"
            "        ('b' + str(l), np.zeros((layers_dims[l], 1))))}\n")
    return dict(CORRECT, zeros=code)


# the running test's pool of runners (``fresh_runners``), which ``grade_answers`` grades with
POOL: list[RunnerPool] = []


@pytest.fixture
def fresh_runners():
    """Every test grades with a pool of runners of its own, closed at its end."""
    with RunnerPool() as runners:
        POOL.append(runners)
        yield runners
        POOL.remove(runners)


def grade_answers(setup, answers, opts):
    return grading.grade_answers(setup, answers, opts, POOL[-1])


def warm_children() -> list:
    return POOL[-1].children()


def test_the_sample_class_graded_by_one_runner_gets_its_points(fresh_runners):
    opts = options()
    for sub in sample_class():
        assert points(sub.answers, opts) == {ex: float(p) for ex, p in sub.expected.items()}, \
            sub.student
    [runner] = warm_children()
    assert runner.served == len(sample_class())


def test_the_helpers_make_a_probe_that_can_fail(fresh_runners):
    assert points(with_zeros("pass", "False"), options())["zeros"] == 0.0
    assert points(with_zeros("pass"), options()) == FULL


ATTACKS = {
    # a process that outlives A and writes full-mark results into every later job
    "daemon forging results": ("""
        import os, time, json, glob
        if os.fork() == 0:
            os.setsid()
            for _ in range(400):
                for folder in glob.glob('../*/out/*') + glob.glob('/tmp/*'):
                    try:
                        with open(folder + '/result.json', 'w') as fh:
                            json.dump({'defined': True, 'calls': []}, fh)
                    except OSError:
                        pass
                time.sleep(0.01)
            os._exit(0)
        """, "True"),
    # a module planted where the setup cell's imports are found
    "planted module": ("""
        import sys
        for folder in sys.path[:3] + ['.', '..', '/tmp']:
            try:
                with open(folder + '/planted_by_a.py', 'w') as fh:
                    fh.write('PLANTED = True')
            except OSError:
                pass
        """, "True"),
    "files left in scratch space": ("""
        import os
        for folder in ('/tmp', '/dev/shm'):
            try:
                with open(folder + '/left_by_a', 'w') as fh:
                    fh.write('x')
                os.makedirs(folder + '/dir_by_a/deeper', exist_ok=True)
            except OSError:
                pass
        """, "True"),
    # the runner's pipes: forged answers to the grader, or a stolen next job
    "the runner's pipes": ("""
        import os
        for fd in range(3, 64):
            for target in ('/proc/%d/fd/%d' % (os.getppid(), fd), '/proc/self/fd/%d' % fd):
                try:
                    out = os.open(target, os.O_WRONLY)
                    os.write(out, b'done ' + b'0' * 32 + b'\\n')
                    os.close(out)
                except OSError:
                    pass
        """, "True"),
    "killing the runner": ("""
        import os, signal
        for target in (os.getppid(), -1):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
        """, "True"),
    "stopping the runner": ("""
        import os, signal
        try:
            os.kill(os.getppid(), signal.SIGSTOP)
        except OSError:
            pass
        """, "True"),
}

# what B checks: nothing A made is visible to it, and its own folder is fresh
PROBE = """
import os, sys, glob
seen = [p for p in glob.glob('/tmp/*') + glob.glob('/dev/shm/*')
        if 'by_a' in p]
try:
    import planted_by_a
    seen.append('planted module')
except ImportError:
    pass
"""


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_what_a_submission_does_never_reaches_the_next(fresh_runners, attack):
    prelude, condition = ATTACKS[attack]
    opts = options(exercise_seconds=6)
    points(CORRECT, opts)  # a runner that has served before
    points(with_zeros(prelude, condition), opts)
    assert points(with_zeros(PROBE, "not seen"), opts) == FULL
    # and a wrong probe stays wrong: nothing forged its results
    assert points(dict(with_zeros(PROBE, "False")), opts)["zeros"] == 0.0
    assert points(CORRECT, opts) == FULL


def test_a_runner_that_stops_answering_is_replaced_and_the_submission_graded_afresh(
        fresh_runners):
    # as root no student can signal the runner; unprivileged, one could (see ATTACKS):
    # either way the grader must not wait forever nor take a half-finished job
    opts = options(exercise_seconds=1)
    points(CORRECT, opts)
    [first] = warm_children()
    os.killpg(first.proc.pid, signal.SIGSTOP)
    try:
        assert points(with_zeros(PROBE, "not seen"), opts) == FULL
    finally:
        if first.proc is not None:
            os.killpg(first.proc.pid, signal.SIGCONT)
    assert not first.alive()
    assert [c for c in warm_children() if c is first] == []


def test_a_runner_is_replaced_after_its_quota(fresh_runners, monkeypatch):
    monkeypatch.setattr(child_module, "RECYCLE_AFTER", 2)
    opts = options()
    seen = set()
    for _ in range(5):
        assert points(CORRECT, opts) == FULL
        seen.update(str(c.folder) for c in warm_children())
    assert len(seen) == 3


def test_a_broken_setup_cell_still_stops_grading(fresh_runners):
    broken = GradingSetup("import module_that_is_not_there\n", SETUP.provided, SETUP.tests,
                          declaration=SETUP.declaration)
    with pytest.raises(child_module.GraderBroken, match="module_that_is_not_there"):
        grade_answers(broken, CORRECT, options())
    assert warm_children() == []


# -- sealed jobs: state the sandbox does not own, and clean-up that walks nothing --------------

SMALL = Limits(tmp_mb=8, output_mb=8)


def zeros_only(code: str) -> dict[str, str]:
    """A submission whose only answer is this zeros cell (the others stay unanswered)."""
    return {"zeros": code}


@pytest.mark.parametrize("uid", ["own uids", "no uid switch"])
def test_a_job_leaves_nothing_for_the_next_and_its_classmates_keep_full_marks(
        fresh_runners, uid):
    """The attack stashes its answer in every kind of state and leaves unremovable trees;
    classmates on the same runner keep full marks, and a student with no answers who
    runs whatever was left behind scores 0."""
    opts = options(limits=SMALL, exercise_seconds=20)
    if uid == "no uid switch":  # the path a grader without root takes: one uid, no caps
        opts = ChildOptions(sandboxed=True, uid=None, limits=SMALL, exercise_seconds=20)
    assert points(dict(CORRECT, zeros=payloads.probe_cell()), opts) == FULL
    [runner] = warm_children()
    assert points(dict(CORRECT, zeros=payloads.attack_cell(ceiling_mb=24, bound_mb=9)),
                  opts) == FULL  # its own answer, with every fill stopped by 8 MiB tmpfs
    for _ in range(2):
        assert points(dict(CORRECT, zeros=payloads.probe_cell()), opts) == FULL
    assert points(zeros_only(payloads.THIEF), opts)["zeros"] == 0.0
    assert points(zeros_only(payloads.THIEF), opts) == {"zeros": 0.0, "random": 0.0, "he": 0.0}
    # the same runner served them all: nothing was cleaned by throwing it away
    assert warm_children() == [runner] and runner.served == 6
    # and nothing of any job stayed in the runner's folder on the host
    assert list(runner.jobs.iterdir()) == []
    assert sum(f.stat().st_size for f in runner.folder.rglob("*") if f.is_file()) < 2**20


def test_the_thief_would_score_if_the_stash_survived(fresh_runners):
    """The thief is a real thief: given the stash in its own job, it scores full marks."""
    opts = options(limits=SMALL)
    attack = payloads.attack_cell()
    own = attack.rindex("def initialize_parameters_zeros")  # its own answer, not the stash
    stash_then_steal = attack[:own] + payloads.THIEF.split(payloads.COMMON, 1)[1]
    assert points(zeros_only(stash_then_steal), opts)["zeros"] == 10.0


def test_keyrings_are_shut_for_student_code(fresh_runners):
    opts = options()
    probe = payloads.COMMON + payloads.ZEROS.replace(
        "    return parameters",
        "    if _libc.syscall(248, b'user', b'k', b'v', 1, -4) != -1 or \\\n"
        "            ctypes.get_errno() not in (1, 38):\n"
        "        return {}\n    return parameters")
    assert points(dict(CORRECT, zeros=probe), opts) == FULL


def test_a_job_that_cannot_be_proven_gone_retires_its_runner(fresh_runners, monkeypatch):
    """A supervisor that does not finish cleanly: the submission is graded again in a
    fresh runner, and the first one never serves again."""
    opts = options()
    points(CORRECT, opts)
    [first] = warm_children()
    # the job's copy-out folder replaced by a file under the runner: its supervisor fails
    real_grade = child_module.GradingChild.grade
    real_chmod = child_module.Path.chmod

    def chmod_then_replace(path, mode, **kwargs):
        real_chmod(path, mode, **kwargs)
        if path.name == "out":
            path.rmdir()
            path.write_text("not a folder")

    def sabotaged(self, exercises):
        if self is not first:
            return real_grade(self, exercises)
        monkeypatch.setattr(child_module.Path, "chmod", chmod_then_replace)
        try:
            return real_grade(self, exercises)
        finally:
            monkeypatch.setattr(child_module.Path, "chmod", real_chmod)

    monkeypatch.setattr(child_module.GradingChild, "grade", sabotaged)
    assert points(CORRECT, opts) == FULL
    assert not first.alive() and first not in warm_children()


def test_a_sandbox_that_cannot_seal_jobs_stops_grading_before_any_student(fresh_runners,
                                                                          monkeypatch):
    real = child_module.bwrap_argv

    def without_mount_rights(*args, **kwargs):
        return real(*args, **dict(kwargs, job_namespaces=False))

    monkeypatch.setattr(child_module, "bwrap_argv", without_mount_rights)
    with pytest.raises(child_module.GraderBroken, match="seal each submission"):
        grade_answers(SETUP, CORRECT, options())
    assert warm_children() == []
