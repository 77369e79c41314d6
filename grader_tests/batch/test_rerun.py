"""Re-runs, interruptions, refusals, the CPU cap, and preflight on its own."""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from batch_support import TEST_LIMITS, new_course

from course_grader.assignments.initialization import EXERCISES
from course_grader.assignments.initialization.sample_class import HE, sample_class, write_submission
from course_grader.batch.coordinator import Options, run_batch
from course_grader.batch.preflight import preflight, submission_hash
from course_grader.cells import grade_id_of
from course_paths import ASSIGNMENT, NOTEBOOK

ROOT = Path(__file__).resolve().parents[2]
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap missing: apt-get install bubblewrap")


def _small_class(course: Path, n: int) -> list[str]:
    release_nb = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    subs = sample_class()[:n]
    for sub in subs:
        write_submission(release_nb, sub, course / "submitted" / sub.student / ASSIGNMENT)
    return [s.student for s in subs]


@pytest.fixture(scope="module")
def release_course(tmp_path_factory):
    return new_course(tmp_path_factory.mktemp("preflight") / "course", None)


def _cli(course: Path, *extra: str, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "course_grader", "grade", ASSIGNMENT, "--course", str(course),
         "--no-progress", "--cell-timeout", str(TEST_LIMITS.cell_timeout),
         "--notebook-timeout", str(TEST_LIMITS.notebook_timeout),
         "--memory-mb", str(TEST_LIMITS.memory_mb), "--cpu-seconds", str(TEST_LIMITS.cpu_seconds),
         "--processes", str(TEST_LIMITS.processes), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env or dict(os.environ))


def test_refuses_without_bubblewrap(tmp_path):
    (tmp_path / "source" / ASSIGNMENT).mkdir(parents=True)  # a course, not yet released
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))
    out, err = _cli(tmp_path, env=env).communicate(timeout=120)
    assert "apt-get install bubblewrap" in err
    assert "--no-sandbox" in err


def test_no_sandbox_warns(tmp_path):
    (tmp_path / "source" / ASSIGNMENT).mkdir(parents=True)
    proc = _cli(tmp_path, "--no-sandbox")
    out, err = proc.communicate(timeout=120)
    assert "WARNING: --no-sandbox" in err
    assert proc.returncode == 2 and "generate the assignment first" in err


@pytest.mark.nbgrader  # the release comes from nbgrader generate_assignment
def test_preflight_repairs_only_the_working_copy(release_course, tmp_path):
    release = nbformat.read(release_course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)
    nb = copy.deepcopy(release)
    ids = [grade_id_of(c) for c in nb.cells]
    nb.cells[ids.index("random_values")].metadata.nbgrader["points"] = 60
    he_at = ids.index(EXERCISES["he"].answer_cell)
    nb.cells[he_at].source = HE
    nb.cells.insert(he_at + 1, copy.deepcopy(nb.cells[he_at]))  # pasted twice
    del nb.cells[ids.index("zeros_values")]  # a test deleted (the edits above come later)
    folder = release_course / "submitted" / "mixed" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")
    before = submission_hash(folder)
    report = preflight(release_course, "mixed", release, tmp_path, ASSIGNMENT, NOTEBOOK)
    kinds = sorted(f.kind for f in report.findings)
    assert kinds == ["deleted_cell", "duplicate_cell", "metadata_altered"], report.findings
    assert report.failure is None and report.repaired
    assert submission_hash(folder) == before
    work = nbformat.read(tmp_path / "mixed" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)
    work_ids = [grade_id_of(c) for c in work.cells]
    assert sorted(i for i in work_ids if i) == sorted(i for i in ids if i)
    points = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader.get("points")
              for c in work.cells if c.metadata.get("nbgrader")}
    assert points["random_values"] == 6
    assert work_ids.index("zeros_values") == work_ids.index("zeros_structure") + 1


