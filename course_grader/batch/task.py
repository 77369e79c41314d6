"""Grade one student from bytes: the self-contained task a worker runs.

A task gets the submission's files (``SubmissionFiles``) and the class's grading
setup (``Bundle``: the source folder, the release, the assignment's
definition from the gradebook, the course's nbgrader config, limits), and
returns plain data (``Graded``): the result with scores, status, notes and
diagnoses, the autograded notebook and the feedback HTML.  It needs no shared
file system and never touches the course's gradebook: nbgrader's own
``Autograde`` and ``GenerateFeedback`` converters run in this process (imported
once per worker) against a private course folder and a private SQLite
gradebook built from the definition, both thrown away afterwards.

By default nothing runs in a kernel: the grade comes from the trusted verdict
(a sandboxed runner, warm per worker slot, that ran the setup cell once and runs
each submission's answer cells as a sealed job), so the autograded notebook is
the (repaired) submission with the verdict in its test cells.  ``full`` adds the
sandboxed kernel run of every cell (``GuardedExecute``), for instructors who want
the students' plots re-run in the feedback.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import shutil
import stat
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets.config import Config

from .. import pipeline
from ..sandbox.bubblewrap import Limits
from ..sandbox.slots import hold_slot
from ..untrusted_tree import TreeRefused, read_tree
from ..verdict.child import GraderBroken, RunnerPool
from . import gradebook_copy
from .outcome import GRADED, AssignmentSpec, StudentResult, failed, read_outcome
from .preflight import SKIPPED, Preflight, preflight, refusal_message
from .worker_state import WorkerState, remove_folder

EXECUTE_STEP = "course_grader.batch.execute.GuardedExecute"
FEEDBACK_STEPS = [*pipeline.FEEDBACK_STEPS[:-1], "course_grader.batch.feedback.SanitizeFeedback",
                  pipeline.INERT_FEEDBACK_STEP]  # the inert step stays last, after the note
CANARY_SOLUTION = "canary-solution"
CANARY_RELEASE = "canary-release"
BROKEN_FILE = "verdict-broken.txt"  # where TrustedVerdict says why the set-up is broken


@dataclass
class SubmissionFiles:
    student: str
    content_hash: str
    files: dict[str, bytes] = field(default_factory=dict)  # path in the folder -> bytes
    folders: list[str] = field(default_factory=list)  # every folder, empty ones too
    refused: str | None = None  # why the folder was not read (the student fails with it)


@dataclass
class Bundle:
    """The class's grading setup, the same for every task of one batch."""

    assignment: str
    notebook: str
    source_files: dict[str, bytes]  # source/<assignment>/: the master notebook and provided files
    release: str  # the release notebook (JSON)
    definition: dict  # gradebook_copy.export_definition
    config: Config  # the course's nbgrader_config.py, as loaded
    limits: Limits
    sandbox: bool
    full: bool
    key: str  # digest of everything above
    canaries: list[SubmissionFiles] = field(default_factory=list)
    declared: bool = True  # the assignment has a declaration (else full: nbgrader grades)


@dataclass
class Graded:
    result: dict  # StudentResult.to_dict()
    notebook: str | None = None  # the autograded notebook (JSON)
    feedback: str | None = None  # feedback HTML
    where: str = ""  # the process that graded it (host:pid)
    # small files nbgrader left beside the notebook and the feedback (the exchange's
    # timestamp.txt and submission_secret.txt, which release_feedback needs)
    autograded_files: dict[str, bytes] = field(default_factory=dict)
    feedback_files: dict[str, bytes] = field(default_factory=dict)
    timestamp: str | None = None  # the submission's timestamp.txt, as nbgrader read it


def read_submission(folder: Path, student: str, content_hash: str) -> SubmissionFiles:
    """The submission folder as bytes, read by ``untrusted_tree`` (bounded, no link
    followed); a folder it refuses comes back as ``refused`` with the reason. Never raises."""
    sub = SubmissionFiles(student, content_hash)
    if not folder.is_dir():
        return sub
    try:
        sub.files, sub.folders, digest = read_tree(folder, skip=SKIPPED)
    except TreeRefused as refused:
        return SubmissionFiles(student, content_hash, refused=str(refused))
    except OSError as error:
        return SubmissionFiles(student, content_hash,
                               refused=f"it cannot be read ({error.strerror})")
    if content_hash and digest != content_hash:  # changed since the coordinator hashed it
        sub.content_hash = digest
    return sub


