"""The page a student fetches seconds after Submit when the instructor shows no scores.

It lists, exercise by exercise, whether the hidden checks passed and, where
they did not, the grader's diagnosis (the same sentence the feedback shows),
and never a point. Every text on it is escaped; it has no script, no style
sheet from elsewhere and no link out.
"""

from __future__ import annotations

import html
from datetime import datetime

from ..batch.outcome import AssignmentSpec, StudentResult

_STYLE = ("body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.45}"
          "li{margin:.4em 0}.ok{color:#176117}.fix{color:#8a1c1c}.note{color:#555}")


def diagnosis_page(result: StudentResult, spec: AssignmentSpec, when: datetime,
                   show_score: bool) -> str:
    esc = html.escape
    rows = []
    if not result.gradable:
        rows.append(f"<p class='fix'>This submission could not be graded: "
                    f"{esc(result.status)}.</p>")
    else:
        rows.append("<ul>")
        for exercise, cells in spec.exercises.items():
            problems = [result.errors[c] for c in cells if c in result.errors]
            points = ""
            if show_score and result.exercises.get(exercise) is not None:
                points = (f" ({result.exercises[exercise]:g} / "
                          f"{spec.exercise_max(exercise):g} points)")
            if problems:
                detail = "".join(f"<li>{esc(p)}</li>" for p in problems)
                rows.append(f"<li><b>{esc(exercise)}</b>{points}: "
                            f"<span class='fix'>not yet right</span><ul>{detail}</ul></li>")
            else:
                rows.append(f"<li><b>{esc(exercise)}</b>{points}: "
                            "<span class='ok'>every hidden check passed</span></li>")
        rows.append("</ul>")
        if show_score:
            rows.append(f"<p><b>Total: {result.score:g} / {result.max_score:g}</b></p>")
    notes = [*result.notes, *(f.get("message", "") for f in result.findings)]
    if notes:
        rows.append("<p class='note'>Notes:</p><ul class='note'>"
                    + "".join(f"<li>{esc(n)}</li>" for n in notes if n) + "</ul>")
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{esc(spec.notebook)}: checked on submit</title>"
        f"<style>{_STYLE}</style></head>\n<body>\n"
        f"<h1>{esc(spec.notebook)}: your submission of {esc(stamp)}</h1>\n"
        "<p>The grader ran its hidden checks on what you handed in. What it found:</p>\n"
        + "\n".join(rows) +
        "\n<p class='note'>Your instructor's final grade may add checks by hand. You may "
        "submit again; only your newest submission is checked.</p>\n</body></html>\n")
