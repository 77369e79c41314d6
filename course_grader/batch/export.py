"""The grades CSV: one row per student, a column per exercise, total, max, status.

A submission that could not be graded leaves its score cells empty and says
why in ``status``; it is never written as 0, which would read as a real zero.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .outcome import Assignment, StudentResult


def columns(spec: Assignment) -> list[str]:
    return ["student", *spec.exercises, "total", "max", "status", "notes"]


def _points(value) -> str:
    return "" if value is None else f"{value:g}"


def row(result: StudentResult, spec: Assignment) -> dict:
    graded = result.gradable
    out = {"student": result.student, "max": f"{spec.max_score:g}", "status": result.status,
           "notes": " | ".join(result.notes + [f["message"] for f in result.findings])}
    for exercise in spec.exercises:
        out[exercise] = _points(result.exercises.get(exercise)) if graded else ""
    out["total"] = _points(result.score) if graded else ""
    return out


def write_csv(results: list[StudentResult], spec: Assignment, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns(spec))
        writer.writeheader()
        for result in sorted(results, key=lambda r: r.student):
            writer.writerow(row(result, spec))
    tmp.replace(path)
    return path
