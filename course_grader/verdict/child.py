"""Run the untrusted grading child: a sandboxed interpreter, prepared once, per slot.

The grader (trusted) writes into a throw-away folder the course's setup cell
and copies of the provided modules that the release hands to students; the
child runs ``runner.py`` there, runs the setup cell once and then takes one
submission after another: their answer cells and the calls to make of each
function (the assignment's declaration chooses them).  It leaves data
behind; ``intake`` reads it.  The folder holds nothing secret: no reference
code, no solutions, no grader.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..sandbox.bubblewrap import Limits, bwrap_argv, bwrap_path, rlimits_argv
from ..untrusted_tree import remove_tree
from .intake import ExerciseResult, read_exercise

RUNNER = Path(__file__).parent / "untrusted" / "runner.py"
# where the child's folder appears in the sandbox: not under /tmp, which each job replaces
INSIDE = "/grading"
SETUP_SECONDS = 60  # imports of numpy and matplotlib on a loaded machine
# submissions one runner serves before a fresh one replaces it.  Each job runs in
# namespaces and tmpfs mounts of its own that die with it (runner.py), so nothing is
# known to survive a job; this bounds what nobody has thought of yet.
RECYCLE_AFTER = 50


class GraderBroken(RuntimeError):
    """The grading set-up itself failed (before any student code ran): grade nobody."""


@dataclass
class ChildOptions:
    sandboxed: bool = True
    uid: int | None = None  # first of the exercises' uids when the grader runs as root
    limits: Limits = field(default_factory=Limits)
    exercise_seconds: int = 20


@dataclass
class Job:
    """One graded function of one submission, as the runner gets it."""

    name: str
    function: str
    answer: str  # the student's answer cell, as Python (IPython syntax translated)
    calls: list[dict]  # declaration.Call.to_json() of each call
    returns: str | None = None  # what the intake reads back (declaration.RETURN_KINDS)


def to_python(code: str) -> str:
    """IPython syntax (magics, ``!cmd``) as plain Python calls; text only, nothing runs."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(code)
    except Exception:  # leave it to the child's compile() to report
        return code


