"""What one student's grading run produced: scores, status and the reasons."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from ..cells import grade_id_of
from .preflight import Preflight

GRADED = "graded"
REPAIRED = "repaired"
MANUAL = "needs manual grading"
TIMED_OUT = "timed out"
CAPPED = "resource cap hit"
DIED = "kernel died"
FAILED = "failed"  # always written as "failed: <reason>"

DIAGNOSIS = re.compile(r"\[diagnosis: ([\w.]+)\]")


@dataclass
class Assignment:
    """What the class grader knows of an assignment, read from the gradebook and the
    verdict's grading setup (``of``): never from constants of one course."""

    name: str
    notebook: str
    cells: dict  # graded cell -> max points, as nbgrader recorded them
    exercises: dict  # exercise -> its graded cells, in notebook order

    @property
    def max_score(self) -> float:
        return float(sum(self.cells.values()))

    def exercise_max(self, exercise: str) -> float:
        return float(sum(self.cells[c] for c in self.exercises[exercise]))

    @classmethod
    def of(cls, bundle, source_dir: Path) -> Assignment:
        from ..verdict.grading import GradingSetup
        from ..verdict.registry import configured_modules, declaration_for
        from .gradebook_copy import graded_cells

        cells = graded_cells(bundle.definition, bundle.notebook)
        declaration = declaration_for(bundle.assignment, Path(source_dir).parent.parent,
                                      configured_modules(bundle.config))
        tests = GradingSetup.from_source(source_dir, bundle.notebook, declaration).tests
        exercises: dict[str, list[str]] = {}
        release = nbformat.reads(bundle.release, as_version=4)
        order = [grade_id_of(c) for c in release.cells]
        for cell in sorted(cells, key=lambda c: order.index(c) if c in order else len(order)):
            # a graded cell the verdict does not group is an exercise of its own
            exercises.setdefault(tests[cell][0] if cell in tests else cell, []).append(cell)
        return cls(bundle.assignment, bundle.notebook, cells, exercises)

    @classmethod
    def from_dict(cls, data: dict) -> Assignment:
        return cls(**data)


@dataclass
class StudentResult:
    student: str
    status: str
    content_hash: str = ""
    score: float | None = None
    max_score: float = 0.0
    scores: dict = field(default_factory=dict)  # grade_id -> points
    exercises: dict = field(default_factory=dict)  # exercise -> points (None if ungraded)
    notes: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)  # grade_id -> "Ename: message"
    diagnoses: list = field(default_factory=list)
    seconds: float = 0.0
    feedback: str = ""

    @property
    def gradable(self) -> bool:
        return self.score is not None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> StudentResult:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def failed(spec: Assignment, report: Preflight, reason: str) -> StudentResult:
    return StudentResult(report.student, f"{FAILED}: {reason}", report.content_hash,
                         max_score=spec.max_score,
                         findings=[f.__dict__ for f in report.findings],
                         exercises={ex: None for ex in spec.exercises})


def failed_before_grading(spec: Assignment, student: str, content_hash: str,
                          reason: str) -> StudentResult:
    return failed(spec, Preflight(student, content_hash), reason)


def gradebook_scores(db_url: str, spec: Assignment,
                     student: str) -> dict[str, tuple[float, bool]] | None:
    """grade_id -> (score, needs manual grade) for ``student``, None if not graded."""
    with Gradebook(db_url) as gb:
        try:
            nb = gb.find_submission_notebook(spec.notebook, spec.name, student)
        except MissingEntry:
            return None
        return {g.name: (float(g.score or 0.0), bool(g.needs_manual_grade)) for g in nb.grades}


def _last_error_line(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines()
             if "ERROR" in ln or "Error" in ln] if log.exists() else []
    return lines[-1][-200:] if lines else "see the autograde log"


def _cell_errors(spec: Assignment, course: Path,
                 student: str) -> dict[str, list[tuple[str, str]]]:
    path = course / "autograded" / student / spec.name / f"{spec.notebook}.ipynb"
    found: dict[str, list[tuple[str, str]]] = {}
    if not path.exists():
        return found
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        grade_id = grade_id_of(cell) or f"cell {index}"
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.setdefault(grade_id, []).append((out.get("ename", ""),
                                                       str(out.get("evalue", ""))))
    return found


def _first_sentence(ename: str, evalue: str) -> str:
    text = evalue.strip().splitlines()[0] if evalue.strip() else ""
    return f"{ename}: {text.split('. ')[0][:90]}"


def read_outcome(spec: Assignment, db_url: str, course: Path, student: str, report: Preflight,
                 code: int | None, log: Path, events_path: Path) -> StudentResult:
    """Turn the autograde run's exit, events, gradebook rows and outputs into a result."""
    if code is None:
        result = failed(spec, report, "")
        result.status = TIMED_OUT
        result.notes.append("nbgrader did not finish within its hard wall-clock limit and "
                            "was stopped; no grades recorded")
        return result
    if code != 0:
        return failed(spec, report,
                      f"nbgrader autograde exited with {code} ({_last_error_line(log)})")
    rows = gradebook_scores(db_url, spec, student)
    if rows is None:
        return failed(spec, report, "no grades in the gradebook after autograde")
    events = json.loads(events_path.read_text())["events"] if events_path.exists() else []
    errors = _cell_errors(spec, course, student)
    result = StudentResult(student, GRADED, report.content_hash, max_score=spec.max_score,
                           findings=[f.__dict__ for f in report.findings])
    result.scores = {gid: score for gid, (score, _) in sorted(rows.items())}
    result.score = float(sum(result.scores.values()))
    for exercise, cells in spec.exercises.items():
        result.exercises[exercise] = float(sum(result.scores.get(c, 0.0) for c in cells))
    for grade_id, errs in errors.items():
        if grade_id in spec.cells:
            result.errors[grade_id] = "; ".join(f"{e}: {v}" for e, v in errs)[:500]
            codes = [m.group(1) for _, v in errs for m in DIAGNOSIS.finditer(v)]
            # test cells hold only the trusted verdict's output (TrustedVerdict)
            result.diagnoses += codes or [_first_sentence(e, v) for e, v in errs[:1]]
    kinds = {e["kind"] for e in events}
    result.notes += [f"{e['kind'].replace('_', ' ')}"
                     f"{' in ' + e['cell'] if e['cell'] else ''}: {e['message']}" for e in events]
    needs_manual = [gid for gid, (_, manual) in rows.items() if manual]
    if needs_manual:
        result.notes.append(f"needs manual grading: {', '.join(sorted(needs_manual))}")
    # statuses come only from what the grader itself saw (exit codes, deadlines),
    # never from what the student's kernel printed
    if "resource_cap" in kinds:
        result.status = CAPPED
    elif kinds & {"cell_timeout", "notebook_timeout", "kernel_killed"}:
        result.status = TIMED_OUT
    elif "kernel_died" in kinds:
        result.status = DIED
    elif needs_manual:
        result.status = MANUAL
    elif report.repaired:
        result.status = REPAIRED
    return result
