"""Run a whole class: preflight all, grade the new or changed ones in parallel, report.

Every finished student's result is written to ``build/batch/<assignment>/results``
at once, keyed by a digest of the submission and of the grading setup, so a
re-run skips what is already graded and an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from tqdm import tqdm

from ..assignment import ASSIGNMENT, NOTEBOOK
from . import export, gradebook_check, report
from .outcome import StudentResult, failed, gradebook_scores
from .preflight import Preflight, preflight
from .sandbox import Limits, refuse_without_bwrap
from .worker import Context, Processes, grade_one


class Refusal(Exception):
    """The batch cannot start; the message says what to do."""


@dataclass
class Options:
    course: Path
    workers: int = 0  # 0: one per core
    db_url: str | None = None
    force: bool = False
    sandbox: bool = True
    students: list[str] | None = None
    limits: Limits = field(default_factory=Limits)
    progress: bool = True


@dataclass
class Batch:
    results: list[StudentResult]
    graded_now: list[str]
    reused: list[str]
    problems: list[str]
    csv: Path
    plot: Path
    summary: Path


def configured_db_url(course: Path) -> str:
    """The gradebook URL the course's nbgrader_config.py chooses."""
    from traitlets.config.loader import PyFileConfigLoader

    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
        url = config.CourseDirectory.get("db_url")
        if isinstance(url, str) and url:
            return url
    except Exception:  # no or broken config: nbgrader's own default below
        pass
    return f"sqlite:///{course / 'gradebook.db'}"


def grading_key(course: Path, ctx: Context) -> str:
    """Changes whenever a new grading run would give different results."""
    digest = hashlib.sha256()
    for path in sorted((course / "source" / ASSIGNMENT).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.name.encode() + path.read_bytes())
    digest.update(json.dumps([asdict(ctx.limits), ctx.sandbox, ctx.db_url]).encode())
    return digest.hexdigest()[:16]


def _load_saved(path: Path, key: str, content_hash: str) -> StudentResult | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("key") != key or data.get("result", {}).get("content_hash") != content_hash:
        return None
    return StudentResult.from_dict(data["result"])


def _save(path: Path, key: str, result: StudentResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "result": result.to_dict()}, indent=1))
    tmp.replace(path)  # atomic: an interrupt never leaves half a result


