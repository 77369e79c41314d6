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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ..atomic_write import write_atomic
from ..course import UnknownAssignment, choose_assignment
from ..gradebook import driver_url
from ..sandbox.bubblewrap import Limits, refuse_without_bwrap
from ..verdict.child import GraderBroken
from . import export, gradebook_check, report, task
from .bundle import SetupError, make_bundle
from .engine import Engine, EngineError, TaskOverdue, task_bound
from .forked import ForkedEngine
from .outcome import AssignmentSpec, StudentResult, failed_before_grading, gradebook_scores
from .preflight import check_submission, refusal_message
from .save_graded import save_graded
from .settings import SettingsError, read_settings
from .task import Bundle, SubmissionFiles
from .worker_state import WorkerState

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
    spec: AssignmentSpec | None = None


def configured_db_url(course: Path) -> str:
    """The gradebook URL the course's nbgrader_config.py chooses."""
    from ..gradebook import sqlite_url
    from .bundle import course_config

    try:
        url = course_config(course).CourseDirectory.get("db_url")
        if isinstance(url, str) and url:
            return url
    except Exception:  # no or broken config: nbgrader's own default below
        pass
    return sqlite_url(Path(course).absolute() / "gradebook.db")


def _config_full(course: Path) -> bool:
    """``c.ClassGrader.run_every_cell`` of the course's nbgrader_config.py; a wrong value
    or an unknown ``c.ClassGrader`` setting is refused."""
    from .bundle import course_config

    try:
        config = course_config(course)
    except Exception:  # no or unreadable config: the default, verdict only
        return False
    try:
        return read_settings(config).run_every_cell
    except SettingsError as error:
        raise Refusal(f"{course / 'nbgrader_config.py'}: {error}") from None


def _load_saved(path: Path, key: str, content_hash: str) -> StudentResult | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("key") != key or data.get("result", {}).get("content_hash") != content_hash:
        return None
    return StudentResult.from_dict(data["result"])


def _save(path: Path, key: str, result: StudentResult) -> None:
    # whole or not at all: an interrupt never leaves half a result
    write_atomic(path, json.dumps({"key": key, "result": result.to_dict()}, indent=1))


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


@dataclass
class _Setup:
    """What one batch grades with: the course, its gradebook, the bundle and the spec."""

    course: Path
    assignment: str
    db_url: str
    full: bool
    bundle: Bundle
    spec: AssignmentSpec

    @property
    def results(self) -> Path:  # the saved result of each student, for re-runs
        return self.course / "build" / "batch" / self.assignment / "results"

    @property
    def key(self) -> str:  # what a saved result must have been graded with
        return f"{self.bundle.key}-{_digest(self.db_url)}"


@dataclass
class _Plan:
    """Who is graded now, whose result stands, and the gradebook rows expected at the end."""

    students: list[str]
    hashes: dict[str, str] = field(default_factory=dict)
    results: dict[str, StudentResult] = field(default_factory=dict)
    todo: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    before: dict[str, dict] = field(default_factory=dict)  # the gradebook's rows before
    expected_rows: dict[str, dict] = field(default_factory=dict)


def run_batch(opts: Options, out=sys.stdout) -> Batch:
    setup = _set_up(opts, out)
    plan = _plan(setup, opts)
    if not plan.todo:
        _canaries_here(setup.bundle, out)
    print(f"Grading {len(plan.todo)} submissions ({len(plan.reused)} unchanged since the "
          f"last run, skipped; "
          f"{'every cell run in a kernel' if setup.full else 'verdict only, no kernel'}"
          f"; sandbox {'on' if opts.sandbox else 'OFF'}; gradebook {_safe_url(setup.db_url)})",
          file=out, flush=True)
    _grade_all(setup, plan, opts, out)
    return _report(setup, plan, out)


def _set_up(opts: Options, out) -> _Setup:
    """The course's grading set-up; Refusal when it cannot grade anyone."""
    course = opts.course.resolve()
    try:  # a named one must exist; without a name, the course's only one
        assignment = choose_assignment(course, opts.assignment)
    except UnknownAssignment as error:
        raise Refusal(str(error)) from None
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
    spec = AssignmentSpec.of(bundle, course / "source" / assignment)
    return _Setup(course, assignment, db_url, bundle.full, bundle, spec)


