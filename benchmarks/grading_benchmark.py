"""How fast the class grader gets through a class, beside plain ``nbgrader autograde``.

    .venv/bin/python benchmarks/grading_benchmark.py [--class-size 100] [--plain-sample N]
                                                     [--full-sample N] [--sizes 25,50,100]

Builds a generated class (the demo's sample class, repeated under new names:
correct answers and typical mistakes) and grades it

* with plain ``nbgrader autograde`` (one process, serial, the course's config),
* with the class grader's default path (verdict only, no kernel), 1 and 2 local workers,
* with ``--full`` (every cell re-run in a sandboxed kernel), 2 workers,

each in its own course copy, and prints submissions per minute, CPU-seconds per
submission (this process and every process it waited for: nbgrader, workers,
kernels, grading children) and the ratio to plain nbgrader, then the wall time
for growing class sizes.  Plain nbgrader and ``--full`` take 10-20 s per
submission, so ``--plain-sample`` / ``--full-sample`` grade only the first N
students of the class with them (default: all); their figures are rates, and the
grades of those students are compared cell by cell with the default path's.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook

from course_grader.assignments.initialization.sample_class import sample_class, write_submission
from course_grader.batch.coordinator import Options, run_batch
from course_grader.cli import demo_assignment, make_course_copy, release
from course_grader.course import COURSE_ROOT, notebook_names
from course_grader.gradebook import sqlite_url
from course_grader.nbgrader_run import nbgrader

# the class is the demo's sample class, so the assignment is the demo's
ASSIGNMENT = demo_assignment()
(NOTEBOOK,) = notebook_names(COURSE_ROOT, ASSIGNMENT)


def new_class(dest: Path, size: int) -> tuple[Path, list[str]]:
    course = make_course_copy(dest)
    release(course, ASSIGNMENT, publish=False)
    release_nb = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    base = sample_class()
    students = []
    for i in range(size):
        sub = dataclasses.replace(base[i % len(base)])
        sub.student = f"s{i:04d}_{sub.student}"
        write_submission(release_nb, sub, course / "submitted" / sub.student / ASSIGNMENT)
        students.append(sub.student)
    return course, students


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine (/proc/stat).  Processes in bubblewrap's PID
    namespace are reaped inside it, so getrusage never sees the kernels' and grading
    children's CPU; the machine's counters do (and anything else running: run the
    benchmark on a quiet machine)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def waited_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime


def measure(label: str, n: int, run) -> dict:
    machine, waited, started = machine_cpu_seconds(), waited_cpu_seconds(), time.monotonic()
    run()
    wall = time.monotonic() - started
    figures = {"label": label, "n": n, "wall": wall, "per_minute": n / wall * 60,
               "cpu_per_sub": (machine_cpu_seconds() - machine) / n,
               "waited_per_sub": (waited_cpu_seconds() - waited) / n}
    print(f"  {label:<34} {n:5d} subs {wall:8.1f} s  {figures['per_minute']:7.1f} subs/min  "
          f"{figures['cpu_per_sub']:6.2f} machine CPU-s/sub "
          f"({figures['waited_per_sub']:.2f} in processes we waited for)", flush=True)
    return figures


def cell_scores(course: Path, students: list[str]) -> dict:
    with Gradebook(sqlite_url(course / "gradebook.db")) as gb:
        return {s: {g.name: float(g.score or 0.0) for g in
                    gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, s).grades}
                for s in students}


def class_grader(course: Path, students: list[str], workers: int, full: bool = False):
    def run():
        batch = run_batch(Options(course, workers=workers, force=True, students=students,
                                  progress=False, full=full), out=io.StringIO())
        assert not batch.problems, batch.problems
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--class-size", type=int, default=100)
    parser.add_argument("--plain-sample", type=int, default=0,
                        help="students graded by plain nbgrader (default: the whole class)")
    parser.add_argument("--full-sample", type=int, default=0,
                        help="students graded with --full (default: the whole class)")
    parser.add_argument("--sizes", default="25,50,100")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    size = max([args.class_size, *sizes])
    plain_n = args.plain_sample or args.class_size
    full_n = args.full_sample or args.class_size
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        print(f"class of {args.class_size} generated submissions, {os.cpu_count()} cores, "
              "sandbox on", flush=True)
        plain_course, students = new_class(Path(tmp) / "plain", plain_n)
        plain = measure("plain nbgrader autograde (serial)", plain_n,
                        lambda: nbgrader(plain_course, "autograde", ASSIGNMENT, "--force",
                                         quiet=True))
        course, students = new_class(Path(tmp) / "batch", size)
        klass = students[:args.class_size]
        runs = [measure("class grader, 1 worker", len(klass), class_grader(course, klass, 1))]
        fast_scores = cell_scores(course, students[:plain_n])
        runs.append(measure("class grader, 2 workers", len(klass), class_grader(course, klass, 2)))
        full_course, _ = new_class(Path(tmp) / "full", full_n)
        runs.append(measure("class grader --full, 2 workers", full_n,
                            class_grader(full_course, students[:full_n], 2, full=True)))
        same_plain = cell_scores(plain_course, students[:plain_n]) == fast_scores
        same_full = cell_scores(full_course, students[:full_n]) == \
            cell_scores(course, students[:full_n])
        print(f"identical grades, cell by cell: plain nbgrader vs default path {same_plain} "
              f"({plain_n} students); --full vs default path {same_full} ({full_n} students)")
        for run in runs:
            ratio = run["per_minute"] / plain["per_minute"]
            print(f"  {run['label']:<34} throughput {ratio:6.1f}x "
                  f"plain nbgrader, CPU per submission "
                  f"{plain['cpu_per_sub'] / run['cpu_per_sub']:6.1f}x less")
        print("growth with class size (2 workers, default path):")
        for n in sizes:
            measure(f"{n} submissions", n, class_grader(course, students[:n], 2))
    return 0 if same_plain and same_full else 1


if __name__ == "__main__":
    sys.exit(main())
