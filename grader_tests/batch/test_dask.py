"""The class grader on a real Dask cluster: a scheduler and two workers on 127.0.0.1.

Each worker runs in its own empty folder (its cwd and $TMPDIR), so nothing can
rely on a shared file system: the task carries the submission and the grading
setup, and only the coordinator writes the course.  The grades must equal the
local run's (and the sample class's expected points, which plain nbgrader
gives in test_notebook.py), also when one worker is SIGKILLed mid-batch.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_support import TEST_LIMITS, new_course

from course_grader.assignments.initialization.sample_class import sample_class, write_submission
from course_grader.batch import gradebook_check
from course_grader.batch.bundle import make_bundle
from course_grader.batch.coordinator import Options, run_batch
from course_grader.batch.outcome import AssignmentSpec, gradebook_scores
from course_grader.batch.task import read_submission
from course_paths import ASSIGNMENT, NOTEBOOK

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap missing: apt-get install bubblewrap")]
CLASS_SIZE = 10
DASK = str(Path(sys.executable).parent / "dask")


def _course(dest: Path) -> Path:
    course = new_course(dest, None)
    release_nb = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    for sub in sample_class()[:CLASS_SIZE]:
        write_submission(release_nb, sub, course / "submitted" / sub.student / ASSIGNMENT)
    return course


def _facts(batch) -> dict:
    return {r.student: (r.status, r.scores, r.exercises, sorted(r.diagnoses))
            for r in batch.results}


class Cluster:
    """`dask scheduler` and `dask worker` processes, each worker in its own empty folder."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        info = tmp / "scheduler.json"
        self.procs.append(self._start([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                       "--no-dashboard", "--scheduler-file", str(info)],
                                      tmp / "scheduler"))
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]
        for n in range(2):
            # --no-nanny: the worker is one process, so SIGKILL really loses it
            self.workers.append(self._start(
                [DASK, "worker", self.address, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--name", f"w{n}"], tmp / f"worker{n}"))
            self.procs.append(self.workers[-1])

    def _start(self, cmd: list[str], folder: Path) -> subprocess.Popen:
        folder.mkdir()
        env = dict(os.environ, TMPDIR=str(folder))
        log = open(folder.with_suffix(".log"), "w")
        return subprocess.Popen(cmd, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)

    def close(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    course = _course(tmp_path_factory.mktemp("dask-local") / "course")
    return run_batch(Options(course, workers=2, limits=TEST_LIMITS, progress=False))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    found = Cluster(tmp_path_factory.mktemp("dask-cluster"))
    yield found
    found.close()


def test_local_run_gives_the_sample_class_its_points(local_run):
    assert local_run.problems == []
    expected = {s.student: {k: float(v) for k, v in s.expected.items()}
                for s in sample_class()[:CLASS_SIZE]}
    assert {r.student: r.exercises for r in local_run.results} == expected


def test_cluster_grades_like_the_local_run(local_run, cluster, tmp_path):
    course = _course(tmp_path / "course")
    batch = run_batch(Options(course, scheduler=cluster.address, limits=TEST_LIMITS,
                              progress=False))
    assert _facts(batch) == _facts(local_run)
    assert batch.problems == []
    for result in batch.results:
        rows = gradebook_scores(f"sqlite:///{course / 'gradebook.db'}", batch.spec,
                                result.student)
        assert {k: v for k, (v, _) in rows.items()} == result.scores
        html = course / "feedback" / result.student / ASSIGNMENT / f"{NOTEBOOK}.html"
        assert "Grading status" in html.read_text()


def test_tasks_carry_no_path_into_the_course(tmp_path):
    course = _course(tmp_path / "course")
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    bundle = make_bundle(course, ASSIGNMENT, db_url, TEST_LIMITS, True, False)
    folder = course / "submitted" / "ada_correct" / ASSIGNMENT
    sub = read_submission(folder, "ada_correct", "")
    assert str(course).encode() not in pickle.dumps((bundle, sub))


def test_a_killed_worker_loses_nothing(local_run, cluster, tmp_path):
    course = _course(tmp_path / "course")
    proc = subprocess.Popen(
        [sys.executable, "-m", "course_grader", "grade", ASSIGNMENT, "--course", str(course),
         "--scheduler", cluster.address, "--no-progress",
         "--cell-timeout", str(TEST_LIMITS.cell_timeout),
         "--notebook-timeout", str(TEST_LIMITS.notebook_timeout),
         "--memory-mb", str(TEST_LIMITS.memory_mb), "--cpu-seconds", str(TEST_LIMITS.cpu_seconds),
         "--processes", str(TEST_LIMITS.processes)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = course / "build" / "batch" / ASSIGNMENT / "results"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(results.glob("*.json"))) < 2:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    victim = cluster.workers[0]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert "Gradebook integrity: ok" in out
    assert len(gradebook_check.snapshot(f"sqlite:///{course / 'gradebook.db'}",
                                        AssignmentSpec.of(make_bundle(
                                            course, ASSIGNMENT,
                                            f"sqlite:///{course / 'gradebook.db'}",
                                            TEST_LIMITS, True, False),
                                            course / "source" / ASSIGNMENT))) == CLASS_SIZE
    again = run_batch(Options(course, scheduler=cluster.address, limits=TEST_LIMITS,
                              progress=False))
    # every student was graded once by the killed run; the re-run has nothing to do
    assert again.graded_now == [] and len(again.reused) == CLASS_SIZE
    assert _facts(again) == _facts(local_run)
    assert again.problems == []


def test_timestamps_reach_the_gradebook(tmp_path):
    """The exchange's timestamp.txt travels with the task; the coordinator records it."""
    from nbgrader.api import Gradebook

    from course_grader.timestamps import FILE, format_timestamp, parse_timestamp

    course = new_course(tmp_path / "course", None)
    sub = sample_class()[0]
    folder = course / "submitted" / sub.student / ASSIGNMENT
    write_submission(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", sub, folder)
    when = parse_timestamp("2026-12-01 10:00:00.000000 UTC")
    (folder / FILE).write_text(format_timestamp(when))
    run_batch(Options(course, workers=1, limits=TEST_LIMITS, progress=False))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        stored = gb.find_submission(ASSIGNMENT, sub.student).timestamp
    assert stored == when.replace(tzinfo=None)
    assert (course / "autograded" / sub.student / ASSIGNMENT / FILE).is_file()


def test_a_stopped_worker_leaves_no_folder_behind(tmp_path):
    """What a worker keeps between tasks (prepared set-ups, grading runners) lives in its
    ``WorkerState``, which the worker plugin closes when the worker stops: nothing of it
    stays in the worker's $TMPDIR."""
    course = new_course(tmp_path / "course", None)
    release_nb = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    for sub in sample_class()[:2]:
        write_submission(release_nb, sub, course / "submitted" / sub.student / ASSIGNMENT)
    (tmp_path / "cluster").mkdir()
    cluster = Cluster(tmp_path / "cluster")
    folders = [tmp_path / "cluster" / f"worker{n}" for n in range(2)]
    try:
        run_batch(Options(course, scheduler=cluster.address, limits=TEST_LIMITS,
                          progress=False))
        kept = [p.name for folder in folders for p in folder.glob("cg-*")]
        assert any(name.startswith("cg-bundle-") for name in kept), kept  # kept while up
    finally:
        cluster.close()
    assert [p for folder in folders for p in folder.glob("cg-*")] == []
