"""Run a whole class: canaries, then every new or changed submission on Dask, then reports.

The coordinator (this process) reads the course: the grading setup
(``bundle.py``) and each submission's bytes.  Workers grade (``task.py``) and
hand back plain data; only this process writes the gradebook, ``autograded/``,
``feedback/``, the saved results and the reports.  Every finished student's
result is saved in ``build/batch/<assignment>/results`` at once, keyed by a
digest of the submission and of the grading setup, so a re-run skips what is
already graded and an interrupted run resumes.
"""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ..gradebook import driver_url
from ..sandbox.bubblewrap import Limits, refuse_without_bwrap
from ..verdict.child import GraderBroken
from . import export, gradebook_check, record, report, task
from .bundle import SetupError, make_bundle
from .engine import Engine, EngineError, TaskOverdue, task_bound
from .forked import ForkedEngine
from .outcome import Assignment, StudentResult, failed_before_grading, gradebook_scores
from .preflight import check_submission, refusal_message

# failures of ours, not of the submission: never saved as the student's result
# up to this many submissions to grade, forked local workers instead of a LocalCluster
SMALL_CLASS = 50
TRANSIENT = ("failed: internal error", "failed: no result within")


class Refusal(Exception):
    """The batch cannot start; the message says what to do."""


@dataclass
class Options:
    course: Path
    assignment: str | None = None  # None: the course's only assignment in source/
    workers: int = 0  # local worker processes; 0: one per core
    db_url: str | None = None
    force: bool = False
    sandbox: bool = True
    students: list[str] | None = None
    limits: Limits = field(default_factory=Limits)
    progress: bool = True
    full: bool = False  # run every cell in a sandboxed kernel, not only the verdict
    scheduler: str | None = None  # tcp://host:port of an existing Dask cluster
    engine: str = "auto"  # "dask", "forked", or auto: forked up to SMALL_CLASS submissions


@dataclass
class Batch:
    results: list[StudentResult]
    graded_now: list[str]
    reused: list[str]
    problems: list[str]
    csv: Path
    plot: Path
    summary: Path
    spec: Assignment | None = None


def configured_db_url(course: Path) -> str:
    """The gradebook URL the course's nbgrader_config.py chooses."""
    from .bundle import course_config

    try:
        url = course_config(course).CourseDirectory.get("db_url")
        if isinstance(url, str) and url:
            return url
    except Exception:  # no or broken config: nbgrader's own default below
        pass
    return f"sqlite:///{course / 'gradebook.db'}"


def _config_full(course: Path) -> bool:
    """``c.ClassGrader.run_every_cell`` of the course's nbgrader_config.py."""
    from .bundle import course_config

    try:
        return bool(course_config(course).ClassGrader.get("run_every_cell", False))
    except Exception:  # no or broken config: the default, verdict only
        return False


def only_assignment(course: Path) -> str:
    found = sorted(p.name for p in (course / "source").iterdir() if p.is_dir()) \
        if (course / "source").is_dir() else []
    if len(found) != 1:
        raise Refusal(f"name the assignment to grade (found in source/: {', '.join(found)})")
    return found[0]


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


def _print_findings(results: list[StudentResult], out) -> None:
    noted = [r for r in results if r.findings or not r.gradable]
    print(f"Preflight of {len(results)} submissions:", file=out)
    for r in noted:
        print(f"  {r.student}:", file=out)
        if not r.gradable:
            print(f"    {r.status}", file=out)
        for finding in r.findings:
            mark = "repaired" if finding.get("repaired") else "note"
            print(f"    {mark}: {finding['message']}", file=out)
    if not noted:
        print("  nothing to report", file=out)


