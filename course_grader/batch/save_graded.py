"""Write one graded student into the course: the coordinator's job, and only its job.

Workers hand back the autograded notebook (test cells holding the trusted
verdict) and the feedback HTML.  Here the gradebook gets this student's rows
through nbgrader's own API: ``update_or_create_submission`` and the
``SaveAutoGrades`` step run over that notebook, so the points are exactly
what ``nbgrader autograde`` would record.  Then ``autograded/`` and
``feedback/`` get their files.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from nbgrader.utils import parse_utc

from ..atomic_write import write_atomic
from .task import Bundle, Graded


def save_graded(course: Path, db_url: str, bundle: Bundle, student: str, graded: Graded
                ) -> None:
    """Gradebook rows, autograded notebook and feedback of one graded student."""
    nb = nbformat.reads(graded.notebook, as_version=4)
    with Gradebook(db_url, bundle.definition["course_id"]) as gb:
        gb.update_or_create_student(student)
        if graded.timestamp:  # as nbgrader's Autograde does: lateness from the exchange
            gb.update_or_create_submission(bundle.assignment, student,
                                           timestamp=parse_utc(graded.timestamp))
        else:
            gb.update_or_create_submission(bundle.assignment, student)
    resources = {"nbgrader": {"notebook": bundle.notebook, "assignment": bundle.assignment,
                              "student": student, "db_url": db_url}}
    SaveAutoGrades().preprocess(nb, resources)
    AssignLatePenalties(config=bundle.config).preprocess(nb, resources)
    folder = course / "autograded" / student / bundle.assignment
    # what plain nbgrader autograde leaves there: the provided files and the notebook
    for name, data in bundle.source_files.items():
        if not name.endswith(".ipynb"):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    for name, data in graded.autograded_files.items():
        (folder / name).write_bytes(data)
    write_atomic(folder / f"{bundle.notebook}.ipynb", graded.notebook)
    if graded.feedback is not None:
        feedback = course / "feedback" / student / bundle.assignment
        write_atomic(feedback / f"{bundle.notebook}.html", graded.feedback)
        for name, data in graded.feedback_files.items():
            (feedback / name).write_bytes(data)
