"""Grade one student: real ``nbgrader autograde`` and ``generate_feedback`` runs.

Each step is its own process group with a hard wall-clock limit, so a run that
hangs anywhere (not only in a cell) is killed with everything it started.
nbgrader reads the preflight's working copy (``submitted_directory`` points
there) and writes only this student's rows: ``--student`` is always given.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import pipeline
from ..assignment import ASSIGNMENT, NOTEBOOK
from .outcome import StudentResult, read_outcome
from .preflight import Preflight
from .sandbox import JAIL, Limits

# the course's steps (course_grader/pipeline.py); feedback adds the batch's note
FEEDBACK_STEPS = [*pipeline.FEEDBACK_STEPS[:-1], "course_grader.batch.feedback.SanitizeFeedback",
                  pipeline.FEEDBACK_STEPS[-1]]
STARTUP_ALLOWANCE = 90  # seconds for nbgrader's start-up, sanitizing and writing


@dataclass
class Context:
    """Everything a worker needs to grade one student of one course."""

    course: Path
    db_url: str
    db_url_override: str | None
    sandbox: bool
    limits: Limits = field(default_factory=Limits)
    uid_base: int = 61000

    @property
    def state(self) -> Path:
        return self.course / "build" / "batch" / ASSIGNMENT

    @property
    def work_root(self) -> Path:
        return self.state / "work"

    def path(self, kind: str, student: str, suffix: str) -> Path:
        return self.state / kind / f"{student}{suffix}"


class Processes:
    """The process groups in flight, so an interrupt can kill every one of them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()

    def add(self, proc):
        with self._lock:
            self._running.add(proc)

    def discard(self, proc):
        with self._lock:
            self._running.discard(proc)

    def kill_all(self):
        with self._lock:
            for proc in list(self._running):
                kill_group(proc)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_step(cmd: list[str], cwd: Path, log: Path, limit: float, processes: Processes,
             env: dict) -> tuple[int | None, float]:
    """Run ``cmd`` in its own process group; kill the group after ``limit`` seconds.

    Returns (exit code or None when killed, seconds).  jail.py in front gives
    the child a parent-death signal: if the batch itself is killed, so is it.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-I", "-S", str(JAIL), "--", *cmd], cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, process_group=0)
        processes.add(proc)
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            proc.wait()
            code = None
        finally:
            processes.discard(proc)
            kill_group(proc)  # anything the step left behind in its group
    return code, time.monotonic() - started


def nbgrader_env(ctx: Context) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # the course's nbgrader_config.py, not a config of the machine's user
    env["JUPYTER_CONFIG_DIR"] = str(ctx.state / "jupyter-config")
    env.pop("JPY_PARENT_PID", None)
    return env


def _common(ctx: Context, student: str) -> list[str]:
    args = [ASSIGNMENT, "--student", student, "--force",
            f"--CourseDirectory.root={ctx.course}"]
    if ctx.db_url_override:
        args.append(f"--CourseDirectory.db_url={ctx.db_url_override}")
    return args


def autograde_args(ctx: Context, student: str, slot: int) -> list[str]:
    lim = ctx.limits
    args = ["autograde", *_common(ctx, student),
            f"--CourseDirectory.submitted_directory={ctx.work_root}",
            "--OverwriteCells.add_missing_cells=True",
            f"--Execute.timeout={lim.cell_timeout}",
            f"--GuardedExecute.notebook_timeout={lim.notebook_timeout}",
            f"--GuardedExecute.sandboxed={ctx.sandbox}",
            f"--GuardedExecute.events_path={ctx.path('events', student, '.json')}",
            f"--SandboxKernelManager.uid={ctx.uid_base + slot}",
            f"--SandboxKernelManager.memory_mb={lim.memory_mb}",
            f"--SandboxKernelManager.cpu_seconds={lim.cpu_seconds}",
            f"--SandboxKernelManager.processes={lim.processes}",
            f"--SandboxKernelManager.file_mb={lim.file_mb}",
            f"--SandboxKernelManager.tmp_mb={lim.tmp_mb}",
            f"--TrustedVerdict.sandboxed={ctx.sandbox}",
            f"--TrustedVerdict.uid={pipeline.VERDICT_UID + 8 * slot}",
            f"--TrustedVerdict.memory_mb={lim.memory_mb}",
            f"--TrustedVerdict.processes={lim.processes}"]
    return args + [f"--Autograde.autograde_preprocessors={step}"
                   for step in pipeline.AUTOGRADE_STEPS]


def feedback_args(ctx: Context, student: str) -> list[str]:
    args = ["generate_feedback", *_common(ctx, student),
            f"--SanitizeFeedback.notes_path={ctx.path('notes', student, '.json')}"]
    return args + [f"--GenerateFeedback.preprocessors={step}" for step in FEEDBACK_STEPS]


def grade_one(ctx: Context, report: Preflight, slot: int, processes: Processes) -> StudentResult:
    """Autograde, collect and give feedback for one student whose preflight passed."""
    student = report.student
    events = ctx.path("events", student, ".json")
    events.unlink(missing_ok=True)
    notes = ctx.path("notes", student, ".json")
    notes.parent.mkdir(parents=True, exist_ok=True)
    # what the feedback step needs to state the same status as the table
    notes.write_text(json.dumps({
        "student": student, "content_hash": report.content_hash,
        "findings": [f.__dict__ for f in report.findings], "db_url": ctx.db_url,
        "course": str(ctx.course), "events": str(events)}))
    html = ctx.course / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"
    started = time.time()
    cmd = [sys.executable, "-m", "course_grader.batch.steps", *autograde_args(ctx, student, slot),
           "--then", *feedback_args(ctx, student)]
    log = ctx.path("logs", student, ".log")
    limit = ctx.limits.notebook_timeout + 2 * STARTUP_ALLOWANCE
    code, seconds = run_step(cmd, ctx.course, log, limit, processes, nbgrader_env(ctx))
    result = read_outcome(ctx.db_url, ctx.course, student, report, code, log, events)
    result.seconds = round(seconds, 2)
    if result.scores:  # autograde succeeded, so feedback was attempted
        fresh = html.exists() and html.stat().st_mtime >= started
        result.feedback = str(html) if fresh else ""
        if not fresh:
            result.notes.append("feedback could not be generated (see the grading log)")
    return result