class GradingChild:
    """One sandboxed runner: the setup cell run once, then any number of submissions.

    Each submission's answer cells run in fresh forks of the prepared runner
    (see ``runner.py``), under the same sandbox, uids and limits as a runner
    started for that submission alone.  ``grade`` returns None when the runner
    did not answer as it should (it died, hung or said something else), and
    ``run_child`` then grades that submission again in a fresh child.
    """

    def __init__(self, setup: str, provided: dict[str, bytes], options: ChildOptions):
        self.options = options
        self.served = 0
        self.lock = threading.Lock()
        self.folder = Path(tempfile.mkdtemp(prefix="cg-verdict-"))
        self.jobs = self.folder / "jobs"
        self.proc: subprocess.Popen | None = None
        self._buffer = b""
        try:
            self._start(setup, provided)
        except BaseException:
            self.close()
            raise

    def _start(self, setup: str, provided: dict[str, bytes]) -> None:
        options = self.options
        for name, data in provided.items():
            (self.folder / name).write_bytes(data)
        shutil.copyfile(RUNNER, self.folder / "grading_runner.py")
        (self.folder / "setup.json").write_text(json.dumps({
            "setup": setup, "exercise_seconds": options.exercise_seconds,
            "processes": options.limits.processes, "isolate": options.sandboxed,
            "tmp_mb": options.limits.tmp_mb, "output_mb": options.limits.output_mb}))
        self.jobs.mkdir()
        for path in [self.folder, self.jobs, *self.folder.glob("*.*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        here = Path(INSIDE) if options.sandboxed else self.folder
        command = [sys.executable, "-I", str(here / "grading_runner.py"),
                   str(here / "setup.json")]
        wrapper = rlimits_argv(options.limits)
        if options.sandboxed:
            if not bwrap_path():
                raise GraderBroken("bubblewrap (bwrap) is not installed; grading runs student "
                                   "code only inside it (sudo apt-get install bubblewrap)")
            # the runner and the provided modules are read-only: a student's code cannot
            # plant a module that a later submission's fork would import
            wrapper += bwrap_argv(self.jobs, None, options.limits, options.uid,
                                  {"MPLBACKEND": "Agg"}, switch_uids_inside=self._switch,
                                  read_only=[self.folder], job_namespaces=True,
                                  inside={self.folder: INSIDE})
        with open(self.folder / "stderr.txt", "wb") as errors:
            self.proc = subprocess.Popen(wrapper + command, cwd=self.jobs,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=errors, env=_environment(), process_group=0)
        first = self._read_line(time.monotonic() + SETUP_SECONDS)
        if first.strip() != b"setup-ok":
            detail = (first.decode(errors="replace").strip() or
                      (self.folder / "stderr.txt").read_text(errors="replace")[-1500:].strip())
            raise GraderBroken("the grading interpreter could not run the course's setup "
                               f"cell, so nobody can be graded: {detail or 'no output'}")

    @property
    def _switch(self) -> bool:
        # as root, in the sandbox: each exercise runs under its own uid and owns only its folder
        return self.options.sandboxed and self.options.uid is not None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def grade(self, exercises: list[Job]) -> tuple[dict[str, ExerciseResult | None], bool]:
        """The validated results per exercise, and whether the runner kept its protocol
        and proved the job's state gone (else it must not serve again).

        The job's folder holds ``job.json``, ``run`` (where the runner mounts the
        job's private tmpfs: on the host it stays empty) and ``out``, where the
        runner copies the expected result files once every process of the job
        is gone; only the runner writes there.
        """
        self.served += 1
        for leftover in self.jobs.iterdir():  # a job of a runner that broke off
            remove_tree(leftover)
        token = secrets.token_hex(16)
        work = self.jobs / token
        out = work / "out"
        out.mkdir(parents=True)
        (work / "run").mkdir()
        records = []
        for index, exercise in enumerate(exercises):
            uid = self.options.uid + index if self._switch else None
            records.append(dict(vars(exercise), uid=uid))
        (work / "job.json").write_text(json.dumps({"exercises": records}))
        for path in (work, out, work / "run", work / "job.json"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        deadline = time.monotonic() + self.options.exercise_seconds * len(exercises) + 10
        try:
            self.proc.stdin.write(f"{token}\n".encode())
            self.proc.stdin.flush()
            answer = self._read_line(deadline)
        except OSError:
            answer = b""
        intact = answer.strip() == f"done {token}".encode()
        if not intact and self.proc is not None:
            _kill(self.proc)  # it serves no one again; nothing of it may still write here
            self.proc = None
        results = {e.name: read_exercise(out, e.name, len(e.calls), e.returns)
                   for e in exercises}
        remove_tree(work)
        return results, intact

    def _read_line(self, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer and len(self._buffer) < 4096:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close(self) -> None:
        if self.proc is not None:
            _kill(self.proc)
            self.proc = None
        try:
            remove_tree(self.folder)
        except OSError:
            pass


def _environment() -> dict:
    keep = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TZ")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(HOME="/tmp", MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return env


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        try:
            stream.close()
        except OSError:
            pass


# prepared children of this process, by everything that shapes them; a grading holds
# its worker slot (and so its uids) while it uses one, so two never share a child
_WARM: dict[str, GradingChild] = {}
_WARM_LOCK = threading.Lock()
KEEP_WARM = 4  # children kept per process (one per slot it has used lately)


def _key(setup: str, provided: dict[str, bytes], options: ChildOptions) -> str:
    digest = hashlib.sha256(setup.encode())
    for name, data in sorted(provided.items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    digest.update(repr((options.sandboxed, options.uid, options.limits,
                        options.exercise_seconds)).encode())
    return digest.hexdigest()


def _take_warm(key: str) -> GradingChild | None:
    with _WARM_LOCK:
        child = _WARM.get(key)
        if child is not None and child.lock.acquire(blocking=False):
            if child.alive() and child.served < RECYCLE_AFTER:
                return child
            child.lock.release()
            _WARM.pop(key).close()
    return None


def _keep_warm(key: str, child: GradingChild) -> None:
    with _WARM_LOCK:
        if key in _WARM or not child.alive():
            child.close()
            return
        while len(_WARM) >= KEEP_WARM:
            _WARM.pop(next(iter(_WARM))).close()
        _WARM[key] = child


@atexit.register
def close_warm_children() -> None:
    with _WARM_LOCK:
        while _WARM:
            _WARM.popitem()[1].close()


def run_child(setup: str, provided: dict[str, bytes], exercises: list[Job],
              options: ChildOptions) -> dict[str, ExerciseResult | None]:
    """Run the answers in a sandboxed runner that nothing else ran in since its setup;
    the validated results per exercise.

    The runner is kept for the next submission (its setup is the costly part)
    as long as it keeps its protocol; if it does not, this submission is graded
    again in a fresh runner, whose results stand whatever the student's code
    does to it.  Raises GraderBroken when the setup cell (trusted text, run
    before any student code) fails: that is a broken grading set-up, never a
    student's 0.
    """
    key = _key(setup, provided, options)
    child = _take_warm(key)
    if child is not None:
        try:
            results, intact = child.grade(exercises)
        finally:
            child.lock.release()
        if intact:
            return results
        with _WARM_LOCK:
            if _WARM.get(key) is child:
                _WARM.pop(key)
        child.close()
    child = GradingChild(setup, provided, options)
    results, intact = child.grade(exercises)
    if intact:
        _keep_warm(key, child)
    else:
        child.close()
    return results