@needs_bwrap
@pytest.mark.slow
def test_rerun_grades_only_new_or_changed(tmp_path):
    course = new_course(tmp_path / "course", None)
    students = _small_class(course, 3)
    options = Options(course, workers=2, limits=TEST_LIMITS, progress=False)
    first = run_batch(options)
    assert sorted(first.graded_now) == sorted(students)
    again = run_batch(options)
    assert again.graded_now == [] and sorted(again.reused) == sorted(students)
    assert [r.score for r in again.results] == [r.score for r in first.results]
    changed = course / "submitted" / students[1] / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(changed, 4)
    nb.cells.append(nbformat.v4.new_code_cell("print('handed in again')"))
    nbformat.write(nb, changed)
    third = run_batch(options)
    assert third.graded_now == [students[1]]
    forced = run_batch(Options(course, workers=2, limits=TEST_LIMITS, progress=False,
                               force=True, students=[students[0]]))
    assert forced.graded_now == [students[0]]


def _wait_for_results(course: Path, count: int, proc: subprocess.Popen, limit: float = 240):
    results = course / "build" / "batch" / ASSIGNMENT / "results"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done = list(results.glob("*.json")) if results.exists() else []
        if len(done) >= count:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    raise AssertionError("no progress")


def _leftovers(course: Path) -> list[str]:
    """Processes whose command line mentions the course (nbgrader, kernels)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(course) in cmd:
            found.append(cmd[:120])
    return found


@needs_bwrap
@pytest.mark.slow
def test_interrupted_run_resumes(tmp_path):
    course = new_course(tmp_path / "course", None)
    students = _small_class(course, 4)
    for sig, code in ((signal.SIGINT, 130), (signal.SIGKILL, -9)):
        proc = _cli(course, "--workers", "1")
        done_before = len(list((course / "build" / "batch" / ASSIGNMENT / "results")
                               .glob("*.json"))) if sig == signal.SIGKILL else 0
        _wait_for_results(course, done_before + 1, proc)
        proc.send_signal(sig)
        proc.communicate(timeout=60)
        assert proc.returncode == code
        time.sleep(3)  # the parent-death signals have fired by now
        assert _leftovers(course) == []
    saved = {p.stem for p in (course / "build" / "batch" / ASSIGNMENT / "results").glob("*.json")}
    assert 2 <= len(saved) < len(students)
    final = run_batch(Options(course, workers=2, limits=TEST_LIMITS, progress=False))
    assert sorted(final.graded_now) == sorted(set(students) - saved)
    assert all(r.gradable for r in final.results)
    assert final.problems == []


@needs_bwrap
@pytest.mark.slow
def test_cpu_cap_stops_the_kernel_not_the_grade(tmp_path):
    course = new_course(tmp_path / "course", None)
    sub = sample_class()[0]  # the correct solution
    path = write_submission(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", sub,
                            course / "submitted" / "burner" / ASSIGNMENT)
    nb = nbformat.read(path, 4)
    he_at = [grade_id_of(c) for c in nb.cells].index(EXERCISES["he"].answer_cell)
    nb.cells.insert(he_at, nbformat.v4.new_code_cell("while True:\n    pass"))
    nbformat.write(nb, path)
    # the CPU cap must let the master notebook's canary kernel finish (its whole run costs
    # about 20-30 CPU-seconds), and the cell and notebook limits are well above the cap,
    # so the cap is what stops the loop
    limits = dataclasses.replace(TEST_LIMITS, cell_timeout=300, notebook_timeout=900,
                                 cpu_seconds=60)
    # the kernel run is what hits the cap: --full
    batch = run_batch(Options(course, workers=1, limits=limits, progress=False, full=True))
    (result,) = batch.results
    assert result.status == "resource cap hit", result.notes
    # the kernel never reached the He exercise, but the verdict runs each answer cell in
    # its own child: the correct He function keeps its points
    assert result.exercises == {"zeros": 10.0, "random": 10.0, "he": 10.0}
    html = (course / "feedback" / "burner" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "CPU-time cap" in html
