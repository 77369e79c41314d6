"""The grades CSV: one row per student, a column per exercise, total, max, status.

A submission that could not be graded leaves its score cells empty and says
why in ``status``; it is never written as 0, which would read as a real zero.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..atomic_write import write_atomic
from .outcome import AssignmentSpec, StudentResult


def columns(spec: AssignmentSpec) -> list[str]:
    return ["student", *spec.exercises, "total", "max", "status", "notes"]


def _points(value) -> str:
    return "" if value is None else f"{value:g}"


def row(result: StudentResult, spec: AssignmentSpec) -> dict:
    graded = result.gradable
    out = {"student": result.student, "max": f"{spec.max_score:g}", "status": result.status,
           "notes": " | ".join(result.notes + [f["message"] for f in result.findings])}
    for exercise in spec.exercises:
        out[exercise] = _points(result.exercises.get(exercise)) if graded else ""
    out["total"] = _points(result.score) if graded else ""
    return out


def write_csv(results: list[StudentResult], spec: AssignmentSpec, path: Path) -> Path:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns(spec))
    writer.writeheader()
    for result in sorted(results, key=lambda r: r.student):
        writer.writerow(row(result, spec))
    return write_atomic(path, text.getvalue())
