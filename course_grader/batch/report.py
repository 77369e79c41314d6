"""The end-of-batch report: table, pass rates, common mistakes, score plot."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..exchange.arrival import read_records
from ..exchange.intake import store_of
from ..table import format_table
from .outcome import AssignmentSpec, StudentResult


def table(results: list[StudentResult], spec: AssignmentSpec) -> str:
    rows = []
    for r in sorted(results, key=lambda r: r.student):
        row = {"student": r.student, "status": r.status,
               "score": f"{r.score:g}/{spec.max_score:g}" if r.gradable else "-"}
        for exercise in spec.exercises:
            value = r.exercises.get(exercise)
            row[exercise] = f"{value:g}" if r.gradable and value is not None else "-"
        rows.append(row)
    return format_table(rows, ["student", "score", *spec.exercises, "status"])


def pass_rates(results: list[StudentResult], spec: AssignmentSpec) -> dict[str, tuple[int, int]]:
    """exercise -> (students with full points, students graded)."""
    graded = [r for r in results if r.gradable]
    return {ex: (sum(1 for r in graded if r.exercises.get(ex) == spec.exercise_max(ex)),
                 len(graded)) for ex in spec.exercises}


def common_mistakes(results: list[StudentResult], top: int = 8) -> list[tuple[str, int]]:
    """Diagnosis codes counted once per student, most frequent first."""
    counts = Counter(code for r in results for code in set(r.diagnoses))
    return counts.most_common(top)


def summary(results: list[StudentResult], spec: AssignmentSpec) -> str:
    lines = [table(results, spec), "", "Per-exercise pass rate (full points):"]
    for exercise, (passed, graded) in pass_rates(results, spec).items():
        share = f"{passed / graded:.0%}" if graded else "-"
        lines.append(f"  {exercise:<8} {passed}/{graded}  {share}")
    mistakes = common_mistakes(results)
    lines += ["", "Most common diagnosed mistakes (students):"]
    lines += [f"  {code:<22} {count}" for code, count in mistakes] or ["  none"]
    statuses = Counter(r.status.split(":")[0] for r in results)
    lines += ["", "Status counts: " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items()))]
    return "\n".join(lines)


def plot_scores(results: list[StudentResult], spec: AssignmentSpec, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = [r.score for r in results if r.gradable]
    ungraded = len(results) - len(scores)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    top = spec.max_score
    bins = list(range(0, int(top) + 3, max(1, int(top) // 15)))
    ax.hist(scores, bins=bins, color="#3b75af", edgecolor="white")
    ax.set_xlabel(f"score (of {top:g})")
    ax.set_ylabel("students")
    ax.set_title(f"Score distribution: {len(scores)} graded"
                 + (f", {ungraded} not gradable" if ungraded else ""))
    ax.set_xlim(0, top + 2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def refused_submissions(course: Path, assignment: str) -> str:
    """The exchange's refused submissions (course_grader/exchange), for the report; "" if none."""
    refused = [a for a in read_records(store_of(course), assignment) if not a.accepted]
    if not refused:
        return ""
    lines = [f"Submissions refused at intake ({len(refused)}; never collected or graded):"]
    lines += [f"  {a.student or '?'} (named {a.claimed}): {a.reason}" for a in refused[:40]]
    lines += [f"  ... and {len(refused) - 40} more (course intake/ records)"] * (len(refused) > 40)
    return "\n".join(lines)