def _plan(setup: _Setup, opts: Options) -> _Plan:
    """Each student: refused (fails with the reason), unchanged (the saved result), or to
    grade now."""
    plan = _Plan(_students(setup.course, opts.students))
    plan.before = gradebook_check.snapshot(setup.db_url, setup.spec)
    for student in plan.students:
        plan.hashes[student], refused = _check(setup.course / "submitted" / student,
                                               setup.assignment)
        saved = None if opts.force else _load_saved(setup.results / f"{student}.json",
                                                    setup.key, plan.hashes[student])
        if refused is not None:  # that student fails with the reason; the class goes on
            plan.results[student] = failed_before_grading(
                setup.spec, student, plan.hashes[student], refusal_message(refused))
        elif saved is not None:
            plan.results[student] = saved
            plan.reused.append(student)
        else:
            plan.todo.append(student)
            continue
        if student in plan.before:  # not graded now: its rows must stay as they are
            plan.expected_rows[student] = plan.before[student]
    return plan


def _canaries_here(bundle: Bundle, out) -> None:
    """Nothing to grade, so no worker proves the set-up: a broken one still fails here
    (with students to grade, every worker grades the canaries before anyone)."""
    print("Canaries (the master notebook's solutions, the untouched release) on the "
          "coordinator ...", file=out, flush=True)
    try:
        with WorkerState() as here:
            task.run_canaries(bundle, here)
    except GraderBroken as broken:
        raise Refusal(f"the grading set-up is broken, nobody was graded: {broken}") from None


def _grade_all(setup: _Setup, plan: _Plan, opts: Options, out) -> None:
    """Grade ``plan.todo`` on an engine, recording each student as its result arrives."""
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    bar = tqdm(total=len(plan.todo), desc="grading", unit="student",
               disable=not opts.progress, file=sys.stderr)
    try:
        if plan.todo:
            with _engine(opts, len(plan.todo), out) as engine:
                try:
                    shared = engine.check_workers(setup.bundle, task_bound(opts.limits))
                except GraderBroken as broken:
                    raise Refusal(f"the grading set-up is broken on a worker, nobody was "
                                  f"graded: {broken}") from None
                for student, outcome in engine.grade(shared, _submissions(setup, plan),
                                                     task_bound(opts.limits)):
                    result = _take(setup, plan, student, outcome)
                    bar.set_postfix_str(f"{student}: {result.status}"[:40])
                    bar.update(1)
    except EngineError as error:
        raise Refusal(str(error)) from None
    except KeyboardInterrupt:
        bar.close()
        print(f"\nInterrupted: {len(plan.results)} of {len(plan.students)} results saved; "
              "run the same command again to resume.", file=out)
        raise
    finally:
        bar.close()
        signal.signal(signal.SIGTERM, previous_term)


def _submissions(setup: _Setup, plan: _Plan) -> Iterator[SubmissionFiles]:
    for student in plan.todo:
        yield task.read_submission(setup.course / "submitted" / student / setup.assignment,
                                   student, plan.hashes[student])


def _take(setup: _Setup, plan: _Plan, student: str, outcome) -> StudentResult:
    """One finished task: recorded in the course, its expected rows noted, its result saved
    (unless it failed for a reason of ours, which a re-run grades again)."""
    result = record_outcome(setup.course, setup.db_url, setup.bundle, setup.spec, student,
                            plan.hashes[student], outcome)
    plan.results[student] = result
    rows = gradebook_scores(setup.db_url, setup.spec, student) if result.gradable else None
    if rows is not None:
        plan.expected_rows[student] = {k: v for k, (v, _) in rows.items()}
    elif student in plan.before:
        plan.expected_rows[student] = plan.before[student]
    if not result.status.startswith(TRANSIENT):
        _save(setup.results / f"{student}.json", setup.key, result)
    return result


def _report(setup: _Setup, plan: _Plan, out) -> Batch:
    """The gradebook check, grades.csv, the score plot and the summary."""
    ordered = [plan.results[s] for s in plan.students]
    _print_findings(ordered, out)
    problems = gradebook_check.check(setup.db_url, setup.spec, plan.expected_rows)
    reports_dir = setup.course / "reports" / setup.assignment
    csv_path = export.write_csv(ordered, setup.spec, reports_dir / "grades.csv")
    plot = report.plot_scores(ordered, setup.spec, reports_dir / "score-distribution.png")
    text = report.summary(ordered, setup.spec)
    text += "\n\nGradebook integrity: " + ("ok" if not problems else "; ".join(problems))
    refused = report.refused_submissions(setup.course, setup.assignment)
    text += f"\n\n{refused}" if refused else ""
    summary_path = reports_dir / "summary.txt"
    summary_path.write_text(text + "\n")
    print("\n" + text, file=out)
    print(f"\nGrades CSV: {csv_path}\nScore plot: {plot}\n"
          f"Feedback:   {setup.course / 'feedback'}", file=out)
    return Batch(ordered, plan.todo, plan.reused, problems, csv_path, plot, summary_path,
                 setup.spec)


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
        save_graded(course, db_url, bundle, student, outcome)
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
