"""Grade one student from bytes: the self-contained task a worker runs.

A task gets the submission's files (``Submission``) and the class's grading
setup (``Bundle``: the source folder, the release, the assignment's
definition from the gradebook, the course's nbgrader config, limits), and
returns plain data (``Graded``): the result with scores, status, notes and
diagnoses, the autograded notebook and the feedback HTML.  It needs no shared
file system and never touches the course's gradebook: nbgrader's own
``Autograde`` and ``GenerateFeedback`` converters run in this process (imported
once per worker) against a private course folder and a private SQLite
gradebook built from the definition, both thrown away afterwards.

By default nothing runs in a kernel: the grade comes from the trusted verdict
(a fresh sandboxed child that runs only the setup and answer cells), so the
autograded notebook is the (repaired) submission with the verdict in its test
cells.  ``full`` adds the sandboxed kernel run of every cell (``GuardedExecute``),
for instructors who want the students' plots re-run in the feedback.
"""

from __future__ import annotations

import atexit
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
from ..untrusted_tree import TreeRefused, read_tree, remove_tree
from ..verdict.child import GraderBroken
from . import gradebook_copy
from .outcome import GRADED, Assignment, StudentResult, failed, read_outcome
from .preflight import SKIPPED, Preflight, preflight, refusal_message

EXECUTE_STEP = "course_grader.batch.execute.GuardedExecute"
FEEDBACK_STEPS = [*pipeline.FEEDBACK_STEPS[:-1], "course_grader.batch.feedback.SanitizeFeedback",
                  pipeline.INERT_FEEDBACK_STEP]  # the inert step stays last, after the note
CANARY_SOLUTION = "canary-solution"
CANARY_RELEASE = "canary-release"
BROKEN_FILE = "verdict-broken.txt"  # where TrustedVerdict says why the set-up is broken


@dataclass
class Submission:
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
    canaries: list[Submission] = field(default_factory=list)
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


def read_submission(folder: Path, student: str, content_hash: str) -> Submission:
    """The submission folder as bytes, read by ``untrusted_tree`` (bounded, no link
    followed); a folder it refuses comes back as ``refused`` with the reason. Never raises."""
    sub = Submission(student, content_hash)
    if not folder.is_dir():
        return sub
    try:
        sub.files, sub.folders, digest = read_tree(folder, skip=SKIPPED)
    except TreeRefused as refused:
        return Submission(student, content_hash, refused=str(refused))
    except OSError as error:
        return Submission(student, content_hash,
                          refused=f"it cannot be read ({error.strerror})")
    if content_hash and digest != content_hash:  # changed since the coordinator hashed it
        sub.content_hash = digest
    return sub


def _write_submission(sub: Submission, folder: Path) -> None:
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
        self.spec = Assignment.of(bundle, self.source)


_BASES: dict[str, _Base] = {}
_CANARIES_PASSED: set[str] = set()
_LOCK = threading.Lock()


@atexit.register
def _remove_bases() -> None:
    for base in _BASES.values():
        _remove(base.root)  # it may hold a student's folder that could not be removed


def _base(bundle: Bundle) -> _Base:
    with _LOCK:
        if bundle.key not in _BASES:
            _BASES[bundle.key] = _Base(bundle)
        return _BASES[bundle.key]


def _config(bundle: Bundle, course: Path, db_url: str, work: Path, slot: int,
            events: Path) -> Config:
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


def grade(bundle: Bundle, sub: Submission, check_canaries: bool = True,
          feedback: bool = True) -> Graded:
    """Grade one submission; raises GraderBroken when the grading set-up itself is broken.

    Whatever else goes wrong comes back as data, that student ``failed: <reason>``:
    an exception must never be the task's result, since one that cannot be
    pickled back would leave the coordinator waiting for ever.
    """
    # GraderBroken is raised outside every except block: one raised inside would carry
    # the original as __context__, which pickles along once distributed is imported
    try:
        if check_canaries:
            ensure_canaries(bundle)
        with hold_slot() as slot:
            return _grade(bundle, sub, slot, feedback)
    except GraderBroken as broken:  # stops the class: re-raised as plain text
        stop = _plain(broken)
    except Exception as error:  # noqa: BLE001 - any bug of ours is this student's failure
        reason = f"internal error: {type(error).__name__}: {_plain(error)}"
        try:
            spec = _base(bundle).spec
        except Exception as broken:  # noqa: BLE001 - the set-up itself, not this student
            stop = f"the grading set-up cannot be prepared on this worker: {_plain(broken)}"
        else:
            return Graded(failed(spec, Preflight(sub.student, sub.content_hash),
                                 reason).to_dict(),
                          where=f"{os.uname().nodename}:{os.getpid()}")
    raise GraderBroken(stop)