def _students(course: Path, wanted: list[str] | None) -> list[str]:
    submitted = course / "submitted"
    found = sorted(p.name for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []
    if wanted is None:
        return found
    missing = [s for s in wanted if s not in found]
    if missing:
        raise Refusal(f"no submission folder for: {', '.join(missing)}")
    return [s for s in found if s in set(wanted)]


def _check_ready(course: Path, db_url: str) -> nbformat.NotebookNode:
    release = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    if not release.exists():
        raise Refusal(f"{release} is missing: generate the assignment first "
                      "(python -m course_grader release, or nbgrader generate_assignment)")
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(ASSIGNMENT)
        except MissingEntry:
            raise Refusal(f"assignment {ASSIGNMENT!r} is not in the gradebook {db_url}: run "
                          "nbgrader generate_assignment against this gradebook first") from None
    return nbformat.read(release, as_version=4)


def _print_preflight(reports: list[Preflight], out) -> None:
    print(f"Preflight of {len(reports)} submissions:", file=out)
    quiet = True
    for rep in reports:
        if rep.failure or rep.findings:
            quiet = False
            print(f"  {rep.student}:", file=out)
            if rep.failure:
                print(f"    cannot grade: {rep.failure}", file=out)
            for finding in rep.findings:
                mark = "repaired" if finding.repaired else "note"
                print(f"    {mark}: {finding.message}", file=out)
    if quiet:
        print("  nothing to report", file=out)


def run_batch(opts: Options, out=sys.stdout) -> Batch:
    course = opts.course.resolve()
    if opts.sandbox:
        message = refuse_without_bwrap()
        if message:
            raise Refusal(message)
    else:
        print("WARNING: --no-sandbox: student code runs with your user's rights and can read "
              "the solutions and rewrite the gradebook. Use only for trusted submissions.",
              file=sys.stderr)
    override = gradebook_check.driver_url(opts.db_url) if opts.db_url else None
    db_url = override or gradebook_check.driver_url(configured_db_url(course))
    ctx = Context(course, db_url, override, opts.sandbox, opts.limits)
    release = _check_ready(course, db_url)
    students = _students(course, opts.students)
    key = grading_key(course, ctx)

    reports = [preflight(course, s, release, ctx.work_root) for s in students]
    _print_preflight(reports, out)
    before = gradebook_check.snapshot(db_url)
    results: dict[str, StudentResult] = {}
    expected_rows: dict[str, dict] = {}
    todo, reused = [], []
    for rep in reports:
        saved = None if opts.force else _load_saved(ctx.path("results", rep.student, ".json"),
                                                    key, rep.content_hash)
        if saved is not None:
            results[rep.student] = saved
            reused.append(rep.student)
            if rep.student in before:
                expected_rows[rep.student] = before[rep.student]
        elif rep.failure:
            results[rep.student] = failed(rep, rep.failure)
            _save(ctx.path("results", rep.student, ".json"), key, results[rep.student])
            if rep.student in before:
                expected_rows[rep.student] = before[rep.student]
        else:
            todo.append(rep)
    workers = opts.workers or os.cpu_count() or 1
    print(f"Grading {len(todo)} submissions with {workers} workers "
          f"({len(reused)} unchanged since the last run, skipped; sandbox "
          f"{'on' if opts.sandbox else 'OFF'}; gradebook {_safe_url(db_url)})", file=out)
    processes = Processes()
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(workers):
        slots.put(slot)

    def task(rep: Preflight) -> tuple[StudentResult, dict | None]:
        slot = slots.get()
        try:
            result = grade_one(ctx, rep, slot, processes)
            rows = gradebook_scores(db_url, rep.student)
        finally:
            slots.put(slot)
        return result, ({k: v for k, (v, _) in rows.items()} if rows else None)

    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    pool = ThreadPoolExecutor(max_workers=workers)
    bar = tqdm(total=len(todo), desc="grading", unit="student", disable=not opts.progress,
               file=sys.stderr)
    try:
        pending = {pool.submit(task, rep): rep for rep in todo}
        while pending:
            done, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in done:
                rep = pending.pop(future)
                try:
                    result, rows = future.result()
                except Exception as error:  # a bug of ours must not stop the class
                    result, rows = failed(rep, f"internal error: {error!r}"), None
                results[rep.student] = result
                if rows is not None:
                    expected_rows[rep.student] = rows
                _save(ctx.path("results", rep.student, ".json"), key, result)
                bar.set_postfix_str(f"{rep.student}: {result.status}"[:40])
                bar.update(1)
    except KeyboardInterrupt:
        processes.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        print(f"\nInterrupted: {len(results)} of {len(students)} results saved; run the same "
              "command again to resume.", file=out)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    pool.shutdown(wait=True)
    bar.close()

    ordered = [results[s] for s in students]
    problems = gradebook_check.check(db_url, expected_rows)
    reports_dir = course / "reports" / ASSIGNMENT
    csv_path = export.write_csv(ordered, reports_dir / "grades.csv")
    plot = report.plot_scores(ordered, reports_dir / "score-distribution.png")
    text = report.summary(ordered)
    text += "\n\nGradebook integrity: " + ("ok" if not problems else "; ".join(problems))
    summary_path = reports_dir / "summary.txt"
    summary_path.write_text(text + "\n")
    print("\n" + text, file=out)
    print(f"\nGrades CSV: {csv_path}\nScore plot: {plot}\nFeedback:   {course / 'feedback'}",
          file=out)
    return Batch(ordered, [r.student for r in todo], reused, problems, csv_path, plot,
                 summary_path)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _safe_url(url: str) -> str:
    """The URL without a password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}@{host}"
    return url
