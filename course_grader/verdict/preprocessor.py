"""nbgrader preprocessors that put the trusted verdict into the graded notebook.

``TrustedVerdict`` runs in the nbgrader process between execution and
``SaveAutoGrades``.  For an assignment with a declaration (``registry.py``) it
replaces every graded test cell's outputs with the verdict decided outside
the student's kernel (see ``grading.py``): a line on stdout when the checks
passed (nbgrader then gives full points), an error naming the mistake when
they failed (0 points).  Nothing the kernel printed or raised in a test cell
survives.  An assignment without one keeps its executed outputs: nbgrader's
ordinary test cells grade it.  ``InertNotebook`` then removes anything
a browser could run from the notebook the formgrader and the feedback show.
"""

from __future__ import annotations

from pathlib import Path

from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from ..cells import is_test, nbgrader_meta
from ..sandbox.bubblewrap import limit_traits
from .child import ChildOptions, GraderBroken
from .grading import GradingSetup, answers_of, default_uid, grade_answers
from .inert import make_inert
from .registry import configured_modules, declaration_for

ENAME = "GradingCheckFailed"


def verdict_outputs(verdict) -> list[NotebookNode]:
    if verdict.passed:
        return [NotebookNode(output_type="stream", name="stdout", text=verdict.message + "\n")]
    text = f"{verdict.message} [diagnosis: {verdict.code}]"
    return [NotebookNode(output_type="error", ename=ENAME, evalue=text,
                         traceback=[f"{ENAME}: {text}"])]


def _source_dir(pre: NbGraderPreprocessor, resources: dict) -> Path:
    coursedir = CourseDirectory(parent=pre)
    assignment = resources["nbgrader"]["assignment"]
    return Path(coursedir.format_path(coursedir.source_directory, ".", assignment))


def _grading_setup(pre: NbGraderPreprocessor, resources: dict) -> GradingSetup:
    """The setup of the assignment being graded, with the declaration the course's
    configuration (``c.AssignmentDeclarations.modules``) or the convention gives it."""
    assignment = resources["nbgrader"]["assignment"]
    root = Path(CourseDirectory(parent=pre).root)
    declaration = declaration_for(assignment, root, configured_modules(pre.config))
    return GradingSetup.from_source(_source_dir(pre, resources),
                                    resources["nbgrader"]["notebook"], declaration)


# the grading child runs only the setup cell and the answer cells: a shorter CPU cap
VERDICT_CPU_SECONDS = 120


class TrustedVerdict(NbGraderPreprocessor,
                     limit_traits("memory_mb", "cpu_seconds", "processes", "tmp_mb",
                                  "output_mb", cpu_seconds=VERDICT_CPU_SECONDS)):
    """Score every test cell from data produced by a fresh sandboxed child."""

    sandboxed = Bool(True, help="run the grading child in bubblewrap").tag(config=True)
    uid = Integer(-1, help="first uid of the child's exercises when root (-1: VERDICT_UID)").tag(
        config=True)
    exercise_seconds = Integer(20, help="wall-clock seconds per exercise in the child").tag(
        config=True)
    broken_path = Unicode("", help=(
        "file to write why the grading set-up is broken, if it is: nbgrader turns any "
        "exception of a preprocessor into that student's failure, and the class grader "
        "reads it to stop the class instead")).tag(config=True)

    def options(self) -> ChildOptions:
        uid = default_uid()
        if uid is not None and self.uid >= 0:
            uid = self.uid
        return ChildOptions(self.sandboxed, uid, self.limits(), self.exercise_seconds)

    def preprocess(self, nb, resources):
        try:
            setup = _grading_setup(self, resources)
            if setup.declaration is None:
                self.log.info(
                    "No grading declaration for assignment %r: its test cells keep the "
                    "outputs they had when the notebook ran (nbgrader's ordinary grading)",
                    resources["nbgrader"]["assignment"])
                return nb, resources
            verdicts = grade_answers(setup, answers_of(nb, setup.declaration),
                                     self.options())
        except GraderBroken as broken:
            if self.broken_path:  # the class grader stops the class with this reason
                Path(self.broken_path).write_text(str(broken))
            raise
        seen = set()
        for cell in nb.cells:
            if not is_test(cell):
                continue
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id not in verdicts:
                raise GraderBroken(f"test cell {grade_id!r} has no trusted check")
            cell.outputs = verdict_outputs(verdicts[grade_id][0])
            seen.add(grade_id)
        missing = set(verdicts) - seen
        if missing:  # restored cells come from the gradebook; this means a broken set-up
            raise GraderBroken(f"test cells {sorted(missing)} are missing from the notebook")
        resources.setdefault("course_grader", {})["verdicts"] = {
            gid: {"passed": v.passed, "code": v.code, "points": points}
            for gid, (v, points) in verdicts.items()}
        return nb, resources


class InertNotebook(NbGraderPreprocessor):
    """Strip everything executable from the notebook (see ``inert.py``)."""

    math = False  # formulas stay LaTeX: the formgrader typesets them itself

    def preprocess(self, nb, resources):
        try:
            # the markdown of the master notebook is the course's own: no declaration needed
            trusted = GradingSetup.from_source(_source_dir(self, resources),
                                               resources["nbgrader"]["notebook"],
                                               None).trusted_markdown
        except GraderBroken:
            trusted = set()
        make_inert(nb, trusted, math=self.math)
        return nb, resources


class InertFeedback(InertNotebook):
    """The inert step of the feedback page, whose formulas become MathML (it loads no
    MathJax: ``batch.feedback.FeedbackExporter``)."""

    math = True