def run_batch(opts: Options, out=sys.stdout) -> Batch:
    course = opts.course.resolve()
    assignment = opts.assignment or only_assignment(course)
    if opts.sandbox:
        message = refuse_without_bwrap()
        if message:
            raise Refusal(message)
    else:
        print("WARNING: --no-sandbox: student code runs with your user's rights and can read "
              "the solutions and rewrite the gradebook. Use only for trusted submissions.",
              file=sys.stderr)
    db_url = driver_url(opts.db_url or configured_db_url(course))
    full = opts.full or _config_full(course)
    try:
        bundle = make_bundle(course, assignment, db_url, opts.limits, opts.sandbox, full)
    except SetupError as error:
        raise Refusal(str(error)) from None
    if not bundle.declared:
        print(f"No grading declaration for {assignment!r} (c.AssignmentDeclarations.modules "
              "or course_grader.assignments): its notebook runs in a kernel and "
              "nbgrader's own test cells grade it, as with --full.", file=out, flush=True)
    full = bundle.full
    spec = Assignment.of(bundle, course / "source" / assignment)
    students = _students(course, opts.students)
    state = course / "build" / "batch" / assignment
    key = f"{bundle.key}-{_digest(db_url)}"

    results: dict[str, StudentResult] = {}
    before = gradebook_check.snapshot(db_url, spec)
    expected_rows: dict[str, dict] = {}
    todo, reused = [], []
    hashes = {}
    for student in students:
        hashes[student], refused = _check(course / "submitted" / student, assignment)
        saved = None if opts.force else _load_saved(state / "results" / f"{student}.json",
                                                    key, hashes[student])
        if refused is not None:  # that student fails with the reason; the class goes on
            results[student] = failed_before_grading(spec, student, hashes[student],
                                                     refusal_message(refused))
            if student in before:
                expected_rows[student] = before[student]
        elif saved is not None:
            results[student] = saved
            reused.append(student)
            if student in before:
                expected_rows[student] = before[student]
        else:
            todo.append(student)

    if not todo:
        # nothing to grade, so no worker proves the set-up: a broken one still fails here
        # (with students to grade, every worker grades the canaries before anyone)
        print("Canaries (the master notebook's solutions, the untouched release) on the "
              "coordinator ...", file=out, flush=True)
        try:
            task.run_canaries(bundle)
        except GraderBroken as broken:
            raise Refusal(f"the grading set-up is broken, nobody was graded: {broken}") \
                from None

    def submissions():
        for student in todo:
            yield task.read_submission(course / "submitted" / student / assignment, student,
                                       hashes[student])

    print(f"Grading {len(todo)} submissions ({len(reused)} unchanged since the last run, "
          f"skipped; {'every cell run in a kernel' if full else 'verdict only, no kernel'}"
          f"; sandbox {'on' if opts.sandbox else 'OFF'}; gradebook {_safe_url(db_url)})",
          file=out, flush=True)
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    bar = tqdm(total=len(todo), desc="grading", unit="student", disable=not opts.progress,
               file=sys.stderr)
    try:
        if todo:
            with _engine(opts, len(todo), out) as engine:
                try:
                    shared = engine.check_workers(bundle, task_bound(opts.limits))
                except GraderBroken as broken:
                    raise Refusal(f"the grading set-up is broken on a worker, nobody was "
                                  f"graded: {broken}") from None
                for student, outcome in engine.grade(shared, submissions(),
                                                     task_bound(opts.limits)):
                    result = record_outcome(course, db_url, bundle, spec, student, hashes[student],
                                   outcome)
                    results[student] = result
                    rows = gradebook_scores(db_url, spec, student) if result.gradable else None
                    if rows is not None:
                        expected_rows[student] = {k: v for k, (v, _) in rows.items()}
                    elif student in before:
                        expected_rows[student] = before[student]
                    if not result.status.startswith(TRANSIENT):  # a re-run grades it again
                        _save(state / "results" / f"{student}.json", key, result)
                    bar.set_postfix_str(f"{student}: {result.status}"[:40])
                    bar.update(1)
    except EngineError as error:
        bar.close()
        raise Refusal(str(error)) from None
    except KeyboardInterrupt:
        bar.close()
        print(f"\nInterrupted: {len(results)} of {len(students)} results saved; run the same "
              "command again to resume.", file=out)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    bar.close()

    ordered = [results[s] for s in students]
    _print_findings(ordered, out)
    problems = gradebook_check.check(db_url, spec, expected_rows)
    reports_dir = course / "reports" / assignment
    csv_path = export.write_csv(ordered, spec, reports_dir / "grades.csv")
    plot = report.plot_scores(ordered, spec, reports_dir / "score-distribution.png")
    text = report.summary(ordered, spec)
    text += "\n\nGradebook integrity: " + ("ok" if not problems else "; ".join(problems))
    refused = report.refused_submissions(course, assignment)
    text += f"\n\n{refused}" if refused else ""
    summary_path = reports_dir / "summary.txt"
    summary_path.write_text(text + "\n")
    print("\n" + text, file=out)
    print(f"\nGrades CSV: {csv_path}\nScore plot: {plot}\nFeedback:   {course / 'feedback'}",
          file=out)
    return Batch(ordered, todo, reused, problems, csv_path, plot, summary_path, spec)


def _engine(opts: Options, count: int, out):
    """Dask for ``--scheduler`` and large classes; forked local workers for small ones,
    whose start costs a fraction of a ``LocalCluster``'s (``forked.py``)."""
    if opts.scheduler or opts.engine == "dask" or \
            (opts.engine == "auto" and count > SMALL_CLASS):
        return Engine(opts.scheduler, opts.workers, out)
    return ForkedEngine(opts.workers, out)


def _check(student_dir: Path, assignment: str) -> tuple[str, str | None]:
    """``preflight.check_submission`` of a student's folder, refusing a linked one."""
    if student_dir.is_symlink() or (student_dir / assignment).is_symlink():
        return "refused-link", "the student's folder is a symbolic link"
    return check_submission(student_dir / assignment)


def record_outcome(course: Path, db_url: str, bundle, spec, student: str, content_hash: str,
          outcome) -> StudentResult:
    """The result of one finished task, recorded in the course when it was graded."""
    if isinstance(outcome, GraderBroken):
        raise Refusal(f"the grading set-up broke during the batch: {outcome}")
    if isinstance(outcome, TaskOverdue):
        return failed_before_grading(spec, student, content_hash, str(outcome))
    if isinstance(outcome, BaseException):  # a bug of ours, or a worker that kept dying
        return failed_before_grading(spec, student, content_hash,
                                     f"internal error: {outcome!r}"[:300])
    result = StudentResult.from_dict(outcome.result)
    if result.gradable and outcome.notebook is not None:
        record.record(course, db_url, bundle, student, outcome)
        rows = gradebook_scores(db_url, spec, student) or {}
        if {k: v for k, (v, _) in rows.items()} != result.scores:
            return failed_before_grading(
                spec, student, content_hash, "internal error: the gradebook rows differ "
                f"from the worker's scores ({rows} vs {result.scores})")
        html = course / "feedback" / student / bundle.assignment / f"{bundle.notebook}.html"
        result.feedback = str(html) if outcome.feedback is not None else ""
    return result


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _safe_url(url: str) -> str:
    """The URL without a password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}@{host}"
    return url
