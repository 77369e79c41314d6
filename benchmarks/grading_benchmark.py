"""How fast the batch grader gets through a class.

    .venv/bin/python benchmarks/grading_benchmark.py [--class-size 40] [--workers N]
                                                     [--sizes 10,20,40] [--no-sandbox]

Builds a course copy in a temporary folder, writes a class of correct and
faulty submissions (the demo's sample class, repeated under new names),
grades it with 1 worker and with N (default: number of cores) and prints
submissions per minute, the per-submission overhead beyond the notebook's
own run time, the speed-up, and the wall time for growing class sizes.
Every run uses ``--force`` so each one grades the whole class.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from course_grader.assignment import ASSIGNMENT
from course_grader.batch.scheduler import Options, run_batch
from course_grader.cli import make_course_copy, release
from course_grader.sample_class import sample_class, write_submission


def build_class(course: Path, size: int) -> list[str]:
    release_nb = course / "release" / ASSIGNMENT / "Initialization.ipynb"
    base = sample_class()
    students = []
    for i in range(size):
        sub = dataclasses.replace(base[i % len(base)])
        sub.student = f"s{i:03d}_{sub.student}"
        write_submission(release_nb, sub, course / "submitted" / sub.student / ASSIGNMENT)
        students.append(sub.student)
    return students


def grade(course: Path, students: list[str], workers: int, sandbox: bool) -> dict:
    started = time.monotonic()
    batch = run_batch(Options(course, workers=workers, force=True, sandbox=sandbox,
                              students=students, progress=False), out=io.StringIO())
    wall = time.monotonic() - started
    notebook = []
    for student in students:
        events = course / "build" / "batch" / ASSIGNMENT / "events" / f"{student}.json"
        if events.exists():
            notebook.append(json.loads(events.read_text())["seconds"])
    graded = sum(1 for r in batch.results if r.gradable)
    return {"workers": workers, "n": len(students), "wall": wall, "graded": graded,
            "notebook_median": statistics.median(notebook) if notebook else 0.0,
            "per_minute": len(students) / wall * 60}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--class-size", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sizes", default="10,20,40")
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        course = make_course_copy(Path(tmp) / "course")
        release(course, publish=False)
        students = build_class(course, max([args.class_size, *sizes]))
        klass = students[:args.class_size]
        print(f"class of {len(klass)} submissions, {os.cpu_count()} cores, sandbox "
              f"{'off' if args.no_sandbox else 'on'}", flush=True)
        one = grade(course, klass, 1, not args.no_sandbox)
        many = grade(course, klass, args.workers, not args.no_sandbox)
        for run in (one, many):
            per_sub = run["wall"] * run["workers"] / run["n"]
            run["overhead"] = per_sub - run["notebook_median"]
            print(f"  {run['workers']} worker(s): {run['wall']:.1f} s, "
                  f"{run['per_minute']:.1f} submissions/min, graded {run['graded']}/{run['n']}, "
                  f"notebook run median {run['notebook_median']:.1f} s, "
                  f"overhead per submission {run['overhead']:.1f} s (worker-seconds)",
                  flush=True)
        print(f"  speed-up with {args.workers} workers: {one['wall'] / many['wall']:.2f}x")
        print(f"growth with class size ({args.workers} workers):")
        for size in sizes:
            run = many if size == len(klass) else grade(course, students[:size],
                                                         args.workers, not args.no_sandbox)
            print(f"  {size:3d} submissions: {run['wall']:6.1f} s "
                  f"({run['wall'] / size:.2f} s per submission)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
