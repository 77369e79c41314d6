"""Feedback HTML that explains the grade without giving the grading away.

Runs inside ``nbgrader generate_feedback`` after ``ClearHiddenTests``:

* any hidden-test block still in a cell's source is cut out;
* an error in a test cell shows as one line, ``Name: message`` (the hidden
  checks' messages name the mistake, never the reference values); other
  errors keep their traceback minus any line from the grader's package;
* a note at the top gives the batch status and what preflight repaired,
  and why grading stopped when a time limit or a resource cap ended the run;
  every value it quotes is escaped, and the inert step runs after it (the
  last step of ``FEEDBACK_STEPS``).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode, default

import course_grader

from ..cells import is_test

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?(### END HIDDEN TESTS\n?|$)", re.S)
PACKAGE_DIR = str(Path(course_grader.__file__).resolve().parent)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# what would make markdown of a quoted name: links, images, code, math, tables
MARKDOWN_SPECIAL = re.compile(r"[\\`\[\]!|$]")
WORD = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a grade id that is safe as a link target


def one_line(ename: str, evalue: str) -> str:
    return f"{ename}: {evalue}" if evalue else ename


def _leaks(line: str) -> bool:
    plain = ANSI.sub("", line)
    return PACKAGE_DIR in plain or "course_grader" in plain


class SanitizeFeedback(NbGraderPreprocessor):
    """Strip hidden tests and grader tracebacks; add the batch's note."""

    notes_path = Unicode("", help="JSON with this student's status and notes").tag(config=True)

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if HIDDEN.search(cell.source):
                cell.source = HIDDEN.sub("", cell.source).rstrip() + "\n"
            for out in cell.get("outputs", []):
                if out.get("output_type") != "error":
                    continue
                if is_test(cell) or any(_leaks(t) for t in out.get("traceback", [])[-1:]):
                    out["traceback"] = [one_line(out.get("ename", ""), out.get("evalue", ""))]
                else:
                    out["traceback"] = [t for t in out.get("traceback", []) if not _leaks(t)]
        note = self._note()
        if note:
            nb.cells.insert(0, new_markdown_cell(note))
        return nb, resources

    def _note(self) -> str:
        if not self.notes_path or not Path(self.notes_path).exists():
            return ""
        from .outcome import AssignmentSpec, read_outcome
        from .preflight import Finding, Preflight

        data = json.loads(Path(self.notes_path).read_text())
        spec = AssignmentSpec.from_dict(data["assignment"])
        report = Preflight(data["student"], data["content_hash"],
                           [Finding(**f) for f in data["findings"]])
        # the same reading of the run that the batch's table and CSV make
        result = read_outcome(spec, data["db_url"], Path(data["course"]), data["student"],
                              report, 0, Path(self.notes_path), Path(data["events"]))
        # statuses and findings quote what a student named (files, grade ids): escaped,
        # and the inert step after this one renders and cleans the whole note again
        lines = [f"**Grading status: {_quote(result.status)}**", ""]
        if result.gradable:
            lines += _exercise_lines(spec, result)
        lines += [f"- {_quote(note)}" for note in result.notes]
        lines += [f"- {_quote(finding.message)}" for finding in report.findings]
        return "\n".join(lines)


def _exercise_lines(spec, result) -> list[str]:
    """Per exercise: its points, then each failed check's diagnosis linked to its cell."""
    lines = []
    for exercise, points in result.exercises.items():
        lines.append(f"- **{_quote(exercise)}: {points:g} / {spec.exercise_max(exercise):g} "
                     "points**")
        for cell in spec.exercises.get(exercise, []):
            if cell in result.errors and WORD.fullmatch(cell):
                # nbgrader's feedback template anchors every graded cell by its grade id
                lines.append(f"    - [{_quote(cell)}](#{cell}): {_quote(result.errors[cell])}")
    return lines


def _quote(text: str) -> str:
    """Grader text that may quote a student's words, as literal text in markdown."""
    return MARKDOWN_SPECIAL.sub(r"\\\g<0>", html.escape(str(text)))


class _CompiledTemplates(BytecodeCache):
    """Compiled Jinja templates kept for the life of the process.

    nbgrader makes a new HTML exporter, and so a new Jinja environment, for
    every student; without this each feedback page compiles the same dozen
    templates again.  The key covers the template's source, so an edited
    template is compiled afresh.
    """

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


# templates found before nbconvert's own: mathjax.html.j2 there loads no script
NO_SCRIPT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "no_script"


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter for feedback: no MathJax (formulas are MathML already),
    and compiled templates shared between students."""

    @default("template_paths")
    def _template_paths(self, prune=True, root_dirs=None):
        return [str(NO_SCRIPT_TEMPLATES), *super()._template_paths(prune, root_dirs)]

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED
        return environment