def _write_submission(sub: SubmissionFiles, folder: Path) -> None:
    folder.mkdir(parents=True)
    root = folder.resolve()
    for rel in sub.folders:
        target = (folder / rel).resolve()
        if root in target.parents:
            target.mkdir(parents=True, exist_ok=True)
    for rel, data in sub.files.items():
        target = (folder / rel).resolve()
        if root not in target.parents:
            continue  # a path that leaves the folder cannot come from a real folder listing
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


class _Base:
    """What a worker prepares once per bundle: the source folder and the seeded gradebook."""

    def __init__(self, bundle: Bundle):
        self.root = Path(tempfile.mkdtemp(prefix="cg-bundle-"))
        self.source = self.root / "source" / bundle.assignment
        self.source.mkdir(parents=True)
        for name, data in bundle.source_files.items():
            (self.source / name).write_bytes(data)
        self.gradebook = gradebook_copy.build(self.root / "gradebook.db", bundle.definition)
        self.release = nbformat.reads(bundle.release, as_version=4)
        self.spec = AssignmentSpec.of(bundle, self.source)


def _config(bundle: Bundle, course: Path, db_url: str, work: Path, slot: int,
            events: Path, runners: RunnerPool) -> Config:
    cfg = copy.deepcopy(bundle.config)
    lim = bundle.limits
    steps = [s for s in pipeline.AUTOGRADE_STEPS if bundle.full or s != EXECUTE_STEP]
    cfg.merge(Config({
        "CourseDirectory": {"root": str(course), "db_url": db_url,
                            "submitted_directory": str(work)},
        "Autograde": {"autograde_preprocessors": steps},
        "OverwriteCells": {"add_missing_cells": True},
        "Execute": {"timeout": lim.cell_timeout},
        "GuardedExecute": {"notebook_timeout": lim.notebook_timeout,
                           "sandboxed": bundle.sandbox, "events_path": str(events)},
        "SandboxKernelManager": {"uid": pipeline.SANDBOX_UID + slot, "memory_mb": lim.memory_mb,
                                 "cpu_seconds": lim.cpu_seconds, "processes": lim.processes,
                                 "file_mb": lim.file_mb, "tmp_mb": lim.tmp_mb,
                                 "workdir_mb": lim.workdir_mb},
        "TrustedVerdict": {"sandboxed": bundle.sandbox, "uid": pipeline.VERDICT_UID + 8 * slot,
                           "memory_mb": lim.memory_mb, "processes": lim.processes,
                           "tmp_mb": lim.tmp_mb, "output_mb": lim.output_mb,
                           "runners": runners,
                           "broken_path": str(events.with_name(BROKEN_FILE))},
        "GenerateFeedback": {"preprocessors": FEEDBACK_STEPS,
                             "exporter_class": pipeline.FEEDBACK_EXPORTER},
        "HTMLExporter": {"template_name": "feedback"},
    }))
    return cfg


