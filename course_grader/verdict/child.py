"""Run the untrusted grading child: a fresh, sandboxed interpreter per submission.

The grader (trusted) writes a job into a throw-away folder: the course's setup
cell, the student's answer cells, the layer sizes to call each function on,
and copies of the provided modules that the release hands to students.  The
child runs ``runner.py`` there and leaves data behind; ``intake`` reads it.
The folder holds nothing secret: no reference code, no solutions, no grader.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..batch.sandbox import Limits, bwrap_argv, bwrap_path, jail_argv
from .intake import ExerciseResult, read_exercise

RUNNER = Path(__file__).with_name("runner.py")
SETUP_SECONDS = 60  # imports of numpy and matplotlib on a loaded machine


class GraderBroken(RuntimeError):
    """The grading set-up itself failed (before any student code ran): grade nobody."""


@dataclass
class ChildOptions:
    sandboxed: bool = True
    uid: int | None = None  # first of the exercises' uids when the grader runs as root
    limits: Limits = field(default_factory=Limits)
    exercise_seconds: int = 20


@dataclass
class Exercise:
    name: str
    function: str
    answer: str  # the student's answer cell, as Python (IPython syntax translated)
    calls: list[dict]


def to_python(code: str) -> str:
    """IPython syntax (magics, ``!cmd``) as plain Python calls; text only, nothing runs."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(code)
    except Exception:  # leave it to the child's compile() to report
        return code


def _prepare(folder: Path, setup: str, provided: dict[str, bytes],
             exercises: list[Exercise], options: ChildOptions) -> list[str]:
    for name, data in provided.items():
        (folder / name).write_bytes(data)
    shutil.copyfile(RUNNER, folder / "grading_runner.py")
    out = folder / "out"
    out.mkdir()
    # as root, in the sandbox: each exercise runs under its own uid and owns only its folder
    switch = options.sandboxed and options.uid is not None
    records = []
    for index, exercise in enumerate(exercises):
        uid = options.uid + index if switch else None
        (out / exercise.name).mkdir(mode=0o700)
        if uid is not None:
            os.chown(out / exercise.name, uid, uid)
        records.append(dict(vars(exercise), uid=uid))
    job = {"setup": setup, "out": str(out), "exercise_seconds": options.exercise_seconds,
           "processes": options.limits.processes, "sweep": options.sandboxed,
           "exercises": records}
    (folder / "job.json").write_text(json.dumps(job))
    for path in [folder, out, *folder.glob("*.*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    command = [sys.executable, "-I", str(folder / "grading_runner.py"), str(folder / "job.json")]
    wrapper = jail_argv(options.limits)
    if options.sandboxed:
        if not bwrap_path():
            raise GraderBroken("bubblewrap (bwrap) is not installed; grading runs student "
                               "code only inside it (sudo apt-get install bubblewrap)")
        wrapper += bwrap_argv(folder, None, options.limits, options.uid,
                              {"MPLBACKEND": "Agg"}, switch_uids_inside=switch)
    return wrapper + command


def _environment() -> dict:
    keep = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TZ")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(HOME="/tmp", MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return env


def run_child(setup: str, provided: dict[str, bytes], exercises: list[Exercise],
              options: ChildOptions) -> dict[str, ExerciseResult | None]:
    """Run the answers in a fresh sandboxed interpreter; the validated results per exercise.

    Raises GraderBroken when the setup cell (trusted text, run before any
    student code) fails: that is a broken grading set-up, never a student's 0.
    """
    folder = Path(tempfile.mkdtemp(prefix="cg-verdict-"))
    try:
        argv = _prepare(folder, setup, provided, exercises, options)
        limit = SETUP_SECONDS + options.exercise_seconds * len(exercises) + 10
        deadline = time.monotonic() + limit
        with open(folder / "stderr.txt", "wb") as errors:
            proc = subprocess.Popen(argv, cwd=folder, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=errors,
                                    env=_environment(), process_group=0)
            try:
                # the runner's one line, written before any student code runs
                first = _first_line(proc, time.monotonic() + SETUP_SECONDS)
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            finally:
                _kill(proc)
        if first.strip() != b"setup-ok":
            detail = (first.decode(errors="replace").strip() or
                      (folder / "stderr.txt").read_text(errors="replace")[-1500:].strip())
            raise GraderBroken("the grading interpreter could not run the course's setup "
                               f"cell, so nobody can be graded: {detail or 'no output'}")
        return {e.name: read_exercise(folder / "out", e.name, len(e.calls)) for e in exercises}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _first_line(proc: subprocess.Popen, deadline: float) -> bytes:
    fd, line = proc.stdout.fileno(), b""
    while b"\n" not in line and len(line) < 4096:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        line += chunk
    return line.split(b"\n", 1)[0]


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    proc.stdout.close()