def _plain(error: BaseException, limit: int = 200) -> str:
    """An exception's text as a plain, short str (its own __str__ may fail or lie)."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a broken __str__
        text = "(no readable message)"
    text = text if isinstance(text, str) else "(no readable message)"
    return "".join(ch if ch.isprintable() else " " for ch in text[:limit])


def _grade(bundle: Bundle, sub: Submission, slot: int, feedback: bool = True) -> Graded:
    from nbgrader.converters import Autograde, GenerateFeedback

    base = _base(bundle)
    where = f"{os.uname().nodename}:{os.getpid()}"
    if sub.refused is not None:
        report = Preflight(sub.student, sub.content_hash)
        return Graded(failed(base.spec, report, refusal_message(sub.refused)).to_dict(),
                      where=where)
    tmp = Path(tempfile.mkdtemp(prefix="cg-student-", dir=base.root))
    try:
        course = tmp / "course"
        shutil.copytree(base.source, course / "source" / bundle.assignment)
        _write_submission(sub, course / "submitted" / sub.student / bundle.assignment)
        work = tmp / "work"
        report = preflight(course, sub.student, base.release, work, bundle.assignment,
                           bundle.notebook)
        if report.failure:
            return Graded(failed(base.spec, report, report.failure).to_dict(), where=where)
        db_url = gradebook_copy.fresh_copy(base.gradebook, tmp / "gradebook.db")
        state = tmp / "state"
        state.mkdir()
        events, log = state / "events.json", state / "autograde.log"
        cfg = _config(bundle, course, db_url, work, slot, events)
        os.environ.pop("JPY_PARENT_PID", None)  # a sandboxed kernel must not watch us
        code = _run_converter(Autograde, cfg, bundle.assignment, sub.student, log)
        broken = state / BROKEN_FILE  # TrustedVerdict's reason, when the set-up failed
        if broken.is_file():  # the set-up failed, not the student: stop the class
            raise GraderBroken(broken.read_text()[:2000])
        result = read_outcome(base.spec, db_url, course, sub.student, report, code, log, events)
        nb_path = course / "autograded" / sub.student / bundle.assignment / \
            f"{bundle.notebook}.ipynb"
        graded = Graded(result.to_dict(), where=where)
        if not result.scores or not feedback:
            return graded
        graded.notebook = nb_path.read_text()
        graded.autograded_files = _records(nb_path.parent, bundle)
        stamp = work / sub.student / bundle.assignment / "timestamp.txt"
        graded.timestamp = stamp.read_text()[:200] if stamp.is_file() else None
        notes = state / "notes.json"
        notes.write_text(json.dumps({
            "student": sub.student, "content_hash": report.content_hash,
            "findings": [f.__dict__ for f in report.findings], "db_url": db_url,
            "course": str(course), "events": str(events),
            "assignment": dataclasses.asdict(base.spec)}))
        cfg.merge(Config({"SanitizeFeedback": {"notes_path": str(notes)}}))
        _run_converter(GenerateFeedback, cfg, bundle.assignment, sub.student,
                       state / "feedback.log")
        html = course / "feedback" / sub.student / bundle.assignment / f"{bundle.notebook}.html"
        if html.exists():
            graded.feedback = html.read_text()
            graded.feedback_files = _records(html.parent, bundle)
        else:
            result.notes.append("feedback could not be generated")
            graded.result = result.to_dict()
        return graded
    finally:
        _remove(tmp)


def _remove(tmp: Path) -> None:
    """Delete a student's private folder at any depth (a kernel may have built a chain
    there that ``shutil.rmtree`` cannot delete); a leftover is logged, never raised."""
    try:
        remove_tree(tmp)
    except OSError as error:
        logging.getLogger(__name__).warning("could not remove %s: %s", tmp, error)


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

def canary_submissions(source_nb: str, release_nb: str, notebook: str) -> list[Submission]:
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
    return [Submission(CANARY_SOLUTION, "", {name: nbformat.writes(answered).encode()}),
            Submission(CANARY_RELEASE, "", {name: release_nb.encode()})]


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


def run_canaries(bundle: Bundle) -> str:
    """Grade the canaries here; raises GraderBroken with the reason unless they come out right.

    The proof is the scores, so a canary's feedback page (half its cost) is not made."""
    for sub in bundle.canaries:
        graded = grade(bundle, sub, check_canaries=False, feedback=False)
        problem = canary_problem(sub.student, StudentResult.from_dict(graded.result))
        if problem:
            raise GraderBroken(f"canary on {graded.where}: {problem}")
    return f"{os.uname().nodename}:{os.getpid()}"


def ensure_canaries(bundle: Bundle) -> None:
    """Once per process and bundle, before its first student."""
    with _LOCK:
        if bundle.key in _CANARIES_PASSED:
            return
    run_canaries(bundle)
    with _LOCK:
        _CANARIES_PASSED.add(bundle.key)


def canaries_on_worker(bundle: Bundle) -> str:
    """Dask task: the canaries on this worker (and remembered, so students skip them).

    Any failure comes back as a plain-text ``GraderBroken`` (it stops the class)."""
    try:
        ensure_canaries(bundle)
    except Exception as error:  # noqa: BLE001 - a set-up that does not grade its canaries
        raise GraderBroken(_plain(error) if isinstance(error, GraderBroken) else
                           f"{type(error).__name__}: {_plain(error)}") from None
    return f"{os.uname().nodename}:{os.getpid()}"