def _run_converter(cls, cfg: Config, assignment: str, student: str, log_path: Path) -> int:
    """nbgrader's converter in this process; 0 on success, 1 when nbgrader gave up."""
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from sqlalchemy.exc import SAWarning

    logger = logging.getLogger(f"course_grader.task.{threading.get_ident()}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logger.addHandler(handler)
    try:
        # nbgrader's own SQLAlchemy session warnings, the same in every run: not news
        warnings.filterwarnings("ignore", category=SAWarning)
        coursedir = CourseDirectory(config=cfg, log=logger)
        coursedir.assignment_id = assignment
        coursedir.student_id = student
        app = cls(coursedir=coursedir, config=cfg, log=logger)
        app.force = True
        app.start()
        return 0
    except NbGraderException:
        return 1
    finally:
        logger.removeHandler(handler)
        handler.close()


def grade(bundle: Bundle, sub: SubmissionFiles, state: WorkerState, check_canaries: bool = True,
          feedback: bool = True) -> Graded:
    """Grade one submission; raises GraderBroken when the grading set-up itself is broken.

    ``state`` is what this worker keeps between its tasks (``worker_state``).
    Whatever else goes wrong comes back as data, that student ``failed: <reason>``:
    an exception must never be the task's result, since one that cannot be
    pickled back would leave the coordinator waiting for ever.
    """
    # GraderBroken is raised outside every except block: one raised inside would carry
    # the original as __context__, which pickles along once distributed is imported
    try:
        if check_canaries:
            ensure_canaries(bundle, state)
        with hold_slot() as slot, state.prepared(bundle.key, lambda: _Base(bundle)) as base:
            return _grade(bundle, base, sub, slot, state.runners, feedback)
    except GraderBroken as broken:  # stops the class: re-raised as plain text
        stop = _plain(broken)
    except Exception as error:  # noqa: BLE001 - any bug of ours is this student's failure
        reason = f"internal error: {type(error).__name__}: {_plain(error)}"
        try:
            with state.prepared(bundle.key, lambda: _Base(bundle)) as base:
                spec = base.spec
        except Exception as broken:  # noqa: BLE001 - the set-up itself, not this student
            stop = f"the grading set-up cannot be prepared on this worker: {_plain(broken)}"
        else:
            return Graded(failed(spec, Preflight(sub.student, sub.content_hash),
                                 reason).to_dict(), where=_here())
    raise GraderBroken(stop)


def _plain(error: BaseException, limit: int = 200) -> str:
    """An exception's text as a plain, short str (its own __str__ may fail or lie)."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a broken __str__
        text = "(no readable message)"
    text = text if isinstance(text, str) else "(no readable message)"
    return "".join(ch if ch.isprintable() else " " for ch in text[:limit])


def _here() -> str:
    """This process, as the results name it (host:pid)."""
    return f"{os.uname().nodename}:{os.getpid()}"


@dataclass
class _Private:
    """One student's private folders on this worker, all below ``root`` (removed after)."""

    root: Path

    @property
    def course(self) -> Path:
        return self.root / "course"

    @property
    def work(self) -> Path:  # preflight's repaired copy: nbgrader's submitted folder
        return self.root / "work"

    @property
    def state(self) -> Path:  # what the grading steps write for us: events, logs, notes
        return self.root / "state"


def _grade(bundle: Bundle, base: _Base, sub: SubmissionFiles, slot: int, runners: RunnerPool,
           feedback: bool = True) -> Graded:
    if sub.refused is not None:
        report = Preflight(sub.student, sub.content_hash)
        return Graded(failed(base.spec, report, refusal_message(sub.refused)).to_dict(),
                      where=_here())
    private = _Private(Path(tempfile.mkdtemp(prefix="cg-student-", dir=base.root)))
    try:
        shutil.copytree(base.source, private.course / "source" / bundle.assignment)
        _write_submission(sub, private.course / "submitted" / sub.student / bundle.assignment)
        report = preflight(private.course, sub.student, base.release, private.work,
                           bundle.assignment, bundle.notebook)
        if report.failure:
            return Graded(failed(base.spec, report, report.failure).to_dict(), where=_here())
        db_url = gradebook_copy.fresh_copy(base.gradebook, private.root / "gradebook.db")
        private.state.mkdir()
        cfg = _config(bundle, private.course, db_url, private.work, slot,
                      private.state / "events.json", runners)
        result = _autograde(bundle, base, sub.student, cfg, report, db_url, private)
        graded = Graded(result.to_dict(), where=_here())
        if result.scores and feedback:
            _add_feedback(graded, result, bundle, base, sub.student, cfg, report, db_url,
                          private)
        return graded
    finally:
        remove_folder(private.root)


def _autograde(bundle: Bundle, base: _Base, student: str, cfg: Config, report: Preflight,
               db_url: str, private: _Private) -> StudentResult:
    """nbgrader's Autograde on the private copy, and what it produced."""
    from nbgrader.converters import Autograde

    code = _run_converter(Autograde, cfg, bundle.assignment, student,
                          private.state / "autograde.log")
    broken = private.state / BROKEN_FILE  # TrustedVerdict's reason, when the set-up failed
    if broken.is_file():  # the set-up failed, not the student: stop the class
        raise GraderBroken(broken.read_text()[:2000])
    return read_outcome(base.spec, db_url, private.course, student, report, code,
                        private.state / "autograde.log", private.state / "events.json")


def _add_feedback(graded: Graded, result: StudentResult, bundle: Bundle, base: _Base,
                  student: str, cfg: Config, report: Preflight, db_url: str,
                  private: _Private) -> None:
    """The autograded notebook, nbgrader's small files and the feedback page, into
    ``graded``; a page that could not be made is a note on the result."""
    from nbgrader.converters import GenerateFeedback

    nb_path = private.course / "autograded" / student / bundle.assignment / \
        f"{bundle.notebook}.ipynb"
    graded.notebook = nb_path.read_text()
    graded.autograded_files = _records(nb_path.parent, bundle)
    stamp = private.work / student / bundle.assignment / "timestamp.txt"
    graded.timestamp = stamp.read_text()[:200] if stamp.is_file() else None
    notes = private.state / "notes.json"
    notes.write_text(json.dumps({
        "student": student, "content_hash": report.content_hash,
        "findings": [f.__dict__ for f in report.findings], "db_url": db_url,
        "course": str(private.course), "events": str(private.state / "events.json"),
        "assignment": dataclasses.asdict(base.spec)}))
    cfg.merge(Config({"SanitizeFeedback": {"notes_path": str(notes)}}))
    _run_converter(GenerateFeedback, cfg, bundle.assignment, student,
                   private.state / "feedback.log")
    html = private.course / "feedback" / student / bundle.assignment / f"{bundle.notebook}.html"
    if html.exists():
        graded.feedback = html.read_text()
        graded.feedback_files = _records(html.parent, bundle)
    else:
        result.notes.append("feedback could not be generated")
        graded.result = result.to_dict()


def _records(folder: Path, bundle: Bundle) -> dict[str, bytes]:
    """The small files nbgrader wrote into ``folder`` besides the notebook, its HTML and
    the provided files (the coordinator writes those itself). A kernel may have written
    into this folder too: no link is followed and at most a few dozen names are read."""
    skip = {f"{bundle.notebook}.ipynb", f"{bundle.notebook}.html", *bundle.source_files}
    found: dict[str, bytes] = {}
    with os.scandir(folder) as entries:
        for count, entry in enumerate(entries):
            if count >= 64 or len(found) >= 8:
                break
            if entry.name in skip or not entry.is_file(follow_symlinks=False):
                continue
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            with os.fdopen(fd, "rb") as fh:
                if stat.S_ISREG(os.fstat(fd).st_mode) and os.fstat(fd).st_size <= 4096:
                    found[entry.name] = fh.read(4097)[:4096]
    return dict(sorted(found.items()))


# -- canaries: the set-up must give the solutions full marks and the release 0 --------

def canary_submissions(source_nb: str, release_nb: str, notebook: str) -> list[SubmissionFiles]:
    """The release with the master notebook's solutions filled in, and the release untouched."""
    source = nbformat.reads(source_nb, as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    answered = nbformat.reads(release_nb, as_version=4)
    for cell in answered.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in solutions:
            cell.source = solutions[grade_id]
    name = f"{notebook}.ipynb"
    return [SubmissionFiles(CANARY_SOLUTION, "", {name: nbformat.writes(answered).encode()}),
            SubmissionFiles(CANARY_RELEASE, "", {name: release_nb.encode()})]


def canary_problem(student: str, result: StudentResult) -> str | None:
    """Why a canary's result shows a broken set-up (None: as expected)."""
    if not result.gradable:
        return f"{student} could not be graded: {result.status}"
    if student == CANARY_SOLUTION and (result.score != result.max_score or
                                       result.status != GRADED):
        return (f"the master notebook's own solutions scored {result.score:g}/"
                f"{result.max_score:g} ({result.status}; {'; '.join(result.diagnoses)[:300]})")
    if student == CANARY_RELEASE and result.score != 0:
        return f"the untouched release scored {result.score:g}, not 0"
    return None


def run_canaries(bundle: Bundle, state: WorkerState) -> str:
    """Grade the canaries with ``state``; raises GraderBroken with the reason unless they
    come out right.

    The proof is the scores, so a canary's feedback page (half its cost) is not made."""
    for sub in bundle.canaries:
        graded = grade(bundle, sub, state, check_canaries=False, feedback=False)
        problem = canary_problem(sub.student, StudentResult.from_dict(graded.result))
        if problem:
            raise GraderBroken(f"canary on {graded.where}: {problem}")
    return _here()


def ensure_canaries(bundle: Bundle, state: WorkerState) -> None:
    """Once per worker and bundle, before its first student."""
    if not state.canaries_passed(bundle.key):
        run_canaries(bundle, state)
        state.mark_canaries_passed(bundle.key)


def canaries_on_worker(bundle: Bundle, state: WorkerState) -> str:
    """The canaries on this worker (remembered in its state, so students skip them).

    Any failure comes back as a plain-text ``GraderBroken`` (it stops the class)."""
    try:
        ensure_canaries(bundle, state)
    except Exception as error:  # noqa: BLE001 - a set-up that does not grade its canaries
        raise GraderBroken(_plain(error) if isinstance(error, GraderBroken) else
                           f"{type(error).__name__}: {_plain(error)}") from None
    return _here()
